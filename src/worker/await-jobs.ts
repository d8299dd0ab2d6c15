/**
 * The upload job's wait for its upstream jobs on AWS Batch. Batch fails a job
 * whose dependency failed without ever starting it, but the upload must run
 * either way (it publishes what exists and sends the failure e-mail), so the
 * AWS submission leaves out its `dependsOn` and lists the jobs in
 * BRENDER_AWAIT_JOBS instead; the job polls DescribeJobs until they ended.
 */
import { BatchClient, DescribeJobsCommand, type JobDetail } from "@aws-sdk/client-batch";
import { JobFailedError, UserInputError } from "../errors.ts";

/** One job to wait for: the name people know it by and its AWS Batch id. */
export type AwaitedJob = { readonly name: string; readonly jobId: string };

export type AwaitOptions = {
  readonly batchClient: BatchClient;
  /** Time between DescribeJobs rounds; default 15 s (DescribeJobs is throttled per account). */
  readonly pollMs?: number;
  /** Aborting stops the wait with a JobFailedError (the job was terminated). */
  readonly signal?: AbortSignal;
  /** Called after each round that left jobs unfinished, with their names (for a log line). */
  readonly onWaiting?: (pending: readonly string[]) => void;
};

export type AwaitResult = {
  /** "<name>: <statusReason>" for every failed job, in the listed order, joined by "; "; absent when all succeeded. */
  readonly failed?: string;
  /** Ids of the failed jobs, for links to their logs. */
  readonly failedJobIds?: readonly string[];
};

export const DEFAULT_POLL_MS = 15_000;
/** DescribeJobs takes at most 100 ids per call. */
const DESCRIBE_BATCH = 100;
/** A job id DescribeJobs keeps not knowing (a typo, or a job older than Batch keeps) will never finish. */
const MISSING_ROUNDS_LIMIT = 3;
/** Consecutive DescribeJobs failures (after the SDK's own retries) before giving up. */
const ERROR_ROUNDS_LIMIT = 5;

/** Parses "name=jobId,name=jobId" (BRENDER_AWAIT_JOBS). Throws UserInputError naming a malformed pair. */
export function parseAwaitJobs(text: string): AwaitedJob[] {
  return text
    .split(",")
    .map((pair) => pair.trim())
    .filter((pair) => pair !== "")
    .map((pair) => {
      const match = /^([^=\s]+)=([^=\s]+)$/.exec(pair);
      if (!match) {
        throw new UserInputError(`BRENDER_AWAIT_JOBS has "${pair}", which is not a name=jobId pair; set it like "r1-copy=3f2a…,r1-render=9c1d…"`);
      }
      return { name: match[1]!, jobId: match[2]! };
    });
}

/**
 * Waits until every job in BRENDER_AWAIT_JOBS is SUCCEEDED or FAILED and says
 * which failed and why. An array job counts by its parent, whose status is
 * final only once every child's is. Returns at once when the variable is unset.
 * Throws JobFailedError when aborted, when a job stays unknown to Batch, or
 * when DescribeJobs keeps failing (so the job never uploads a render that is
 * still running).
 */
