/**
 * What the API shows of a local render: its state, frame progress (from the
 * children's event files while it runs, from the manifest once it ended) and
 * outputs, as one snapshot (GET /api/renders/:id) or as a stream of changes
 * (RenderTracker, behind GET /api/events).
 */
import { readdir, stat } from "node:fs/promises";
import { basename, join } from "node:path";
import { isTerminal } from "../domain/job-status.ts";
import type { JobView } from "../backends/local/job-store.ts";
import { renderJobs, renderObjects, type LocalFarm } from "../backends/local/farm.ts";
import { frameCount, parseFrameSet } from "../domain/frames.ts";
import { frameOfFileName, outputLayout, outputPrefix, workLayout } from "../domain/layout.ts";
import type { RenderManifest } from "../domain/render-manifest.ts";
import type { RenderJobPayload } from "../domain/render-payload.ts";
import { localRenderStatus } from "../cli/render-control.ts";
import { submittedPayload } from "../cli/render-wait.ts";
import { applyEvent, emptyProgress, EventFollower, renderOutcome, type RenderProgress } from "../cli/render-watch.ts";
import type { ObjectStore } from "../storage/object-store.ts";

export type RenderState = {
  readonly status: string;
  readonly stage?: string;
  readonly reason?: string;
  readonly terminal: boolean;
  readonly manifest?: RenderManifest;
};

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

export type OutputView = { name: string; size: number; url: string };

/** The jobs of each render's newest submission (a retry submits the plan again), like renderJobs for a prefetched list. */
export function newestSubmissions(jobs: readonly JobView[]): Map<string, JobView[]> {
  const byRender = new Map<string, JobView[]>();
  for (const job of jobs) {
    if (!job.renderId) continue;
    byRender.set(job.renderId, [...(byRender.get(job.renderId) ?? []), job]);
  }
  const order = ["copy_efs", "render", "custom_render_python", "upload_render_output"];
  for (const [renderId, all] of byRender) {
    const newest = Math.max(...all.filter((job) => job.action === "copy_efs").map((job) => job.createdAt));
    byRender.set(renderId, all.filter((job) => job.createdAt >= newest).sort((a, b) => order.indexOf(a.action) - order.indexOf(b.action)));
  }
  return byRender;
}

/** Where a render stands: the job status while it runs, then SUCCEEDED or FAILED (judged with its manifest). */
export async function renderState(farm: LocalFarm, payload: RenderJobPayload, jobs: readonly JobView[]): Promise<RenderState> {
  const running = jobs.find((job) => !isTerminal(job.status));
  if (running) return { status: localRenderStatus(jobs), stage: running.action, terminal: false };
  const outcome = await renderOutcome(farm, payload);
  return { status: outcome.status, terminal: outcome.status !== "RUNNING", ...(outcome.reason ? { reason: outcome.reason } : {}), ...(outcome.manifest ? { manifest: outcome.manifest } : {}) };
}

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

/** The URL of one output, each path segment escaped. */
export function outputUrl(renderId: string, name: string): string {
  return `/api/renders/${renderId}/outputs/${name.split("/").map(encodeURIComponent).join("/")}`;
}

/** Outputs in the store, plus (while the render runs) the finished frames still in the work folder. */
export async function listOutputs(farm: LocalFarm, payload: RenderJobPayload, running: boolean): Promise<OutputView[]> {
  const prefix = outputPrefix(payload.project.name, payload.renderId);
  const outputs = new Map<string, OutputView>();
  for await (const object of renderObjects(farm, payload.renderId).list(prefix)) {
    const name = object.key.slice(prefix.length);
    outputs.set(name, { name, size: object.size, url: outputUrl(payload.renderId, name) });
  }
  if (running) {
    const frames = outputLayout(workLayout(farm.paths.work, payload.renderId).output).frames;
    for (const file of await readdir(frames).catch(() => [] as string[])) {
      const name = `frames/${file}`;
      if (outputs.has(name) || frameOfFileName(file) === undefined) continue;
      const info = await stat(join(frames, file)).catch(() => undefined);
      if (info?.isFile()) outputs.set(name, { name, size: info.size, url: outputUrl(payload.renderId, name) });
    }
  }
  return [...outputs.values()].sort((a, b) => (a.name < b.name ? -1 : 1));
}

/** Where one output is: an object in the render's store, a finished frame still in the work folder, or nowhere. */
export async function locateOutput(
  farm: LocalFarm,
  payload: RenderJobPayload,
  segments: readonly string[],
): Promise<{ kind: "object"; objects: ObjectStore; key: string; size: number } | { kind: "file"; path: string; size: number } | undefined> {
  const objects = renderObjects(farm, payload.renderId);
  const key = outputPrefix(payload.project.name, payload.renderId) + segments.join("/");
  const object = await objects.stat(key);
  if (object) return { kind: "object", objects, key, size: object.size };
  // Frames reach the store only when the upload job runs; until then they are served from the work folder.
  if (segments.length === 2 && segments[0] === "frames" && frameOfFileName(segments[1]!) !== undefined) {
    const path = join(outputLayout(workLayout(farm.paths.work, payload.renderId).output).frames, segments[1]!);
    const info = await stat(path).catch(() => undefined);
    if (info?.isFile()) return { kind: "file", path, size: info.size };
  }
  return undefined;
}

