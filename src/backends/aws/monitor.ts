/**
 * What a render on AWS Batch is doing, from DescribeJobs and ListJobs: each
 * job's status, reason, times and attempts, an array job's children per
 * status, and the render's overall status folded from its jobs.
 *
 * Status names are AWS Batch's own, which the local farm copies
 * (job-state.ts), so both backends print and fold them alike. Note that an
 * array parent is never RUNNING on AWS: it stays PENDING while its children
 * run, so "how far" is read from its statusSummary.
 */
import {
  DescribeJobsCommand,
  ListJobsCommand,
  type AttemptDetail,
  type BatchClient,
  type JobDetail,
  type JobSummary,
} from "@aws-sdk/client-batch";
import { UserInputError } from "../../errors.ts";
import type { JobActionType } from "../../domain/job-actions.ts";
import { emptySummary, isJobStatus, isTerminal, JOB_STATUSES, type JobStatus, type StatusSummary } from "../../domain/job-status.ts";
import type { RecordedJob } from "./render-record.ts";

/** DescribeJobs takes at most 100 job ids per call. */
export const DESCRIBE_JOBS_LIMIT = 100;

/** One try of a job (or child) to run: AWS keeps every finished attempt; the one in progress is added from the job's container. */
export type AttemptView = {
  readonly exitCode?: number;
  /** Why it ended: the container's reason (e.g. OutOfMemoryError…), else the attempt's ("Host EC2 … terminated."). */
  readonly reason?: string;
  readonly logStreamName?: string;
  /** Epoch milliseconds, as AWS gives them. */
  readonly startedAt?: number;
  readonly stoppedAt?: number;
};

/** One child of an array job, in detail (DescribeJobs of `<jobId>:<index>`). */
export type ChildView = {
  readonly index: number;
  readonly jobId: string;
  readonly status: JobStatus;
  readonly statusReason?: string;
  readonly startedAt?: number;
  readonly stoppedAt?: number;
  readonly attempts: readonly AttemptView[];
};

/** One child of an array job, in brief (ListJobs). */
export type ChildStatus = {
  readonly index: number;
  readonly jobId: string;
  readonly status: JobStatus;
  readonly statusReason?: string;
  readonly exitCode?: number;
  readonly startedAt?: number;
  readonly stoppedAt?: number;
};

export type BatchJobView = {
  readonly name: string;
  readonly action: JobActionType;
  readonly jobId: string;
  readonly status: JobStatus;
  readonly statusReason?: string;
  readonly arraySize: number;
  /** Array jobs: how many children are in each status. */
  readonly statusSummary?: StatusSummary;
  readonly startedAt?: number;
  readonly stoppedAt?: number;
  readonly attempts: readonly AttemptView[];
  /** Array jobs, when described with { children: true }: every child, by index. */
  readonly children?: readonly ChildView[];
};

export type RenderStatus = "RUNNING" | "SUCCEEDED" | "FAILED";

export type RenderDescription = {
  readonly status: RenderStatus;
  /** Set when FAILED: "<job name>: <why>" of the first failed job in plan order. */
  readonly reason?: string;
  /** In plan order. */
  readonly jobs: readonly BatchJobView[];
};

export type DescribeRenderOptions = {
  /** Also describe every child of array jobs (one DescribeJobs call per 100 children): what logs need. */
  readonly children?: boolean;
};

/**
 * Describes a render's jobs (DescribeJobs, at most 100 ids a call) and folds
 * their statuses into the render's (see renderStatusOf). Throws
 * UserInputError when AWS Batch no longer knows a job: it forgets jobs some
 * time after they end.
 */
