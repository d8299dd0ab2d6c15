/**
 * The job statuses both backends share: AWS Batch's seven, which the local
 * farm copies so one plan runs and reads the same on both. Pure; the rules of
 * how a status may change live with the local farm (backends/local/job-state.ts).
 */

export const JOB_STATUSES = ["SUBMITTED", "PENDING", "RUNNABLE", "STARTING", "RUNNING", "SUCCEEDED", "FAILED"] as const;
export type JobStatus = (typeof JOB_STATUSES)[number];

/** How many children are in each status, like AWS's arrayProperties.statusSummary. */
export type StatusSummary = Record<JobStatus, number>;

export function isTerminal(status: JobStatus): boolean {
  return status === "SUCCEEDED" || status === "FAILED";
}

/** Children that hold a slot of the compute environment. */
export function isInFlight(status: JobStatus): boolean {
  return status === "STARTING" || status === "RUNNING";
}

export function isJobStatus(value: unknown): value is JobStatus {
  return typeof value === "string" && (JOB_STATUSES as readonly string[]).includes(value);
}

export function emptySummary(): StatusSummary {
  return { SUBMITTED: 0, PENDING: 0, RUNNABLE: 0, STARTING: 0, RUNNING: 0, SUCCEEDED: 0, FAILED: 0 };
}

/** Counts the children per status. */
export function summarize(statuses: Iterable<JobStatus>): StatusSummary {
  const summary = emptySummary();
  for (const status of statuses) summary[status] += 1;
  return summary;
}
