import { z } from "zod";
import { tracedDependencySchema } from "./dependencies.ts";

/** What `brender inspect` reports about a .blend: everything a render form needs. */
export const sceneInfoSchema = z.object({
  name: z.string(),
  frameStart: z.number().int(),
  frameEnd: z.number().int(),
  frameStep: z.number().int(),
  frameCurrent: z.number().int(),
  fps: z.number(),
  engine: z.string(),
  resolution: z.object({ x: z.number().int(), y: z.number().int(), percentage: z.number().int() }),
  pixelAspect: z.object({ x: z.number(), y: z.number() }),
  output: z.object({ format: z.string(), colorMode: z.string(), colorDepth: z.string().nullable(), filepath: z.string() }),
  camera: z.string().nullable(),
  cameras: z.array(z.string()),
  viewLayers: z.array(z.object({ name: z.string(), use: z.boolean() })),
  compositor: z.object({
    enabled: z.boolean(),
    fileOutputs: z.array(
      z.object({
        node: z.string(),
        /** The node groups holding the node, outermost first; empty at the top level. */
        groups: z.array(z.string()).optional(),
        basePath: z.string(),
        /** The folder basePath resolves to, relative to the .blend. */
        path: z.string().optional(),
        /** Where each input's images would go as the file is saved. */
        writesTo: z.array(z.string()).optional(),
        /** Some image would land outside the .blend's folder (the farm writes it under the render's outputs instead). */
        escapes: z.boolean().optional(),
        format: z.string(),
        inputs: z.array(z.string()),
      }),
    ),
  }),
  sequencer: z.boolean(),
  cycles: z
    .object({
      samples: z.number().int(),
      adaptiveSampling: z.boolean(),
      noiseThreshold: z.number(),
      denoising: z.boolean(),
      denoiser: z.string(),
      device: z.string(),
      // Optional: inspections saved before these were reported still parse.
      maxBounces: z.number().int().optional(),
      clampDirect: z.number().optional(),
      clampIndirect: z.number().optional(),
      causticsReflective: z.boolean().optional(),
      causticsRefractive: z.boolean().optional(),
      filterGlossy: z.number().optional(),
    })
    .nullable(),
});

export const externalFileSchema = z.object({
  type: z.enum(["image", "library", "cache", "sound", "movieclip", "font", "volume"]),
  name: z.string(),
  path: z.string(),
  absolutePath: z.string(),
  packed: z.boolean(),
  exists: z.boolean(),
});

/** Blender's own report (from inspect_scene.py). */
export const blenderInspectionSchema = z.object({
  blenderVersion: z.string(),
  fileVersion: z.string(),
  activeScene: z.string(),
  scenes: z.array(sceneInfoSchema),
  cameras: z.array(z.string()),
  externalFiles: z.array(externalFileSchema),
  /** Every file the render needs (brender_deps.py); absent from inspections saved before tracing existed. */
  dependencies: z.array(tracedDependencySchema).optional(),
});

export const sceneInspectionSchema = blenderInspectionSchema.extend({
  file: z.string(),
  /** The Blender version that saved the file, from its header. */
  savedWith: z.string(),
  compression: z.enum(["none", "gzip", "zstd"]),
  missingFiles: z.array(externalFileSchema),
  /** What may go wrong when this file is rendered (a newer Blender saved it, File Output nodes writing outside). */
  warnings: z.array(z.string()).default([]),
  /** The Blender that read the file and will render it on this machine, and why when it is not the file's own release. */
  renderBlender: z.object({ path: z.string(), version: z.string(), warning: z.string().optional() }),
});

export type SceneInfo = z.infer<typeof sceneInfoSchema>;
export type FileOutputInfo = SceneInfo["compositor"]["fileOutputs"][number];
export type ExternalFile = z.infer<typeof externalFileSchema>;
export type BlenderInspection = z.infer<typeof blenderInspectionSchema>;
export type SceneInspection = z.infer<typeof sceneInspectionSchema>;
