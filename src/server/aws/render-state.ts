/** Where an AWS render stands, from its jobs and manifest (pure). */
import type { JobDetail } from "@aws-sdk/client-batch";
import { renderStatusOf, toJobView, type BatchJobView, type RenderDescription } from "../../backends/aws/monitor.ts";
import type { RecordedJob } from "../../backends/aws/render-record.ts";
import { isTerminal, type JobStatus } from "../../domain/job-status.ts";
import type { RenderManifest } from "../../domain/render-manifest.ts";

/** Where an AWS render stands, as the API shows it. */
export type AwsRenderState = {
  /** While it runs, the status of the job in progress (an array job's furthest child); then SUCCEEDED, FAILED, or UNKNOWN. */
  readonly status: string;
  readonly stage?: string;
  readonly reason?: string;
  readonly terminal: boolean;
};

/** Furthest along first: what an array job is doing is what its most advanced unfinished child does. */
const LIVE_ORDER: readonly JobStatus[] = ["RUNNING", "STARTING", "RUNNABLE", "PENDING", "SUBMITTED"];

/**
 * A render's state from its jobs and (once they ended) its manifest (pure).
 * As `brender status --watch`: it succeeded only when every job did and the
 * manifest says the outputs are complete. Without jobs (AWS Batch forgot
 * them), the manifest alone tells.
 */
export function awsRenderState(described: Pick<RenderDescription, "status" | "reason" | "jobs"> | undefined, manifest: RenderManifest | undefined): AwsRenderState {
  if (described === undefined) {
    if (manifest === undefined) return { status: "UNKNOWN", terminal: false };
    return { status: manifest.status === "succeeded" ? "SUCCEEDED" : "FAILED", terminal: true, ...(manifest.reason ? { reason: manifest.reason } : {}) };
  }
  const running = described.jobs.find((job) => !isTerminal(job.status));
  if (running) {
    const child = running.statusSummary ? LIVE_ORDER.find((status) => running.statusSummary![status] > 0) : undefined;
    return { status: child ?? running.status, stage: running.action, terminal: false };
  }
  const succeeded = described.status === "SUCCEEDED" && manifest?.status === "succeeded";
  const reason = succeeded ? undefined : (described.reason ?? manifest?.reason ?? "the render did not finish");
  return { status: succeeded ? "SUCCEEDED" : "FAILED", terminal: true, ...(reason ? { reason } : {}) };
}

/** A render's jobs as DescribeJobs answered, without the calls (pure); undefined when AWS Batch no longer knows one of them. */
export function describeFromDetails(jobs: readonly RecordedJob[], details: ReadonlyMap<string, JobDetail>): RenderDescription | undefined {
  const views: BatchJobView[] = [];
  for (const job of jobs) {
    const detail = details.get(job.jobId);
    if (detail === undefined) return undefined;
    views.push(toJobView(job, detail));
  }
  return { ...renderStatusOf(views), jobs: views };
}
