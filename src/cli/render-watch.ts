import type { JobActionType } from "../domain/job-actions.ts";
import type { RenderProgress } from "../domain/render-progress.ts";
import { isEnded, type RenderStatus } from "../domain/render-status.ts";

/** What the progress line needs of a job, on either backend (AWS Batch's statuses are ours). */
export type StageJob = { readonly action: JobActionType; readonly status: RenderStatus };

/** One status line: frames done/total, what renders now, ETA, failures. */
export function formatProgressLine(progress: RenderProgress, jobs: readonly StageJob[], elapsedSeconds: number): string {
  const stage = jobs.find((job) => !isEnded(job.status));
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

