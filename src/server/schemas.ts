/**
 * The HTTP API's schemas: request bodies are validated with them, and the
 * OpenAPI document is generated from them, so the two cannot drift apart.
 */
import { z } from "zod";
import { renderCostSchema, storedEstimateSchema } from "../domain/cost/cost-record.ts";
import { BLENDER_VERSION_PATTERN, QUEUE_KINDS } from "../backends/aws/farm-resources.ts";
import { LIMITS, SERVER_PRESET_NAMES, type ServerPresetName } from "../backends/aws/server-sizes.ts";
import { renderManifestSchema } from "../domain/render-manifest.ts";
import { MAX_ATTEMPTS, MAX_PRIORITY, MAX_TIMEOUT_SECONDS } from "../backends/local/store/limits.ts";
import { sceneInspectionSchema } from "../domain/scene-inspection.ts";
import { RENDER_ID_PATTERN } from "../domain/ids.ts";
import { JOB_STATUSES } from "../domain/job-status.ts";
import { RENDER_STATUSES } from "../domain/render-status.ts";
import { renderSettingsFields } from "../renders/render-settings.ts";

const UPLOAD_ID = /^u-[0-9a-f]{16}$/;

/**
 * The render settings (renders/render-settings.ts, what the CLI's flags
 * parse into), plus how and where to run them. Every limit comes from where
 * it is enforced (the payload, the job store, the AWS sizes) rather than
 * being typed again here.
 */
export const renderSettingsSchema = z
  .strictObject({
    ...renderSettingsFields,
    attempts: z.int().min(1).max(MAX_ATTEMPTS).optional().describe("tries per render child; default 1 on this machine, on AWS farms 5 on spot queues and 2 on on-demand"),
    timeout: z
      .union([z.int().min(1).max(MAX_TIMEOUT_SECONDS), z.string().regex(/^\s*\d+\s*[smh]?\s*$/i, 'must be a duration like 900, "15m" or "2h"')])
      .optional()
      .describe("limit per attempt: seconds, or a duration like \"15m\""),
    priority: z.int().min(-MAX_PRIORITY).max(MAX_PRIORITY).default(0).describe("higher runs first"),
    blend: z.string().min(1).optional().describe("for a zipped project or a folder: the .blend inside it (one of the upload's blendFiles)"),
    farm: z
      .string()
      .regex(/^[A-Za-z0-9][A-Za-z0-9-]{0,62}$/, 'must be "local" or a farm name (letters, digits and -)')
      .default("local")
      .describe('"local" (this machine), or the name of an AWS farm (`brender farm deploy NAME`); the settings below it are for AWS farms only'),
    queue: z.enum(QUEUE_KINDS).optional().describe("where the render children run; default spot-cpu"),
    preset: z.enum(SERVER_PRESET_NAMES as [ServerPresetName, ...ServerPresetName[]]).optional().describe("server size per render child; default small (2 vCPUs)"),
    vcpus: z.int().min(1).max(LIMITS.vcpus).optional().describe("vCPUs per render child (overrides the preset's)"),
    memory: z.int().min(LIMITS.minMemoryMiB).max(LIMITS.memoryMiB).optional().describe("MiB per render child (overrides the preset's)"),
    gpus: z.int().min(0).max(LIMITS.gpus).optional().describe("GPUs per render child (overrides the preset's)"),
    blender: z.string().regex(BLENDER_VERSION_PATTERN, 'must be a version like "4.2.0"').optional().describe("a Blender version deployed on the AWS farm, or installed on the server for the local farm; default: the nearest at or above the one that saved the file"),
    region: z.string().min(1).optional().describe("the farm's AWS region; default: the server's AWS_REGION"),
    estimate: storedEstimateSchema
      .optional()
      .describe("the estimate POST /api/estimate gave for these settings (target, seconds, usd or cpuHours, madeAt): kept with the render and shown next to its actual cost"),
  })
  .refine((settings) => settings.arraySize === undefined || settings.chunkSize === undefined, {
    message: "give arraySize or chunkSize, not both",
    path: ["chunkSize"],
  });
export type RenderSettings = z.output<typeof renderSettingsSchema>;

/** POST /api/renders as JSON: settings for a file uploaded earlier through POST /api/uploads or POST /api/inspect. */
export const submitUploadedSchema = z.strictObject({
  uploadId: z.string().regex(UPLOAD_ID, 'must be the "uploadId" POST /api/uploads or POST /api/inspect returned'),
  settings: renderSettingsSchema.prefault({}),
});