export async function awaitUpstreamJobs(env: { readonly BRENDER_AWAIT_JOBS?: string | undefined }, options: AwaitOptions): Promise<AwaitResult> {
  const jobs = env.BRENDER_AWAIT_JOBS ? parseAwaitJobs(env.BRENDER_AWAIT_JOBS) : [];
  const pollMs = options.pollMs ?? DEFAULT_POLL_MS;
  const ended = new Map<string, JobDetail>();
  const missingRounds = new Map<string, number>();
  let errorRounds = 0;

  for (;;) {
    throwIfAborted(options.signal, jobs, ended);
    const pending = jobs.filter((job) => !ended.has(job.jobId));
    if (pending.length === 0) break;
    try {
      const details = await describe(options.batchClient, pending.map((job) => job.jobId), options.signal);
      errorRounds = 0;
      for (const job of pending) {
        const detail = details.get(job.jobId);
        if (detail === undefined) {
          const rounds = (missingRounds.get(job.jobId) ?? 0) + 1;
          missingRounds.set(job.jobId, rounds);
          if (rounds >= MISSING_ROUNDS_LIMIT) {
            throw new JobFailedError(
              `Upstream job ${job.name} (${job.jobId}) is unknown to AWS Batch in this region: check BRENDER_AWAIT_JOBS and AWS_REGION.`,
            );
          }
        } else if (detail.status === "SUCCEEDED" || detail.status === "FAILED") {
          ended.set(job.jobId, detail);
        }
      }
    } catch (error) {
      if (error instanceof JobFailedError) throw error;
      throwIfAborted(options.signal, jobs, ended);
      errorRounds += 1;
      if (errorRounds >= ERROR_ROUNDS_LIMIT) {
        throw new JobFailedError(
          `Could not read the state of the upstream jobs (${jobs.map((job) => job.name).join(", ")}) from AWS Batch: ${oneLine(error)}; check that the job role allows batch:DescribeJobs and that AWS_REGION is the farm's region.`,
          { cause: error },
        );
      }
    }
    const still = jobs.filter((job) => !ended.has(job.jobId));
    if (still.length === 0) break;
    options.onWaiting?.(still.map((job) => job.name));
    await sleep(pollMs, options.signal);
  }

  const failed = jobs.map((job) => ({ job, detail: ended.get(job.jobId)! })).filter(({ detail }) => detail.status === "FAILED");
  if (failed.length === 0) return {};
  return {
    failed: failed.map(({ job, detail }) => `${job.name}: ${failureReason(detail)}`).join("; "),
    failedJobIds: failed.map(({ job }) => job.jobId),
  };
}

async function describe(client: BatchClient, ids: readonly string[], signal: AbortSignal | undefined): Promise<Map<string, JobDetail>> {
  const details = new Map<string, JobDetail>();
  for (let start = 0; start < ids.length; start += DESCRIBE_BATCH) {
    const answer = await client.send(new DescribeJobsCommand({ jobs: ids.slice(start, start + DESCRIBE_BATCH) }), { abortSignal: signal });
    for (const job of answer.jobs ?? []) if (job.jobId) details.set(job.jobId, job);
  }
  return details;
}

/** Batch's own words when it has them; for an array parent without a reason, how many children failed. */
function failureReason(detail: JobDetail): string {
  if (detail.statusReason) return detail.statusReason;
  const container = detail.container;
  if (container?.reason) return container.reason;
  const summary = detail.arrayProperties?.statusSummary;
  if (summary && detail.arrayProperties?.size) return `${summary["FAILED"] ?? 0} of ${detail.arrayProperties.size} children failed`;
  if (container?.exitCode !== undefined) return `exited with code ${container.exitCode}`;
  return "failed";
}

function throwIfAborted(signal: AbortSignal | undefined, jobs: readonly AwaitedJob[], ended: ReadonlyMap<string, JobDetail>): void {
  if (!signal?.aborted) return;
  const pending = jobs.filter((job) => !ended.has(job.jobId)).map((job) => job.name);
  throw new JobFailedError(`Stopped while waiting for upstream jobs${pending.length ? ` (${pending.join(", ")})` : ""}: the job was terminated.`);
}

function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener("abort", done, { once: true });
  });
}

function oneLine(error: unknown): string {
  const text = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  return text.replace(/\s+/g, " ").trim();
}

/**
 * A Batch client for the job's own environment: region from AWS_REGION,
 * endpoint from AWS_ENDPOINT_URL_BATCH / AWS_ENDPOINT_URL, and the keys in
 * `env` when it has them (it may not be this process's environment), else
 * the standard chain (the job role on AWS).
 */
export function batchClientFromEnv(env: NodeJS.ProcessEnv): BatchClient {
  const region = env.AWS_REGION?.trim() || env.AWS_DEFAULT_REGION?.trim();
  const endpoint = env.AWS_ENDPOINT_URL_BATCH?.trim() || env.AWS_ENDPOINT_URL?.trim();
  const accessKeyId = env.AWS_ACCESS_KEY_ID?.trim();
  const secretAccessKey = env.AWS_SECRET_ACCESS_KEY?.trim();
  const sessionToken = env.AWS_SESSION_TOKEN?.trim();
  return new BatchClient({
    ...(region ? { region } : {}),
    ...(endpoint ? { endpoint } : {}),
    ...(accessKeyId && secretAccessKey ? { credentials: { accessKeyId, secretAccessKey, ...(sessionToken ? { sessionToken } : {}) } } : {}),
  });
}
