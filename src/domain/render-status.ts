/**
 * Where a render stands, folded from its jobs and its manifest: the one rule
 * both backends, the CLI and the API use (pure).
 */
import type { JobActionType } from "./job-actions.ts";
import { isTerminal, type JobStatus, type StatusSummary } from "./job-status.ts";
import type { RenderManifest } from "./render-manifest.ts";

/** A job's status, or UNKNOWN when the backend cannot tell (AWS Batch forgot the jobs and no manifest was written). */
export const RENDER_STATUSES = ["SUBMITTED", "PENDING", "RUNNABLE", "STARTING", "RUNNING", "SUCCEEDED", "FAILED", "UNKNOWN"] as const;
export type RenderStatus = (typeof RENDER_STATUSES)[number];

/** What the fold needs of a job, on either backend. */
export type FoldedJob = {
  readonly action: JobActionType;
  readonly status: JobStatus;
  /** Array jobs: children per status (an array parent on AWS stays PENDING while its children run). */
  readonly statusSummary?: StatusSummary;
};

export type RenderState = {
  /** While it runs, the status of the job in progress (an array job's furthest child); then SUCCEEDED, FAILED, or UNKNOWN. */
  readonly status: RenderStatus;
  /** While it runs: the action of the job in progress. */
  readonly stage?: JobActionType;
  readonly reason?: string;
  readonly terminal: boolean;
};

/** Furthest along first: what an array job is doing is what its most advanced unfinished child does. */
const LIVE_ORDER: readonly JobStatus[] = ["RUNNING", "STARTING", "RUNNABLE", "PENDING", "SUBMITTED"];

/**
 * A render's state. It succeeded only when every job did and the manifest
 * says the outputs are complete; a failure's reason is the manifest's (the
 * report the user got), else the jobs' (`jobsReason`, the first failed job's
 * in plan order). Without jobs (`undefined`: AWS Batch forgot them), the
 * manifest alone tells.
 */
export function foldRenderStatus(
  jobs: readonly FoldedJob[] | undefined,
  manifest: Pick<RenderManifest, "status" | "reason"> | undefined,
  jobsReason?: string,
): RenderState {
  if (jobs === undefined) {
    if (manifest === undefined) return { status: "UNKNOWN", terminal: false };
    return { status: manifest.status === "succeeded" ? "SUCCEEDED" : "FAILED", terminal: true, ...(manifest.reason ? { reason: manifest.reason } : {}) };
  }
  const running = jobs.find((job) => !isTerminal(job.status));
  if (running) {
    const child = running.statusSummary ? LIVE_ORDER.find((status) => running.statusSummary![status] > 0) : undefined;
    return { status: child ?? running.status, stage: running.action, terminal: false };
  }
  const succeeded = jobs.every((job) => job.status === "SUCCEEDED") && manifest?.status === "succeeded";
  if (succeeded) return { status: "SUCCEEDED", terminal: true };
  return { status: "FAILED", terminal: true, reason: manifest?.reason ?? jobsReason ?? "the render did not finish" };
}

export function isEnded(status: RenderStatus): boolean {
  return status === "SUCCEEDED" || status === "FAILED";
}