const rangeSchema = z.object({ low: z.number(), expected: z.number(), high: z.number() });

/** POST /api/estimate's answer: `brender estimate --json`'s, plus `stored`, which the form sends back as settings.estimate when it submits. */
export const estimateResponseSchema = z.object({
  target: z.enum(["local", "aws"]),
  method: z.string().describe("how the figures were reached"),
  frames: z.number().int(),
  sample: z.object({ frames: z.array(z.number().int()), secondsPerFrame: z.array(z.number()), startupSeconds: z.number(), cores: z.number().int() }),
  secondsPerFrame: rangeSchema,
  split: z.object({ arraySize: z.number().int(), reason: z.string() }),
  seconds: rangeSchema.describe("wall time of the whole render"),
  cpuHours: rangeSchema.optional().describe("local: core-hours this machine is busy"),
  instanceHours: rangeSchema.optional().describe("AWS: render child-hours"),
  usd: rangeSchema.optional().describe("AWS: US dollars"),
  prices: z.object({ onDemand: z.string(), date: z.string().optional(), spot: z.string().optional(), region: z.string(), table: z.string().optional() }).optional(),
  queue: z.string().optional(),
  blender: z.object({ version: z.string(), path: z.string() }).optional().describe("the Blender that rendered the sample"),
  stored: storedEstimateSchema.describe("the figures to send back as settings.estimate with POST /api/renders"),
});

/** POST /api/inspect as JSON: a .blend inside an earlier upload. */
export const inspectUploadedSchema = z.strictObject({
  uploadId: z.string().regex(UPLOAD_ID, 'must be the "uploadId" POST /api/uploads or POST /api/inspect returned'),
  blend: z.string().min(1).optional().describe("the .blend inside a zipped project or folder (one of its blendFiles); optional when it holds one"),
});

export const uploadResponseSchema = z.object({
  uploadId: z.string().describe("give it to POST /api/inspect and POST /api/renders"),
  kind: z.enum(["blend", "zip", "folder"]),
  name: z.string().describe("the file's name; for a folder, its top folder (the project root)"),
  blendFiles: z.array(z.string()).describe("the .blend files, relative to the project root; settings.blend picks one"),
});

export const logFileSchema = z.object({
  id: z.string().describe('e.g. "render-3-a1" (child 3, attempt 1) or "copy_efs-a1"'),
  action: z.string(),
  child: z.number().int().nullable().describe("the array child; null for a single job"),
  attempt: z.number().int(),
  status: z.enum(JOB_STATUSES).optional().describe("how that attempt went (SUCCEEDED, FAILED) or stands (STARTING, RUNNING)"),
  reason: z.string().optional().describe("why that attempt failed"),
  size: z.number().int().describe("bytes"),
  url: z.string(),
});

export const renderIdParamsSchema = z.object({ id: z.string().regex(RENDER_ID_PATTERN, "is not a render id") });

export const errorSchema = z.object({
  error: z.string().describe("one line: what is wrong and how to fix it"),
  field: z.string().optional().describe("the bad field, dotted (settings.samples)"),
});

export const inspectResponseSchema = sceneInspectionSchema.extend({
  uploadId: z.string().describe("give it to POST /api/renders to render this file without uploading it again"),
  notInUpload: z
    .array(z.object({
      kind: z.string(),
      owner: z.string().describe('the datablock needing it, e.g. Image "wood.png"'),
      path: z.string().describe("the path as written in the .blend"),
      reason: z.enum(["missing", "outside the upload"]),
    }))
    .optional()
    .describe("files the .blend needs that the upload did not include (they render pink or empty)"),
});

export const submittedSchema = z.object({
  renderId: z.string(),
  warnings: z.array(z.string()).optional().describe("files the upload lacks; AWS farms: what the CLI would warn about (Blender version chosen, vCPU quota short)"),
});

export const renderListItemSchema = z.object({
  renderId: z.string(),
  backend: z.string().describe('"local", or "aws:<farm>"'),
  project: z.string(),
  submittedAt: z.string(),
  status: z.enum(RENDER_STATUSES).describe("job status (SUBMITTED … RUNNING), SUCCEEDED or FAILED; AWS renders: from AWS Batch (cached 10 s, final states for good), UNKNOWN when AWS cannot be asked"),
  statusError: z.string().optional().describe("AWS renders: why the status is UNKNOWN (no credentials, AWS unreachable…)"),
  framesDone: z.number().int().optional().describe("ended local renders: frames rendered (running ones: see the progress events)"),
  framesTotal: z.number().int().optional(),
});

