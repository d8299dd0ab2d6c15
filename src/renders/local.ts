/**
 * The local farm as a RenderBackend: renders are the jobs of the SQLite
 * store (newest submission per render), progress comes from the children's
 * events files in the work folder, outputs from the render's object store
 * (and, while it runs, the finished frames still in the work folder).
 */
import { createReadStream } from "node:fs";
import { readdir, stat } from "node:fs/promises";
import { basename, join } from "node:path";
import { renderJobs, renderObjects, submitPlanFor, type LocalFarm } from "../backends/local/farm.ts";
import type { AttemptView, ChildView, JobView } from "../backends/local/job-store.ts";
import { CANCELLED_REASON, TERMINATED_REASON } from "../backends/local/job-state.ts";
import { runLocalFarm } from "../backends/local/runner.ts";
import { UserInputError } from "../domain/errors.ts";
import { isInFlight, isTerminal } from "../domain/job-status.ts";
import { frameOfFileName, outputLayout, outputPrefix, workLayout } from "../domain/layout.ts";
import { manifestRenderEvent } from "../domain/render-event.ts";
import type { RenderManifest } from "../domain/render-manifest.ts";
import { parseRenderPayloadJson, type RenderJobPayload } from "../domain/render-payload.ts";
import { shownNotifyTargets } from "../domain/stored-webhooks.ts";
import { applyEvent, emptyProgress, progressView, totalFrames, type RenderProgress } from "../domain/render-progress.ts";
import { foldRenderStatus, type RenderState } from "../domain/render-status.ts";
import { FsObjectStore } from "../storage/fs-store.ts";
import type { FoundOutput, LiveEvent, LiveFollower, LogFileView, OutputView, RenderBackend, RenderDetail, RenderRow, RenderWatcher } from "./backend.ts";
import { RenderConflictError, noSuchRender } from "./errors.ts";
import { EventReader, workFolderEvents } from "./event-reader.ts";
import { readRenderManifest } from "./manifest.ts";
import { costView, jobSeconds, outputUrl } from "./views.ts";

/** Plan order of a submission's jobs. */
const PLAN_ORDER = ["copy_efs", "render", "custom_render_python", "upload_render_output"];

/** The jobs of each render's newest submission (a retry submits the plan again), like renderJobs for a prefetched list. */
export function newestSubmissions(jobs: readonly JobView[]): Map<string, JobView[]> {
  const byRender = new Map<string, JobView[]>();
  for (const job of jobs) {
    if (!job.renderId) continue;
    byRender.set(job.renderId, [...(byRender.get(job.renderId) ?? []), job]);
  }
  for (const [renderId, all] of byRender) {
    const newest = Math.max(...all.filter((job) => job.action === "copy_efs").map((job) => job.createdAt));
    byRender.set(renderId, all.filter((job) => job.createdAt >= newest).sort((a, b) => PLAN_ORDER.indexOf(a.action) - PLAN_ORDER.indexOf(b.action)));
  }
  return byRender;
}

/** The payload a render was submitted with (kept in its copy job's environment). */
export function submittedPayload(farm: LocalFarm, renderId: string): RenderJobPayload {
  const record = farm.jobs.renders.get(renderId);
  if (record) return parseRenderPayloadJson(record.settings);
  const copy = renderJobs(farm, renderId).find((job) => job.action === "copy_efs");
  const text = copy?.environment.BRENDER_JOB_PAYLOAD;
  if (!text) throw noSuchRender(renderId);
  return parseRenderPayloadJson(text);
}

/** The first failed job's reason, in plan order. */
function jobsReason(jobs: readonly JobView[]): string | undefined {
  return jobs.find((job) => job.status === "FAILED")?.statusReason;
}

/** One attempt's log of a render: where it is, a heading for people, and the job, child and attempt it belongs to. */
export type RenderLogFile = { readonly heading: string; readonly logFile: string; readonly job: JobView; readonly child: ChildView; readonly attempt: AttemptView };

/** Every attempt's log file of a render's newest submission, in plan order (jobs, children, attempts ascending). */
export function renderLogFiles(farm: LocalFarm, renderId: string): RenderLogFile[] {
  const files: RenderLogFile[] = [];
  for (const job of renderJobs(farm, renderId)) {
    for (const child of farm.jobs.listChildren(job.id, { limit: 10_000 })) {
      for (const attempt of farm.jobs.listAttempts(job.id, child.index)) {
        if (!attempt.logFile) continue;
        const heading = `==> ${job.action}${job.arraySize > 1 ? ` child ${child.index}` : ""}, attempt ${attempt.attempt} (${attempt.logFile}) <==`;
        files.push({ heading, logFile: attempt.logFile, job, child, attempt });
      }
    }
  }
  return files;
}