/** Every field of GET /api/renders/:id. */
export async function renderDetail(farm: LocalFarm, renderId: string) {
  const payload = submittedPayload(farm, renderId);
  const jobs = renderJobs(farm, renderId);
  const state = await renderState(farm, payload, jobs);
  const progress = emptyProgress(totalFrames(payload));
  if (!state.terminal) await new EventFollower(farm.paths.work, renderId).poll((child, event) => applyEvent(progress, child, event));
  return {
    renderId,
    backend: "local" as const,
    project: payload.project.name,
    frames: payload.frames,
    type: payload.type,
    status: state.status,
    ...(state.stage ? { stage: state.stage } : {}),
    ...(state.reason ? { reason: state.reason } : {}),
    jobs: jobs.map((job) => ({
      name: job.name,
      action: job.action,
      status: job.status,
      ...(job.statusReason ? { reason: job.statusReason } : {}),
      arraySize: job.arraySize,
      ...(job.arraySize > 1 ? { children: job.statusSummary } : {}),
      ...(job.startedAt && job.stoppedAt ? { seconds: Math.round((job.stoppedAt - job.startedAt) / 100) / 10 } : {}),
    })),
    progress: progressView(progress, state.manifest),
    warnings: state.manifest?.warnings ?? [...progress.warnings],
    manifest: state.manifest ?? null,
    outputs: await listOutputs(farm, payload, !state.terminal),
  };
}

/** One change a live client is told about (the `event:` and `data:` of a Server-Sent Event). */
export type LiveEvent =
  | { readonly event: "render"; readonly data: { renderId: string; project: string; status: string; stage?: string; reason?: string } }
  | { readonly event: "progress"; readonly data: FrameProgressView & { renderId: string } }
  | { readonly event: "frame"; readonly data: { renderId: string; frame: number; url: string } };

/**
 * Follows one render for a live client: each poll returns what changed since
 * the last one. Every finished frame gets a `frame` event before the render's
 * terminal `render` event, even when the work folder (and its event files)
 * was removed before they were read: the manifest fills the gaps.
 */
export class RenderTracker {
  readonly renderId: string;
  private payload: RenderJobPayload | undefined;
  private submission: string | undefined;
  private follower: EventFollower | undefined;
  private progress: RenderProgress | undefined;
  private framesSent = new Set<number>();
  private lastProgress = "";
  private lastState = "";

  constructor(renderId: string) {
    this.renderId = renderId;
  }

  /** The last state told, for callers that skip renders that ended. */
  get ended(): boolean {
    return this.lastState.startsWith("SUCCEEDED") || this.lastState.startsWith("FAILED");
  }

  async poll(farm: LocalFarm, jobs: readonly JobView[]): Promise<LiveEvent[]> {
    const copy = jobs.find((job) => job.action === "copy_efs");
    if (!copy) return [];
    if (copy.id !== this.submission) {
      // A new submission (retry) writes fresh event files: start reading them from the top.
      this.submission = copy.id;
      this.payload = submittedPayload(farm, this.renderId);
      this.follower = new EventFollower(farm.paths.work, this.renderId);
      this.progress = emptyProgress(totalFrames(this.payload));
      this.framesSent = new Set();
      this.lastProgress = "";
    }
    const payload = this.payload!;
    const progress = this.progress!;
    const events: LiveEvent[] = [];
    const frameEvent = (frame: number, file: string): void => {
      if (this.framesSent.has(frame)) return;
      this.framesSent.add(frame);
      events.push({ event: "frame", data: { renderId: this.renderId, frame, url: outputUrl(this.renderId, `frames/${file}`) } });
    };
    await this.follower!.poll((child, event) => {
      applyEvent(progress, child, event);
      if (event.type === "frame_finished") frameEvent(event.frame, basename(event.file));
    });
    const state = await renderState(farm, payload, jobs);
    if (state.manifest) {
      const framesPrefix = `${state.manifest.outputs.prefix}frames/`;
      for (const file of state.manifest.files) {
        const name = file.key.startsWith(framesPrefix) ? file.key.slice(framesPrefix.length) : undefined;
        const frame = name === undefined ? undefined : frameOfFileName(name);
        if (frame !== undefined) frameEvent(frame, name!);
      }
    }
    const view = progressView(progress, state.manifest);
    const progressKey = JSON.stringify(view);
    if (progressKey !== this.lastProgress) {
      this.lastProgress = progressKey;
      events.push({ event: "progress", data: { renderId: this.renderId, ...view } });
    }
    const stateKey = `${state.status}|${state.stage ?? ""}|${state.reason ?? ""}|${this.submission}`;
    if (stateKey !== this.lastState) {
      this.lastState = stateKey;
      events.push({
        event: "render",
        data: { renderId: this.renderId, project: payload.project.name, status: state.status, ...(state.stage ? { stage: state.stage } : {}), ...(state.reason ? { reason: state.reason } : {}) },
      });
    }
    return events;
  }
}

export type FrameCounts = { readonly framesDone: number; readonly framesTotal: number };

/**
 * Frame counts of ended local renders for the render list, from their
 * manifests: read once per submission (a retry is a new one), since an ended
 * render's manifest does not change.
 */
export class EndedFrameCounts {
  readonly #cache = new Map<string, { submission: string; counts: FrameCounts | undefined }>();

  async of(farm: LocalFarm, renderId: string): Promise<FrameCounts | undefined> {
    const jobs = renderJobs(farm, renderId);
    if (jobs.length === 0 || jobs.some((job) => !isTerminal(job.status))) return undefined;
    const submission = jobs.find((job) => job.action === "copy_efs")?.id ?? "";
    const cached = this.#cache.get(renderId);
    if (cached?.submission === submission) return cached.counts;
    const { manifest } = await renderOutcome(farm, submittedPayload(farm, renderId));
    const counts = manifest ? { framesDone: manifest.frames.renderedCount, framesTotal: manifest.frames.expectedCount } : undefined;
    this.#cache.set(renderId, { submission, counts });
    return counts;
  }
}
