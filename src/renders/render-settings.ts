/**
 * One schema for what a render asks of the file: the input of payload
 * building for every front end. The API's body is checked against it as it
 * comes (JSON values); the CLI parses its flags into it (settingsFromFlags in
 * render-request.ts). Errors name the schema's fields, each front end in its
 * own words (`--array-size`, `settings.arraySize`).
 */
import { z } from "zod";
import { parseFrameSet } from "../domain/frames.ts";
import { UserInputError } from "../domain/errors.ts";
import { arraySizeSchema, chunkSizeSchema, renderOverridesSchema, resolutionPercentageSchema, samplesSchema } from "../domain/render-payload.ts";

/** Engine names a render may ask for, and Blender's name for each. */
export const ENGINES = {
  cycles: "CYCLES",
  eevee: "BLENDER_EEVEE",
  workbench: "BLENDER_WORKBENCH",
  blender_eevee: "BLENDER_EEVEE",
  blender_eevee_next: "BLENDER_EEVEE_NEXT",
  blender_workbench: "BLENDER_WORKBENCH",
} as const;
/** The names the API documents; the CLI also takes Blender's own (blender_eevee…). */
export const ENGINE_NAMES = ["cycles", "eevee", "workbench"] as const;

export const RESOLUTION_PATTERN = /^\d+x\d+$/i;

/** The fields of a render's settings, as an object schema the API extends with its own (farm, attempts…). */
export const renderSettingsFields = {
  frames: z
    .string()
    .superRefine((text, ctx) => {
      try {
        parseFrameSet(text);
      } catch (error) {
        if (!(error instanceof UserInputError)) throw error;
        ctx.addIssue(error.message);
      }
    })
    .optional()
    .describe('e.g. "1-250", "1-250:5", "1-10,15"; default: the scene\'s range'),
  engine: z.enum(ENGINE_NAMES).optional().describe("default: the file's engine"),
  samples: samplesSchema.optional(),
  resolution: z.string().regex(RESOLUTION_PATTERN, 'must look like "1920x1080"').optional(),
  percentage: resolutionPercentageSchema.optional(),
  format: z.string().min(1).optional().describe("PNG, JPEG, OPEN_EXR, TIFF, ..."),
  scene: z.string().min(1).optional(),
  layer: z.string().min(1).optional(),
  camera: z.string().min(1).optional(),
  gpu: z.boolean().optional(),
  arraySize: arraySizeSchema.optional().describe("split the frames across N render children"),
  chunkSize: chunkSizeSchema.optional().describe("N frames per render child"),
  notify: z.email().optional().describe("e-mail the result"),
  project: z.string().min(1).optional().describe("output name; default: the uploaded file's name"),
  render: renderOverridesSchema
    .optional()
    .describe("advanced overrides in the worker payload's shape, e.g. {\"cycles\":{\"noiseThreshold\":0.05,\"bounces\":{\"total\":4}}}; the simple fields above win where both are given"),
  python: z.string().min(1).optional().describe("run this bpy script (a path inside the project) instead of a plain render"),
  env: z.record(z.string(), z.string()).optional().describe("variables for the python script"),
};

/** The settings payload building takes. The CLI's engine may also be one of Blender's own names. */
export type RenderSettings = Omit<z.output<z.ZodObject<typeof renderSettingsFields>>, "engine"> & { readonly engine?: keyof typeof ENGINES };

export type SettingName = keyof typeof renderSettingsFields;

/** How a front end names a setting in its messages: `--array-size` on the command line, `settings.arraySize` in the API. */
export type SettingNamer = (name: SettingName) => string;

export const cliFlag: SettingNamer = (name) => `--${name.replace(/[A-Z]/g, (letter) => `-${letter.toLowerCase()}`)}`;
export const apiField: SettingNamer = (name) => `settings.${name}`;

/** A setting the file or the other settings refuse; `setting` names it for the front end to point at. */
export class SettingError extends UserInputError {
  readonly setting: SettingName | undefined;
  constructor(message: string, setting?: SettingName) {
    super(message);
    this.setting = setting;
  }
}