export async function describeRender(
  batch: BatchClient,
  record: { readonly renderId?: string; readonly jobs: readonly RecordedJob[] },
  options: DescribeRenderOptions = {},
): Promise<RenderDescription> {
  const details = await describeJobs(batch, record.jobs.map((job) => job.jobId));
  const jobs: BatchJobView[] = [];
  for (const job of record.jobs) {
    const detail = details.get(job.jobId);
    if (detail === undefined) {
      const render = record.renderId ? `render ${record.renderId}` : "the render";
      throw new UserInputError(
        `AWS Batch no longer knows job ${job.jobId} ("${job.name}") of ${render}: Batch forgets jobs some time after they end, so only its outputs remain ('brender download ID DIR').`,
      );
    }
    const view = toJobView(job, detail);
    jobs.push(options.children && job.arraySize >= 2 ? { ...view, children: await describeChildren(batch, job.jobId, job.arraySize) } : view);
  }
  return { ...renderStatusOf(jobs), jobs };
}

/**
 * The render's status from its jobs (pure): RUNNING while any job is not
 * final, SUCCEEDED when all succeeded, else FAILED with the first failed
 * job's name and reason.
 */
export function renderStatusOf(jobs: readonly Pick<BatchJobView, "name" | "status" | "statusReason" | "attempts">[]): {
  status: RenderStatus;
  reason?: string;
} {
  if (jobs.some((job) => !isTerminal(job.status))) return { status: "RUNNING" };
  const failed = jobs.find((job) => job.status === "FAILED");
  if (failed === undefined) return { status: "SUCCEEDED" };
  return { status: "FAILED", reason: `${failed.name}: ${failureReason(failed)}` };
}

function failureReason(job: Pick<BatchJobView, "statusReason" | "attempts">): string {
  if (job.statusReason) return job.statusReason;
  const last = job.attempts.at(-1);
  if (last?.reason) return last.reason;
  if (last?.exitCode !== undefined) return `exited with code ${last.exitCode}`;
  return "failed";
}

/** One recorded job and AWS's detail of it as a BatchJobView (pure). */
export function toJobView(job: RecordedJob, detail: JobDetail): BatchJobView {
  const summary = detail.arrayProperties?.statusSummary;
  return {
    name: job.name,
    action: job.action,
    jobId: job.jobId,
    status: statusOf(detail.status, job.jobId),
    ...optional("statusReason", detail.statusReason),
    arraySize: detail.arrayProperties?.size ?? job.arraySize,
    ...(summary !== undefined ? { statusSummary: toStatusSummary(summary) } : {}),
    ...optional("startedAt", detail.startedAt),
    ...optional("stoppedAt", detail.stoppedAt),
    attempts: attemptsOf(detail),
  };
}

/** AWS's statusSummary (a loose string -> number map) with every status present. */
export function toStatusSummary(summary: Record<string, number>): StatusSummary {
  const result = emptySummary();
  for (const [status, count] of Object.entries(summary)) {
    if (isJobStatus(status)) result[status] = count;
  }
  return result;
}

/**
 * The finished attempts AWS lists, then the attempt in progress: AWS lists an
 * attempt only once it ended, while the running container's log stream is on
 * the job itself.
 */
export function attemptsOf(detail: Pick<JobDetail, "attempts" | "container" | "status">): AttemptView[] {
  const attempts = (detail.attempts ?? []).map(toAttemptView);
  const current = detail.container?.logStreamName;
  const inProgress = detail.status === "STARTING" || detail.status === "RUNNING";
  if (current && inProgress && !attempts.some((attempt) => attempt.logStreamName === current)) {
    attempts.push({ logStreamName: current });
  }
  return attempts;
}

function toAttemptView(attempt: AttemptDetail): AttemptView {
  return {
    ...optional("exitCode", attempt.container?.exitCode),
    ...optional("reason", attempt.container?.reason ?? attempt.statusReason),
    ...optional("logStreamName", attempt.container?.logStreamName),
    ...optional("startedAt", attempt.startedAt),
    ...optional("stoppedAt", attempt.stoppedAt),
  };
}

/** DescribeJobs for any number of ids, 100 a call; the answer keyed by job id (unknown ids are absent). */
export async function describeJobs(batch: BatchClient, jobIds: readonly string[]): Promise<Map<string, JobDetail>> {
  const details = new Map<string, JobDetail>();
  const unique = [...new Set(jobIds)];
  for (let start = 0; start < unique.length; start += DESCRIBE_JOBS_LIMIT) {
    const answer = await batch.send(new DescribeJobsCommand({ jobs: unique.slice(start, start + DESCRIBE_JOBS_LIMIT) }));
    for (const detail of answer.jobs ?? []) {
      if (detail.jobId !== undefined) details.set(detail.jobId, detail);
    }
  }
  return details;
}

