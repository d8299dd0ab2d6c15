import { open, readdir } from "node:fs/promises";
import { join } from "node:path";
import { outputPrefix, workLayout } from "../domain/layout.ts";
import { parseProgressEventLine, type ProgressEvent } from "../domain/progress-events.ts";
import { renderManifestSchema, type RenderManifest } from "../domain/render-manifest.ts";
import type { RenderJobPayload } from "../domain/render-payload.ts";
import { isTerminal, type JobStatus } from "../domain/job-status.ts";
import type { JobActionType } from "../domain/job-actions.ts";
import type { JobView } from "../backends/local/job-store.ts";
import { renderJobs, renderObjects, type LocalFarm } from "../backends/local/farm.ts";

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

/** What the progress line needs of a job, on either backend (AWS Batch's statuses are ours). */
export type StageJob = { readonly action: JobActionType; readonly status: JobStatus };

/** One status line: frames done/total, what renders now, ETA, failures. */
export function formatProgressLine(progress: RenderProgress, jobs: readonly StageJob[], elapsedSeconds: number): string {
  const stage = jobs.find((job) => !isTerminal(job.status));
  const parts = [`${progress.framesDone.size}/${progress.framesTotal} frames`];
  for (const [child, now] of [...progress.current].sort((a, b) => a[0] - b[0])) {
    parts.push(`frame ${now.frame}${now.samples ? ` ${now.sample}/${now.samples} samples` : ""}${progress.current.size > 1 ? ` (child ${child})` : ""}`);
  }
  const remaining = progress.framesTotal - progress.framesDone.size;
  if (progress.frameSeconds.length > 0 && remaining > 0) {
    const average = progress.frameSeconds.reduce((sum, seconds) => sum + seconds, 0) / progress.frameSeconds.length;
    parts.push(`ETA ${formatSeconds(average * remaining)}`);
  }
  if (progress.failedFrames.size > 0) parts.push(`${progress.failedFrames.size} failed`);
  parts.push(stage ? stageName(stage) : "finishing");
  parts.push(formatSeconds(elapsedSeconds));
  return parts.join(" · ");
}

function stageName(job: StageJob): string {
  const what = { copy_efs: "copying project", render: "rendering", custom_render_python: "running script", upload_render_output: "uploading", remove_efs: "cleaning" }[job.action];
  return job.status === "RUNNING" || job.status === "STARTING" ? what : `${what}: ${job.status.toLowerCase()}`;
}

export function formatSeconds(total: number): string {
  const seconds = Math.max(0, Math.round(total));
  const h = Math.floor(seconds / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  const s = seconds % 60;
  return h > 0 ? `${h}h${String(m).padStart(2, "0")}m` : m > 0 ? `${m}m${String(s).padStart(2, "0")}s` : `${s}s`;
}

/** Bytes for people: 1.5 GB, 12 MB, 900 B (powers of 1,000). */
export function formatBytes(bytes: number): string {
  const units = ["B", "kB", "MB", "GB", "TB"];
  let value = bytes;
  let unit = 0;
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000;
    unit += 1;
  }
  return `${unit === 0 ? value.toFixed(0) : value.toFixed(value < 10 ? 1 : 0)} ${units[unit]}`;
}

/** Reads new lines from the render children's event files, remembering where it stopped in each. */
export class EventFollower {
  private readonly offsets = new Map<string, number>();
  private readonly partial = new Map<string, string>();
  private readonly folder: string;

  constructor(workFolder: string, renderId: string) {
    this.folder = workLayout(workFolder, renderId).events;
  }

  async poll(onEvent: (child: number, event: ProgressEvent) => void): Promise<void> {
    const names = await readdir(this.folder).catch(() => [] as string[]);
    for (const name of names) {
      const match = /^render-(\d+)\.jsonl$/.exec(name);
      if (!match) continue;
      const path = join(this.folder, name);
      const offset = this.offsets.get(path) ?? 0;
      const handle = await open(path, "r").catch(() => undefined);
      if (!handle) continue;
      try {
        const { size } = await handle.stat();
        if (size <= offset) continue;
        const buffer = Buffer.alloc(size - offset);
        await handle.read(buffer, 0, buffer.length, offset);
        this.offsets.set(path, size);
        const text = (this.partial.get(path) ?? "") + buffer.toString("utf8");
        const lines = text.split("\n");
        this.partial.set(path, lines.pop() ?? "");
        for (const line of lines) {
          const event = parseProgressEventLine(line);
          if (event) onEvent(Number(match[1]), event);
        }
      } finally {
        await handle.close();
      }
    }
  }
}

/** How a render ended (or stands), from its jobs and, when the upload ran, its manifest. */
export type RenderOutcome = {
  readonly renderId: string;
  readonly status: "SUCCEEDED" | "FAILED" | "RUNNING";
  readonly reason?: string;
  readonly jobs: readonly JobView[];
  readonly manifest?: RenderManifest;
};

export async function renderOutcome(farm: LocalFarm, payload: RenderJobPayload): Promise<RenderOutcome> {
  const jobs = renderJobs(farm, payload.renderId);
  const manifest = await readManifest(farm, payload);
  if (jobs.some((job) => !isTerminal(job.status))) return { renderId: payload.renderId, status: "RUNNING", jobs, manifest };
  const failedJob = jobs.find((job) => job.status === "FAILED");
  const succeeded = !failedJob && manifest?.status === "succeeded";
  const reason = succeeded ? undefined : manifest?.reason ?? failedJob?.statusReason ?? "the render did not finish";
  return { renderId: payload.renderId, status: succeeded ? "SUCCEEDED" : "FAILED", ...(reason ? { reason } : {}), jobs, manifest };
}

async function readManifest(farm: LocalFarm, payload: RenderJobPayload): Promise<RenderManifest | undefined> {
  const bytes = await renderObjects(farm, payload.renderId).getBytes(`${outputPrefix(payload.project.name, payload.renderId)}manifest.json`).catch(() => undefined);
  return bytes ? renderManifestSchema.parse(JSON.parse(bytes.toString("utf8"))) : undefined;
}
