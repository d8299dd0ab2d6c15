import { z } from "zod";
import { renderCostSchema } from "./cost/cost-record.ts";

/**
 * One webhook's delivery of one event: every attempt and the outcome. `target`
 * is the URL's scheme and host only (the rest may be a credential).
 */
export const webhookDeliverySchema = z.object({
  target: z.string(),
  kind: z.enum(["slack", "discord", "webhook"]),
  event: z.string(),
  eventId: z.string(),
  /** delivered: a 2xx; rejected: a 4xx (or 3xx), not retried; failed: 5xx, timeouts or network errors on every attempt. */
  outcome: z.enum(["delivered", "rejected", "failed"]),
  attempts: z.array(
    z.object({
      attempt: z.number().int().positive(),
      at: z.string(),
      ms: z.number().nonnegative(),
      status: z.number().int().optional(),
      error: z.string().optional(),
    }),
  ),
});

export type WebhookDelivery = z.infer<typeof webhookDeliverySchema>;

/**
 * manifest.json, written last into a render's output prefix: what was asked
 * for, what was rendered, and every file uploaded. Its presence means the
 * upload finished; its `status` says whether the render is complete.
 */
export const renderManifestSchema = z.object({
  schemaVersion: z.literal(1),
  renderId: z.string(),
  project: z.string(),
  blendFile: z.string(),
  type: z.enum(["still", "animation", "python"]),
  status: z.enum(["succeeded", "failed"]),
  reason: z.string().optional(),
  frames: z.object({
    /** The frames the user selected (canonical frame-set text). */
    expected: z.string(),
    expectedCount: z.number().int(),
    /** The frames that have an image (frame-set text). */
    rendered: z.string(),
    renderedCount: z.number().int(),
    missing: z.array(z.number().int()),
  }),
  files: z.array(z.object({ key: z.string(), size: z.number().int(), sha256: z.string() })),
  outputs: z.object({
    prefix: z.string(),
    zip: z.string().optional(),
    thumbnail: z.string().optional(),
    preview: z.string().optional(),
  }),
  warnings: z.array(z.string()),
  startedAt: z.string().optional(),
  finishedAt: z.string(),
  renderSeconds: z.number(),
  peakMemoryMb: z.number().optional(),
  /** What rendered the frames ("CPU", "GPU (OPTIX)", …; several when children differed). Absent when unknown. */
  device: z.string().optional(),
  /** Render seconds per frame rendered by this run, sorted by frame (reused frames have none). Absent from manifests written before it existed. */
  frameTimes: z.array(z.object({ frame: z.number().int(), seconds: z.number() })).optional(),
  /** Where the upload ran, when known (AWS: instance type and whether it was spot). */
  /** Webhook deliveries of the render's final event (absent when it had no webhooks). */
  webhooks: z.array(webhookDeliverySchema).optional(),
  host: z.object({ instanceType: z.string().optional(), spot: z.boolean().optional(), availabilityZone: z.string().optional() }).optional(),
  /** The estimate made before submitting (when one was) and the actual cost: USD from Batch's timestamps on AWS, CPU-hours locally. */
  cost: renderCostSchema.optional(),
});

export type RenderManifest = z.infer<typeof renderManifestSchema>;

export type FrameTime = { readonly frame: number; readonly seconds: number };

/**
 * Render times for a manifest written again (a retry): this run's times, plus
 * the earlier manifest's for frames this run reused rather than rendered, so
 * the per-frame chart stays whole. Frames no longer rendered are dropped.
 */
export function mergeFrameTimes(earlier: readonly FrameTime[] | undefined, now: readonly FrameTime[], rendered: readonly number[]): FrameTime[] {
  const keep = new Set(rendered);
  const times = new Map<number, number>();
  for (const { frame, seconds } of earlier ?? []) if (keep.has(frame)) times.set(frame, seconds);
  for (const { frame, seconds } of now) times.set(frame, seconds);
  return [...times].sort((a, b) => a[0] - b[0]).map(([frame, seconds]) => ({ frame, seconds }));
}