/** A log's id: "render-3-a1" (child 3 of an array job, attempt 1) or "copy_efs-a1"; stable for a submission. */
export function logFileId(action: string, child: number | null, attempt: number): string {
  return child === null ? `${action}-a${attempt}` : `${action}-${child}-a${attempt}`;
}

/**
 * How one attempt went: ended (SUCCEEDED, or FAILED with a reason), the
 * child's state while it is the child's current attempt, else unknown.
 */
export function attemptStatus(attempt: AttemptView, child: ChildView): { status?: string; reason?: string } {
  if (attempt.stoppedAt !== undefined) {
    const failed = attempt.reason !== undefined || (attempt.exitCode !== undefined && attempt.exitCode !== 0);
    return failed ? { status: "FAILED", ...(attempt.reason ? { reason: attempt.reason } : {}) } : { status: "SUCCEEDED" };
  }
  if (child.attempt === attempt.attempt && isInFlight(child.status)) return { status: child.status };
  return {};
}

export class LocalRenderBackend implements RenderBackend {
  readonly farm: LocalFarm;
  readonly pollMs: number;
  /** Manifests of ended renders, by submission (the copy job's id): an ended render's manifest does not change. */
  readonly #ended = new Map<string, { submission: string; manifest: RenderManifest | undefined }>();

  constructor(farm: LocalFarm, options: { pollMs?: number } = {}) {
    this.farm = farm;
    this.pollMs = options.pollMs ?? 500;
  }

