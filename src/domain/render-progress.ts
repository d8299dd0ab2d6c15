/**
 * A render's frame progress, folded from its children's progress events and,
 * once it ended, its manifest (pure): what the CLI's progress line, the API
 * and the web UI show alike.
 */
import { frameCount, parseFrameSet } from "./frames.ts";
import type { ProgressEvent } from "./progress-events.ts";
import type { RenderManifest } from "./render-manifest.ts";
import type { RenderJobPayload } from "./render-payload.ts";

/** What a person watching a render wants to know, folded from job statuses and progress events. */
export type RenderProgress = {
  readonly framesTotal: number;
  readonly framesDone: Set<number>;
  readonly failedFrames: Map<number, string>;
  /** Per render child: the frame in flight and its samples. */
  readonly current: Map<number, { frame: number; sample?: number; samples?: number }>;
  readonly warnings: Set<string>;
  /** Seconds per frame rendered in this run (reused frames excluded), for the ETA. */
  readonly frameSeconds: number[];
  /** Per frame rendered in this run (reused frames excluded): its render seconds and the child that rendered it. */
  readonly frameTimes: Map<number, { seconds: number; child: number }>;
};

export function emptyProgress(framesTotal: number): RenderProgress {
  return { framesTotal, framesDone: new Set(), failedFrames: new Map(), current: new Map(), warnings: new Set(), frameSeconds: [], frameTimes: new Map() };
}

/** Folds one event into the progress (child events carry no child number, so the caller passes it). */
export function applyEvent(progress: RenderProgress, child: number, event: ProgressEvent): void {
  switch (event.type) {
    case "frame_started":
      progress.current.set(child, { frame: event.frame });
      break;
    case "frame_progress":
      progress.current.set(child, { frame: event.frame, sample: event.sample, samples: event.samples });
      break;
    case "frame_finished":
      progress.framesDone.add(event.frame);
      progress.failedFrames.delete(event.frame);
      if (!event.reused && event.seconds !== undefined) {
        progress.frameSeconds.push(event.seconds);
        progress.frameTimes.set(event.frame, { seconds: event.seconds, child });
      }
      progress.current.delete(child);
      break;
    case "frame_failed":
      progress.failedFrames.set(event.frame, event.reason);
      progress.current.delete(child);
      break;
    case "warning":
      progress.warnings.add(event.message);
      break;
    case "child_finished":
      progress.current.delete(child);
      break;
  }
}

export type FrameProgressView = {
  framesTotal: number;
  framesDone: number;
  failedFrames: { frame: number; reason: string }[];
  current: { child: number; frame: number; sample?: number; samples?: number }[];
  etaSeconds?: number;
  /** Render seconds of each frame rendered in this run, by frame; `child` only while the render runs (the manifest does not keep it). */
  frameTimes: FrameTime[];
};

export type FrameTime = { frame: number; seconds: number; child?: number };

export function totalFrames(payload: RenderJobPayload): number {
  return payload.type === "python" ? 0 : frameCount(parseFrameSet(payload.frames));
}

/** Progress for clients; once the render ended, its manifest is the truth about frames. */
export function progressView(progress: RenderProgress, manifest?: RenderManifest): FrameProgressView {
  const failed = new Map(progress.failedFrames);
  for (const frame of manifest?.frames.missing ?? []) if (!failed.has(frame)) failed.set(frame, "not rendered");
  const done = manifest ? manifest.frames.renderedCount : progress.framesDone.size;
  const total = manifest ? manifest.frames.expectedCount : progress.framesTotal;
  const view: FrameProgressView = {
    framesTotal: total,
    framesDone: done,
    failedFrames: [...failed].sort((a, b) => a[0] - b[0]).map(([frame, reason]) => ({ frame, reason })),
    current: manifest ? [] : [...progress.current].sort((a, b) => a[0] - b[0]).map(([child, now]) => ({ child, ...now })),
    // Once the upload ran, the work folder and its event files may be gone: the manifest keeps the times.
    frameTimes: manifest
      ? (manifest.frameTimes ?? []).map(({ frame, seconds }) => ({ frame, seconds }))
      : [...progress.frameTimes].sort((a, b) => a[0] - b[0]).map(([frame, { seconds, child }]) => ({ frame, seconds, child })),
  };
  const remaining = total - done;
  if (!manifest && progress.frameSeconds.length > 0 && remaining > 0) {
    view.etaSeconds = Math.round((progress.frameSeconds.reduce((sum, s) => sum + s, 0) / progress.frameSeconds.length) * remaining);
  }
  return view;
}

