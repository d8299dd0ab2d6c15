/**
 * Cancelling a render on AWS Batch.
 *
 * Every job not yet final gets TerminateJob, never CancelJob. AWS's
 * TerminateJob reference: "Jobs that are in the STARTING or RUNNING state are
 * terminated, which causes them to transition to FAILED. Jobs that have not
 * progressed to the STARTING state are cancelled." So one call covers both,
 * whereas CancelJob silently does nothing to a job that reached STARTING
 * between our DescribeJobs and the call ("the API operation still succeeds,
 * even if no job is canceled"), and an array parent is never RUNNING (it
 * stays PENDING while its children run), so choosing the call from the
 * parent's status would leave running children alone.
 *
 * The parent's TerminateJob handles its queued children; the children seen
 * STARTING or RUNNING are also terminated one by one, because AWS documents
 * the parent cascading for cancellation but says nothing of running children.
 *
 * Like the local farm, the frames rendered so far are still published by
 * default: the upload job is left alone, Batch fails it unstarted when its
 * dependency is stopped, and the farm's event rule then submits the
 * publisher job, which uploads what exists and reports the cancellation.
 * With includeUpload the upload is stopped first, with a reason that tells
 * the publisher to publish nothing (NO_PUBLISH_REASON_PREFIX).
 */
import { TerminateJobCommand, type BatchClient } from "@aws-sdk/client-batch";
import { isInFlight, isTerminal } from "../../domain/job-status.ts";
import { NO_PUBLISH_REASON_PREFIX } from "../../worker/failed-upload.ts";
import { childStatuses, type BatchJobView, type RenderDescription } from "./monitor.ts";

/** TerminateJob's reason: "This parameter has as limit of 1024 characters." */
export const MAX_REASON_LENGTH = 1024;

export type CancelOptions = {
  /** Also stop the upload job (no outputs are published and no e-mail is sent). Default false. */
  readonly includeUpload?: boolean;
};

/** One TerminateJob Brender will send, and what it does to the job. */
export type CancelStep = {
  readonly name: string;
  readonly jobId: string;
  /** "cancel": the job had not started; "terminate": it was STARTING or RUNNING. */
  readonly effect: "cancel" | "terminate";
  /** Array jobs: children not started (cancelled with the parent) and in flight (terminated one by one). */
  readonly children?: { readonly queued: number; readonly inFlight: number };
};

export type CancelSummary = {
  /** Jobs stopped before they started. */
  readonly cancelled: number;
  /** Jobs stopped while STARTING or RUNNING. */
  readonly terminated: number;
  /** Jobs already SUCCEEDED or FAILED, or left to run (the upload). */
  readonly untouched: number;
  /** Array children: not started (cancelled) and in flight (terminated). */
  readonly children: { readonly cancelled: number; readonly terminated: number };
  /** The TerminateJob calls on jobs (not children), in the order sent. */
  readonly steps: readonly CancelStep[];
};

/**
 * What cancelling a described render does (pure): the jobs to stop, last
 * job first, so each job's reason is the user's rather than "dependent job
 * failed"; final jobs (and by default the upload) are left alone.
 */
export function planCancel(described: RenderDescription, options: CancelOptions = {}): CancelStep[] {
  return [...described.jobs]
    .reverse()
    .filter((job) => !isTerminal(job.status) && (options.includeUpload || job.action !== "upload_render_output"))
    .map((job) => ({
      name: job.name,
      jobId: job.jobId,
      effect: isInFlight(job.status) ? "terminate" : "cancel",
      ...(job.arraySize >= 2 ? { children: childCounts(job) } : {}),
    }));
}

function childCounts(job: BatchJobView): { queued: number; inFlight: number } {
  const summary = job.statusSummary;
  if (summary === undefined) return { queued: job.arraySize, inFlight: 0 };
  return { queued: summary.SUBMITTED + summary.PENDING + summary.RUNNABLE, inFlight: summary.STARTING + summary.RUNNING };
}

/**
 * Cancels a render: TerminateJob for every job not yet final (see the top of
 * this file), then for each array child found STARTING or RUNNING. Returns
 * what was stopped. `reason` is shown by DescribeJobs and `brender status`.
 */
export async function cancelRender(
  batch: BatchClient,
  described: RenderDescription,
  reason: string,
  options: CancelOptions = {},
): Promise<CancelSummary> {
  const why = oneLine(reason);
  const steps = planCancel(described, options);
  let childrenCancelled = 0;
  let childrenTerminated = 0;
  for (const step of steps) {
    const noPublish = described.jobs.find((job) => job.jobId === step.jobId)?.action === "upload_render_output";
    await batch.send(new TerminateJobCommand({ jobId: step.jobId, reason: noPublish ? oneLine(NO_PUBLISH_REASON_PREFIX + why) : why }));
    if (step.children === undefined) continue;
    childrenCancelled += step.children.queued;
    if (step.children.inFlight === 0) continue;
    const job = described.jobs.find((candidate) => candidate.jobId === step.jobId)!;
    const running = await childStatuses(batch, job.jobId, job.arraySize, { statuses: ["STARTING", "RUNNING"] });
    for (const child of running) {
      await batch.send(new TerminateJobCommand({ jobId: child.jobId, reason: why }));
    }
    childrenTerminated += running.length;
  }
  return {
    cancelled: steps.filter((step) => step.effect === "cancel").length,
    terminated: steps.filter((step) => step.effect === "terminate").length,
    untouched: described.jobs.length - steps.length,
    children: { cancelled: childrenCancelled, terminated: childrenTerminated },
    steps,
  };
}

function oneLine(reason: string): string {
  const text = reason.replace(/\s+/g, " ").trim() || "Cancelled by user";
  return text.length <= MAX_REASON_LENGTH ? text : `${text.slice(0, MAX_REASON_LENGTH - 1)}…`;
}