  /** Every render, from the renders table (no job scan): each with its newest submission's jobs. */
  #submissions(): { renderId: string; project: string; submittedAt: number; jobs: JobView[] }[] {
    return this.farm.jobs.renders.list().map((record) => ({
      renderId: record.id,
      project: record.project,
      submittedAt: record.submittedAt,
      jobs: record.jobIds.map((id) => this.farm.jobs.getJob(id)).filter((job): job is JobView => job !== undefined),
    }));
  }

  async list(): Promise<RenderRow[]> {
    const rows: RenderRow[] = [];
    for (const { renderId, project, submittedAt, jobs } of this.#submissions()) {
      const { state, manifest } = await this.#stateOf(renderId, jobs).catch(() => ({ state: foldRenderStatus(jobs, undefined, jobsReason(jobs)), manifest: undefined }));
      rows.push({
        renderId,
        backend: "local",
        project,
        submittedAt: new Date(submittedAt).toISOString(),
        status: state.status,
        ...(manifest ? { framesDone: manifest.frames.renderedCount, framesTotal: manifest.frames.expectedCount } : {}),
      });
    }
    return rows;
  }

  /** By the renders table's index: no job scan. */
  async find(idOrPrefix: string): Promise<string | undefined> {
    if (this.farm.jobs.renders.get(idOrPrefix)) return idOrPrefix;
    const matches = idOrPrefix === "" ? [] : this.farm.jobs.renders.idsStartingWith(idOrPrefix, 4);
    if (matches.length === 0) return undefined;
    if (matches.length === 1) return matches[0];
    throw new UserInputError(`"${idOrPrefix}" matches ${matches.length} renders (${matches.slice(0, 3).join(", ")}…); give more of the id.`);
  }

  async where(_renderId: string) {
    return { backend: "local", words: "" };
  }

  async payload(renderId: string): Promise<RenderJobPayload> {
    return submittedPayload(this.farm, renderId);
  }

  /** The state of a render's newest submission: while running from its jobs, then with its manifest (read once per submission). */
  async #stateOf(renderId: string, jobs: readonly JobView[]): Promise<{ state: RenderState; manifest?: RenderManifest }> {
    if (jobs.some((job) => !isTerminal(job.status))) return { state: foldRenderStatus(jobs, undefined) };
    const submission = jobs.find((job) => job.action === "copy_efs")?.id ?? "";
    let cached = this.#ended.get(renderId);
    if (cached?.submission !== submission) {
      const payload = submittedPayload(this.farm, renderId);
      cached = { submission, manifest: await readRenderManifest(renderObjects(this.farm, renderId), payload.project.name, renderId) };
      this.#ended.set(renderId, cached);
      const ended = foldRenderStatus(jobs, cached.manifest, jobsReason(jobs)).status;
      // The record keeps how this submission ended (a retry clears it).
      try {
        if (ended === "SUCCEEDED" || ended === "FAILED") this.farm.jobs.renders.setFinalStatus(renderId, jobs.map((job) => job.id), ended);
      } catch {
        // A store opened read-only (a full disk) cannot keep it now; it is judged again next time.
      }
    }
    const state = foldRenderStatus(jobs, cached.manifest, jobsReason(jobs));
    return { state, ...(cached.manifest ? { manifest: cached.manifest } : {}) };
  }

  async get(renderId: string): Promise<RenderDetail> {
    const payload = submittedPayload(this.farm, renderId);
    const jobs = renderJobs(this.farm, renderId);
    const { state, manifest } = await this.#stateOf(renderId, jobs);
    const progress = emptyProgress(totalFrames(payload));
    if (!state.terminal) await new EventReader(workFolderEvents(this.farm.paths.work, renderId)).poll((child, event) => applyEvent(progress, child, event));
    return {
      renderId,
      backend: "local",
      project: payload.project.name,
      frames: payload.frames,
      type: payload.type,
      notify: shownNotifyTargets(payload.notify),
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
        ...jobSeconds(job),
      })),
      progress: progressView(progress, manifest),
      warnings: manifest?.warnings ?? [...progress.warnings],
      manifest: manifest ?? null,
      ...costView(payload.estimate, manifest),
      outputs: await this.#outputs(payload, !state.terminal),
    };
  }

  async watcher(renderId: string): Promise<RenderWatcher> {
    const payload = submittedPayload(this.farm, renderId);
    const reader = new EventReader(workFolderEvents(this.farm.paths.work, renderId));
    const progress = emptyProgress(totalFrames(payload));
    return {
      poll: async () => {
        await reader.poll((child, event) => applyEvent(progress, child, event));
        const jobs = renderJobs(this.farm, renderId);
        const { state, manifest } = await this.#stateOf(renderId, jobs);
        return { state, jobs, progress, ...(manifest ? { manifest } : {}) };
      },
    };
  }

  follow(renderId?: string): LiveFollower {
    if (renderId !== undefined) {
      const tracker = new RenderTracker(this, renderId);
      // Never "ended": a retry starts the render again, and its client should see that.
      return { poll: () => tracker.poll(renderJobs(this.farm, renderId)), ended: false };
    }
    return new EveryRenderFollower(this);
  }

  async cancel(renderId: string): Promise<{ cancelled: number; terminating: number }> {
    let cancelled = 0;
    let terminating = 0;
    // Later jobs first, so each says it was cancelled rather than that its dependency failed.
    for (const job of renderJobs(this.farm, renderId).reverse()) {
      if (isTerminal(job.status) || job.action === "upload_render_output") continue;
      const result = this.farm.jobs.terminate(job.id, CANCELLED_REASON);
      cancelled += result.cancelled;
      terminating += result.terminating;
    }
    if (cancelled + terminating === 0) {
      throw new RenderConflictError(`Render ${renderId} has no job left to cancel (it has ended, or only its upload is left).`);
    }
    return { cancelled, terminating };
  }

  async retry(renderId: string): Promise<void> {
    const jobs = renderJobs(this.farm, renderId);
    if (jobs.some((job) => !isTerminal(job.status))) {
      throw new RenderConflictError(`Render ${renderId} is still running; wait for it, or 'brender cancel ${renderId}' first.`);
    }
    const payload = submittedPayload(this.farm, renderId);
    const copy = jobs.find((job) => job.action === "copy_efs")!;
    const render = jobs.find((job) => job.action === "render" || job.action === "custom_render_python");
    // A render that named its Blender keeps it on retry.
    const blenderExecutable = render?.environment.BLENDER_EXECUTABLE;
    submitPlanFor(this.farm, payload, copy.environment.BUCKET_KEY!, {
      attempts: render?.attempts, timeoutSeconds: render?.timeoutSeconds, priority: copy.priority, ...(blenderExecutable ? { blenderExecutable } : {}),
    });
  }

  async *logs(renderId: string, options: { follow?: boolean } = {}): AsyncIterable<string> {
    const printed = new Map<string, number>();
    for (;;) {
      // Read before printing, so a render that ends meanwhile still gets its last lines printed.
      const ended = renderJobs(this.farm, renderId).every((job) => isTerminal(job.status));
      for (const { heading, logFile } of renderLogFiles(this.farm, renderId)) {
        const from = printed.get(logFile);
        if (from === undefined) yield `${heading}\n`;
        let at = from ?? 0;
        try {
          for await (const chunk of createReadStream(logFile, { start: at })) {
            at += (chunk as Buffer).length;
            yield (chunk as Buffer).toString("utf8");
          }
        } catch (error) {
          if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
        }
        printed.set(logFile, at);
      }
      if (!options.follow || ended) return;
      await new Promise((resolve) => setTimeout(resolve, this.pollMs));
    }
  }

  async logFiles(renderId: string): Promise<(LogFileView & { path: string })[]> {
    return Promise.all(
      renderLogFiles(this.farm, renderId).map(async ({ job, child, attempt, logFile }) => {
        const childIndex = job.arraySize > 1 ? child.index : null;
        const id = logFileId(job.action, childIndex, attempt.attempt);
        return {
          id,
          action: job.action,
          child: childIndex,
          attempt: attempt.attempt,
          ...attemptStatus(attempt, child),
          size: (await stat(logFile).catch(() => undefined))?.size ?? 0,
          url: `/api/renders/${renderId}/log-files/${id}`,
          path: logFile,
        };
      }),
    );
  }

  async outputs(renderId: string): Promise<OutputView[]> {
    const running = renderJobs(this.farm, renderId).some((job) => !isTerminal(job.status));
    return this.#outputs(submittedPayload(this.farm, renderId), running);
  }

  /** Outputs in the store, plus (while the render runs) the finished frames still in the work folder. */
  async #outputs(payload: RenderJobPayload, running: boolean): Promise<OutputView[]> {
    const prefix = outputPrefix(payload.project.name, payload.renderId);
    const outputs = new Map<string, OutputView>();
    for await (const object of renderObjects(this.farm, payload.renderId).list(prefix)) {
      const name = object.key.slice(prefix.length);
      outputs.set(name, { name, size: object.size, url: outputUrl(payload.renderId, name) });
    }
    if (running) {
      const frames = outputLayout(workLayout(this.farm.paths.work, payload.renderId).output).frames;
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
  async openOutput(renderId: string, segments: readonly string[]): Promise<FoundOutput | undefined> {
    const payload = submittedPayload(this.farm, renderId);
    const objects = renderObjects(this.farm, renderId);
    const key = outputPrefix(payload.project.name, renderId) + segments.join("/");
    const object = await objects.stat(key);
    if (object) return { kind: "object", objects, key, size: object.size };
    // Frames reach the store only when the upload job runs; until then they are served from the work folder.
    if (segments.length === 2 && segments[0] === "frames" && frameOfFileName(segments[1]!) !== undefined) {
      const path = join(outputLayout(workLayout(this.farm.paths.work, renderId).output).frames, segments[1]!);
      const info = await stat(path).catch(() => undefined);
      if (info?.isFile()) return { kind: "file", path, size: info.size };
    }
    return undefined;
  }

  async previewSource(renderId: string, segments: readonly string[]) {
    const found = await this.openOutput(renderId, segments);
    if (found === undefined || found.kind === "stream") return undefined;
    if (found.kind === "file") return found;
    // The folder store's objects are files already: no copy needed.
    if (found.objects instanceof FsObjectStore) return { kind: "file" as const, path: found.objects.describe(found.key), size: found.size };
    return { kind: "download" as const, size: found.size, download: (destination: string) => found.objects.getFile(found.key, destination) };
  }

  async outputStore(renderId: string) {
    return { objects: renderObjects(this.farm, renderId), prefix: outputPrefix(submittedPayload(this.farm, renderId).project.name, renderId) };
  }

  runJobs(options: { stop: AbortSignal; signal: AbortSignal; onJobEnded?: () => void }): Promise<void> {
    return runLocalFarm({
      store: this.farm.jobs, logDir: this.farm.logDir, stop: options.stop, signal: options.signal,
      ...(options.onJobEnded ? { onEvent: (event) => event.type === "exited" && options.onJobEnded!() } : {}),
    });
  }

  interrupt(renderId: string): void {
    for (const job of renderJobs(this.farm, renderId)) if (!isTerminal(job.status)) this.farm.jobs.terminate(job.id, `${TERMINATED_REASON} (Ctrl-C)`);
  }

  close(): void {}

  /** For the live followers: each render's newest submission's jobs, from the renders table. */
  submissions(): Map<string, JobView[]> {
    return new Map(this.#submissions().map(({ renderId, jobs }) => [renderId, jobs]));
  }

  /** For the trackers: the state and manifest of a render's jobs. */
  stateOf(renderId: string, jobs: readonly JobView[]) {
    return this.#stateOf(renderId, jobs);
  }
}

/**
 * Follows one local render for a live client: each poll returns what changed
 * since the last one. Every finished frame gets a `frame` event before the
 * render's terminal `render` event, even when the work folder (and its events
 * files) was removed before they were read: the manifest fills the gaps.
 */
export class RenderTracker {
  readonly renderId: string;
  readonly #backend: LocalRenderBackend;
  #payload: RenderJobPayload | undefined;
  #submission: string | undefined;
  #reader: EventReader | undefined;
  #progress: RenderProgress | undefined;
  #framesSent = new Set<number>();
  #lastProgress = "";
  #lastState = "";

  constructor(backend: LocalRenderBackend, renderId: string) {
    this.#backend = backend;
    this.renderId = renderId;
  }

  /** The last state told, for callers that skip renders that ended. */
  get ended(): boolean {
    return this.#lastState.startsWith("SUCCEEDED") || this.#lastState.startsWith("FAILED");
  }

  async poll(jobs: readonly JobView[]): Promise<LiveEvent[]> {
    const farm = this.#backend.farm;
    const copy = jobs.find((job) => job.action === "copy_efs");
    if (!copy) return [];
    if (copy.id !== this.#submission) {
      // A new submission (retry) writes fresh events files: start reading them from the top.
      this.#submission = copy.id;
      this.#payload = submittedPayload(farm, this.renderId);
      this.#reader = new EventReader(workFolderEvents(farm.paths.work, this.renderId));
      this.#progress = emptyProgress(totalFrames(this.#payload));
      this.#framesSent = new Set();
      this.#lastProgress = "";
    }
    const payload = this.#payload!;
    const progress = this.#progress!;
    const events: LiveEvent[] = [];
    const frameEvent = (frame: number, file: string): void => {
      if (this.#framesSent.has(frame)) return;
      this.#framesSent.add(frame);
      events.push({ event: "frame", data: { renderId: this.renderId, frame, url: outputUrl(this.renderId, `frames/${file}`) } });
    };
    await this.#reader!.poll((child, event) => {
      applyEvent(progress, child, event);
      if (event.type === "frame_finished") frameEvent(event.frame, basename(event.file));
    });
    const { state, manifest } = await this.#backend.stateOf(this.renderId, jobs);
    if (manifest) {
      const framesPrefix = `${manifest.outputs.prefix}frames/`;
      for (const file of manifest.files) {
        const name = file.key.startsWith(framesPrefix) ? file.key.slice(framesPrefix.length) : undefined;
        const frame = name === undefined ? undefined : frameOfFileName(name);
        if (frame !== undefined) frameEvent(frame, name!);
      }
    }
    const view = progressView(progress, manifest);
    const progressKey = JSON.stringify(view);
    if (progressKey !== this.#lastProgress) {
      this.#lastProgress = progressKey;
      events.push({ event: "progress", data: { renderId: this.renderId, ...view } });
    }
    const stateKey = `${state.status}|${state.stage ?? ""}|${state.reason ?? ""}|${this.#submission}`;
    if (stateKey !== this.#lastState) {
      this.#lastState = stateKey;
      // The same versioned document webhooks get (render.succeeded, render.failed, render.cancelled), just before
      // the terminal `render` event, which stays the last a client sees of a render.
      if (state.terminal && manifest) {
        const event = manifestRenderEvent(manifest, renderObjects(farm, this.renderId).describe(manifest.outputs.prefix));
        events.push({ event: event.type, data: { renderId: this.renderId, ...event } });
      }
      events.push({
        event: "render",
        data: { renderId: this.renderId, project: payload.project.name, status: state.status, ...(state.stage ? { stage: state.stage } : {}), ...(state.reason ? { reason: state.reason } : {}) },
      });
    }
    return events;
  }
}

/** Every local render's events; renders that had ended before the client came are not replayed, and ended ones are not polled again until retried. */
class EveryRenderFollower implements LiveFollower {
  readonly ended = false;
  readonly #backend: LocalRenderBackend;
  readonly #trackers = new Map<string, RenderTracker>();
  readonly #settled = new Map<string, string>();
  #first = true;

  constructor(backend: LocalRenderBackend) {
    this.#backend = backend;
  }

  async poll(): Promise<LiveEvent[]> {
    const events: LiveEvent[] = [];
    for (const [renderId, jobs] of this.#backend.submissions()) {
      const submission = jobs.find((job) => job.action === "copy_efs")?.id ?? "";
      if (this.#settled.get(renderId) === submission) continue;
      if (this.#first && jobs.every((job) => isTerminal(job.status))) {
        this.#settled.set(renderId, submission);
        continue;
      }
      const tracker = this.#trackers.get(renderId) ?? new RenderTracker(this.#backend, renderId);
      this.#trackers.set(renderId, tracker);
      events.push(...(await tracker.poll(jobs)));
      if (tracker.ended) this.#settled.set(renderId, submission);
    }
    this.#first = false;
    return events;
  }
}