/**
 * Every child of an array job in detail, with attempts and log streams
 * (DescribeJobs of `<jobId>:<index>`, 100 a call), by index. A child AWS does
 * not return (not created yet) is left out.
 */
export async function describeChildren(batch: BatchClient, jobId: string, arraySize: number): Promise<ChildView[]> {
  if (arraySize < 2) return [];
  const ids = Array.from({ length: arraySize }, (_, index) => `${jobId}:${index}`);
  const details = await describeJobs(batch, ids);
  const children: ChildView[] = [];
  ids.forEach((id, index) => {
    const detail = details.get(id);
    if (detail === undefined) return;
    children.push({
      index,
      jobId: id,
      status: statusOf(detail.status, id),
      ...optional("statusReason", detail.statusReason),
      ...optional("startedAt", detail.startedAt),
      ...optional("stoppedAt", detail.stoppedAt),
      attempts: attemptsOf(detail),
    });
  });
  return children;
}

/**
 * The children of an array job in brief, by index: ListJobs(arrayJobId) once
 * per status (ListJobs shows only RUNNING children unless asked for a status,
 * and its filters do not apply to children), following nextToken.
 */
export async function childStatuses(
  batch: BatchClient,
  renderJobId: string,
  arraySize: number,
  options: { readonly statuses?: readonly JobStatus[] } = {},
): Promise<ChildStatus[]> {
  if (arraySize < 2) return [];
  const children = new Map<number, ChildStatus>();
  for (const jobStatus of options.statuses ?? JOB_STATUSES) {
    let nextToken: string | undefined;
    do {
      const answer = await batch.send(new ListJobsCommand({ arrayJobId: renderJobId, jobStatus, ...(nextToken ? { nextToken } : {}) }));
      for (const summary of answer.jobSummaryList ?? []) {
        const child = toChildStatus(summary, renderJobId);
        // A child seen twice moved between two calls; the later answer is the fresher one.
        if (child !== undefined) children.set(child.index, child);
      }
      nextToken = answer.nextToken;
    } while (nextToken);
  }
  return [...children.values()].sort((a, b) => a.index - b.index);
}

function toChildStatus(summary: JobSummary, parentId: string): ChildStatus | undefined {
  if (summary.jobId === undefined) return undefined;
  const index = summary.arrayProperties?.index ?? childIndex(summary.jobId, parentId);
  if (index === undefined) return undefined;
  return {
    index,
    jobId: summary.jobId,
    status: statusOf(summary.status, summary.jobId),
    ...optional("statusReason", summary.statusReason),
    ...optional("exitCode", summary.container?.exitCode),
    ...optional("startedAt", summary.startedAt),
    ...optional("stoppedAt", summary.stoppedAt),
  };
}

/** "<parent>:<index>" -> index. */
function childIndex(jobId: string, parentId: string): number | undefined {
  if (!jobId.startsWith(`${parentId}:`)) return undefined;
  const index = Number(jobId.slice(parentId.length + 1));
  return Number.isSafeInteger(index) && index >= 0 ? index : undefined;
}

function statusOf(status: string | undefined, jobId: string): JobStatus {
  // AWS documents exactly these seven; anything else means the API changed under us.
  if (isJobStatus(status)) return status;
  throw new Error(`AWS Batch reported status ${JSON.stringify(status)} for job ${jobId}, which Brender does not know`);
}

/** `{ key: value }` when the value is present, `{}` otherwise (exactOptionalPropertyTypes-friendly spreading). */
function optional<K extends string, V>(key: K, value: V | undefined | null): { [P in K]?: V } {
  return value === undefined || value === null ? {} : ({ [key]: value } as { [P in K]?: V });
}
