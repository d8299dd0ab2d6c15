import { z } from "zod";
import { renderCostSchema, type RenderCostRecord } from "./cost/cost-record.ts";
import type { RenderManifest } from "./render-manifest.ts";

/**
 * The render events Brender publishes to webhooks (and, with the same shape,
 * on `GET /api/events`'s `event` messages): a versioned JSON document. Fields
 * may be added within a version; a field is never removed or changed in
 * meaning without a new `schemaVersion`.
 */
export const RENDER_EVENT_SCHEMA_VERSION = 1;

export const RENDER_EVENT_TYPES = ["render.started", "render.succeeded", "render.failed", "render.cancelled", "frame.failed"] as const;
export type RenderEventType = (typeof RENDER_EVENT_TYPES)[number];

const isoTimestamp = z.iso.datetime({ offset: true });
const count = z.number().int().nonnegative();

export const renderEventSchema = z.object({
  schemaVersion: z.literal(RENDER_EVENT_SCHEMA_VERSION),
  /** Unique per event; a retried delivery repeats it, so receivers can drop duplicates. */
  id: z.string().min(1),
  type: z.enum(RENDER_EVENT_TYPES),
  createdAt: isoTimestamp,
  render: z.object({
    id: z.string().min(1),
    project: z.string(),
    blendFile: z.string(),
    status: z.enum(["running", "succeeded", "failed", "cancelled"]),
    reason: z.string().optional(),
    frames: z.object({ total: count, done: count, failed: count }),
    /** Frames not rendered (absent while running). */
    missingFrames: z.array(z.number().int()).optional(),
    startedAt: isoTimestamp.optional(),
    finishedAt: isoTimestamp.optional(),
    /** Render time in seconds. */
    seconds: z.number().nonnegative().optional(),
    outputs: z
      .object({
        /** Where the outputs are: s3://bucket/prefix or a folder. */
        location: z.string(),
        /** Links (presigned for a week on S3) or object locations. */
        zip: z.string().optional(),
        thumbnail: z.string().optional(),
        preview: z.string().optional(),
      })
      .optional(),
    /** The render's page on `brender serve`, when BRENDER_SERVER_URL is configured. */
    url: z.string().optional(),
    /** Finished renders: the estimate made before submitting, and the actual cost (AWS) or CPU time (local). */
    cost: renderCostSchema.optional(),
  }),
  /** For frame.failed: which frame and why. */
  frame: z.object({ number: z.number().int(), reason: z.string().optional() }).optional(),
});

export type RenderEvent = z.infer<typeof renderEventSchema>;

/** What a finished render is known by when it is reported (the notify module's RenderReport fits it). */
export type FinishedRender = {
  readonly renderId: string;
  readonly project: string;
  readonly blendFile: string;
  readonly status: "succeeded" | "failed";
  readonly reason?: string | undefined;
  readonly framesExpected: number;
  readonly framesRendered: number;
  readonly missingFrames: readonly number[];
  readonly startedAt?: string | undefined;
  readonly finishedAt: string;
  readonly renderSeconds?: number | undefined;
  readonly outputs: { readonly location: string; readonly zip?: string | undefined; readonly thumbnail?: string | undefined; readonly preview?: string | undefined };
  readonly cost?: RenderCostRecord | undefined;
};

// Both farms end a cancelled job with this reason (AWS Batch: TerminateJob's reason, the local farm: job-state.ts).
const CANCELLED = /cancelled by user/i;

/** A failed render whose reason is the user's cancellation was cancelled, not failed. */
export function finishedStatusOf(render: Pick<FinishedRender, "status" | "reason">): "succeeded" | "failed" | "cancelled" {
  if (render.status === "failed" && render.reason !== undefined && CANCELLED.test(render.reason)) return "cancelled";
  return render.status;
}

/** The page of a render on `brender serve` at `serverUrl` (the UI routes by the URL's hash). */
export function renderPageUrl(serverUrl: string, renderId: string): string {
  return `${serverUrl.replace(/\/+$/, "")}/#/renders/${encodeURIComponent(renderId)}`;
}

/**
 * The event for a finished render: render.succeeded, render.failed or
 * render.cancelled. Pure: the id and time are given.
 */
export function finishedRenderEvent(render: FinishedRender, options: { readonly id: string; readonly createdAt: string; readonly serverUrl?: string | undefined }): RenderEvent {
  const status = finishedStatusOf(render);
  const missing = [...new Set(render.missingFrames)].sort((a, b) => a - b);
  const { location, zip, thumbnail, preview } = render.outputs;
  return {
    schemaVersion: RENDER_EVENT_SCHEMA_VERSION,
    id: options.id,
    type: `render.${status}`,
    createdAt: options.createdAt,
    render: {
      id: render.renderId,
      project: render.project,
      blendFile: render.blendFile,
      status,
      ...(render.reason !== undefined ? { reason: render.reason } : {}),
      frames: { total: render.framesExpected, done: render.framesRendered, failed: missing.length },
      missingFrames: missing,
      ...(render.startedAt !== undefined ? { startedAt: render.startedAt } : {}),
      finishedAt: render.finishedAt,
      ...(render.renderSeconds !== undefined ? { seconds: render.renderSeconds } : {}),
      outputs: { location, ...(zip ? { zip } : {}), ...(thumbnail ? { thumbnail } : {}), ...(preview ? { preview } : {}) },
      ...(options.serverUrl ? { url: renderPageUrl(options.serverUrl, render.renderId) } : {}),
      ...(render.cost ? { cost: render.cost } : {}),
    },
  };
}

/**
 * The final event of a render from its manifest, as the event stream sends it
 * once the render ended. Its id is derived from the render and its finish, so
 * every client (and a reconnecting one) sees the same id for the same ending.
 */
export function manifestRenderEvent(manifest: RenderManifest, location: string): RenderEvent {
  return finishedRenderEvent(
    {
      renderId: manifest.renderId,
      project: manifest.project,
      blendFile: manifest.blendFile,
      status: manifest.status,
      reason: manifest.reason,
      framesExpected: manifest.frames.expectedCount,
      framesRendered: manifest.frames.renderedCount,
      missingFrames: manifest.frames.missing,
      startedAt: manifest.startedAt,
      finishedAt: manifest.finishedAt,
      renderSeconds: manifest.renderSeconds,
      cost: manifest.cost,
      outputs: { location },
    },
    { id: `${manifest.renderId}@${manifest.finishedAt}`, createdAt: manifest.finishedAt },
  );
}