export const outputSchema = z.object({
  name: z.string().describe("path under the render's output prefix, e.g. frames/frame_0001.png"),
  size: z.number().int(),
  url: z.string(),
});

export const frameProgressSchema = z.object({
  framesTotal: z.number().int(),
  framesDone: z.number().int(),
  failedFrames: z.array(z.object({ frame: z.number().int(), reason: z.string() })),
  current: z.array(z.object({ child: z.number().int(), frame: z.number().int(), sample: z.number().int().optional(), samples: z.number().int().optional() })),
  etaSeconds: z.number().optional(),
  frameTimes: z
    .array(z.object({ frame: z.number().int(), seconds: z.number(), child: z.number().int().optional().describe("the render child; only while the render runs") }))
    .describe("render seconds of each frame rendered in this run, by frame (frames reused from an earlier run have none)"),
});

export const renderDetailSchema = z.object({
  renderId: z.string(),
  backend: z.string().describe('"local", or "aws:<farm>"'),
  project: z.string(),
  frames: z.string(),
  type: z.enum(["still", "animation", "python"]),
  notify: z.array(z.string()).describe('who is told the result: the e-mail address, and each webhook URL as scheme and host only ("https://hooks.slack.com/…"), never its secret path'),
  status: z.enum(RENDER_STATUSES).describe("job status while it runs (SUBMITTED … RUNNING), then SUCCEEDED or FAILED"),
  stage: z.string().optional().describe("the job in progress: copy_efs, render, upload_render_output …"),
  reason: z.string().optional(),
  statusError: z.string().optional().describe("AWS renders whose jobs AWS Batch forgot: the status then comes from the manifest alone"),
  jobs: z.array(
    z.object({
      name: z.string(),
      action: z.string(),
      status: z.enum(JOB_STATUSES),
      reason: z.string().optional(),
      arraySize: z.number().int(),
      children: z.record(z.string(), z.number().int()).optional(),
      seconds: z.number().optional(),
    }),
  ),
  progress: frameProgressSchema,
  warnings: z.array(z.string()),
  manifest: renderManifestSchema.nullable(),
  cost: renderCostSchema
    .optional()
    .describe("the estimate the render was submitted with (when one was made) and, once it ended, the actual cost: USD from AWS Batch's timestamps, CPU-hours on the local farm"),
  outputs: z.array(outputSchema),
});

export const farmsSchema = z.object({
  local: z.object({
    cores: z.number().int(),
    queue: z.object({ queued: z.number().int(), running: z.number().int() }),
    renders: z.object({ active: z.number().int(), total: z.number().int() }),
  }),
  aws: z.array(
    z.object({
      farm: z.string(),
      region: z.string(),
      renders: z.number().int().describe("renders submitted from this machine"),
      lastSubmittedAt: z.string().optional(),
      stackStatus: z.string().optional().describe("the farm's CloudFormation stack status, when the server could list the account's farms"),
      queues: z.array(z.enum(QUEUE_KINDS)).describe("the queue kinds settings.queue takes (a farm may lack some; submitting says which)"),
    }),
  ),
  discoveryError: z.string().optional().describe("why the account's farms could not be listed (the farms known from render records are still there)"),
});

/** The data of each Server-Sent Event type of GET /api/events. */
export const renderEventSchema = z.object({ renderId: z.string(), project: z.string(), status: z.enum(RENDER_STATUSES), stage: z.string().optional(), reason: z.string().optional() });
export const progressEventDataSchema = frameProgressSchema.extend({ renderId: z.string() });
export const frameEventSchema = z.object({ renderId: z.string(), frame: z.number().int(), url: z.string() });

/**
 * The first problem of a failed parse as one line naming the field
 * ("settings.samples: …"), and that field.
 */
export function describeZodError(error: z.ZodError, base: string): { message: string; field: string } {
  const issue = error.issues[0]!;
  const path = [base, ...issue.path.map(String)].filter(Boolean);
  if (issue.code === "unrecognized_keys") {
    const field = [...path, issue.keys[0]!].join(".");
    return { message: `${field}: unknown field "${issue.keys[0]}"; remove it or check the spelling.`, field };
  }
  const field = path.join(".") || base;
  return { message: `${field}: ${issue.message}`, field };
}
