import { z } from "zod";

/**
 * What a render child reports while it works, one JSON object per line
 * (stdout and `<work>/<renderId>/events/render-<child>.jsonl`). Monitors
 * (CLI progress, web UI, the upload job's report) read these, never
 * Blender's raw output.
 */
const at = z.string().describe("ISO-8601 time the event happened");

/** Where an attempt runs: what prices it on AWS. */
export const hostSchema = z.object({
  instanceType: z.string().optional(),
  /** true on spot, false on demand; absent when unknown. */
  spot: z.boolean().optional(),
  availabilityZone: z.string().optional(),
});

export const progressEventSchema = z.discriminatedUnion("type", [
  z.object({
    type: z.literal("child_started"), at, child: z.number().int(), frames: z.string(), frameCount: z.number().int(),
    attempt: z.number().int().positive().optional().describe("the try of this child (AWS_BATCH_JOB_ATTEMPT), 1 first"),
    host: hostSchema.optional().describe("the machine this attempt runs on (AWS: from the instance metadata), for its price"),
  }),
  z.object({ type: z.literal("frame_started"), at, frame: z.number().int() }),
  z.object({ type: z.literal("frame_progress"), at, frame: z.number().int(), sample: z.number().int(), samples: z.number().int() }),
  z.object({
    type: z.literal("frame_finished"), at, frame: z.number().int(), file: z.string(),
    seconds: z.number().optional(), peakMemoryMb: z.number().optional(),
    reused: z.boolean().optional().describe("rendered by an earlier attempt and kept"),
    cpuSeconds: z.number().nonnegative().optional().describe("Blender's CPU time so far (user + system, every thread, since it started)"),
  }),
  z.object({
    type: z.literal("file_published"), at, file: z.string(), key: z.string(), size: z.number().int(), sha256: z.string(),
    mtimeMs: z.number().describe("the file's modification time when it was copied: a file rendered again since is copied again"),
  }).describe("a finished frame already copied to the object store, which the upload job then does not copy again"),
  z.object({ type: z.literal("frame_failed"), at, frame: z.number().int(), reason: z.string() }),
  z.object({ type: z.literal("warning"), at, message: z.string() }),
  z.object({
    type: z.literal("render_settings"), at, scene: z.string(), engine: z.string(), fps: z.number(),
    resolution: z.object({ x: z.number().int(), y: z.number().int(), percentage: z.number().int() }),
    format: z.string(), device: z.enum(["CPU", "GPU"]),
    gpuBackend: z.string().optional().describe("the Cycles GPU backend in use (OPTIX, CUDA, …) when device is GPU"),
    /** The Blender that renders ("3.4.1"); optional: events written before it was reported still parse. */
    blender: z.string().optional(),
  }).describe("the settings the frames are actually rendered with, after overrides"),
  z.object({
    type: z.literal("child_finished"), at, child: z.number().int(), status: z.enum(["succeeded", "failed"]),
    framesDone: z.number().int(), seconds: z.number(), reason: z.string().optional(),
    cpuSeconds: z.number().nonnegative().optional().describe("the CPU time Blender used in this attempt, as it last reported it"),
  }),
]);

export type ProgressEvent = z.infer<typeof progressEventSchema>;

/** A progress event without its timestamp, as emitters build them. */
export type ProgressEventBody = ProgressEvent extends infer E ? (E extends ProgressEvent ? Omit<E, "at"> : never) : never;

/** Parses one JSON line; lines that are not valid events give undefined. */
export function parseProgressEventLine(line: string): ProgressEvent | undefined {
  try {
    const parsed = progressEventSchema.safeParse(JSON.parse(line));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}
