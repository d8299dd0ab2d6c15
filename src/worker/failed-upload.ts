/**
 * Publishing a render whose upload job AWS Batch failed without running it.
 *
 * The upload job depends on the render job (`dependsOn`), so it starts only
 * once every render child succeeded; no container waits. When the copy or
 * the render fails or is cancelled, Batch fails the upload too, without
 * starting it. The farm's EventBridge rule (src/infra/constructs/
 * failed-render-publisher.ts) sees that upload job FAILED and submits the
 * publisher job, which runs `brender worker --after-failed-upload <jobId>`:
 * this module reads the failed upload job from Batch, takes its environment
 * (payload, store, e-mail settings) and the failure of its upstream jobs, and
 * the ordinary upload action then publishes what exists and reports the failure.
 */
import { BatchClient, DescribeJobsCommand, type JobDetail } from "@aws-sdk/client-batch";
import { JobFailedError } from "../errors.ts";

/** TerminateJob reasons that start with this stopped the upload on purpose (`cancel --include-upload`): nothing is published. */
export const NO_PUBLISH_REASON_PREFIX = "Cancelled without publishing: ";
/** How far up the dependency chain (upload -> render -> copy) failures are looked for. */
const MAX_DEPTH = 4;
/** DescribeJobs takes at most 100 ids per call. */
const DESCRIBE_BATCH = 100;

export type FailedUploadPlan =
  /** Publish: run upload_render_output with this environment. */
  | { readonly publish: true; readonly env: NodeJS.ProcessEnv }
  /** Nothing to do, and why (the upload ran itself, was cancelled on purpose, or has not failed). */
  | { readonly publish: false; readonly why: string };

/**
 * What to do for failed upload job `uploadJobId`: its environment laid over
 * `processEnv` (this job's own AWS_BATCH_* and credentials stay), with
 * BRENDER_UPSTREAM_FAILURE saying which upstream job failed and why.
 * Throws JobFailedError when Batch does not know the job.
 */
export async function planFailedUpload(uploadJobId: string, processEnv: NodeJS.ProcessEnv, batch: BatchClient): Promise<FailedUploadPlan> {
  const upload = (await describe(batch, [uploadJobId])).get(uploadJobId);
  if (upload === undefined) {
    throw new JobFailedError(`Upload job ${uploadJobId} is unknown to AWS Batch in this region: check the event rule's input and AWS_REGION.`);
  }
  if (upload.status !== "FAILED") return { publish: false, why: `upload job ${upload.jobName ?? uploadJobId} is ${upload.status}, not FAILED` };
  // EventBridge delivers at least once, and an upload that ran has published (or reported) itself.
  if (ran(upload)) return { publish: false, why: `upload job ${upload.jobName ?? uploadJobId} ran itself` };
  if (upload.statusReason?.startsWith(NO_PUBLISH_REASON_PREFIX)) {
    return { publish: false, why: `upload job ${upload.jobName ?? uploadJobId} was cancelled without publishing` };
  }
  // The upload's own variables (payload, store, e-mail settings); this job's AWS_BATCH_* ids stay its own.
  const own = Object.fromEntries(
    (upload.container?.environment ?? []).flatMap((variable) =>
      variable.name && !variable.name.startsWith("AWS_BATCH_") ? [[variable.name, variable.value ?? ""]] : [],
    ),
  );
  const failures = await upstreamFailures(batch, upload);
  const reason = failures.length > 0 ? failures.map(({ job }) => `${job.jobName ?? job.jobId}: ${failureReason(job)}`).join("; ") : `${upload.jobName ?? uploadJobId}: ${failureReason(upload)}`;
  return {
    publish: true,
    env: {
      ...processEnv,
      ...own,
      JOB_ACTION_TYPE: "upload_render_output",
      BRENDER_UPSTREAM_FAILURE: reason,
      ...(failures[0]?.job.jobId ? { BRENDER_UPSTREAM_FAILED_JOB_ID: failures[0].job.jobId } : {}),
    },
  };
}

/**
 * The upstream jobs that really failed: a failed job whose own dependencies
 * all succeeded (it ran, or was stopped with a reason of its own), rather
 * than one Batch failed because a dependency did. So a failed copy is named
 * as the copy's failure, not as the render's.
 */
async function upstreamFailures(batch: BatchClient, job: JobDetail): Promise<{ job: JobDetail }[]> {
  const found: { job: JobDetail }[] = [];
  let failed = await failedAmong(batch, dependencyIds(job));
  for (let depth = 0; depth < MAX_DEPTH && failed.length > 0; depth += 1) {
    const next: JobDetail[] = [];
    for (const detail of failed) {
      const cause = await failedAmong(batch, dependencyIds(detail));
      if (cause.length > 0) next.push(...cause);
      else found.push({ job: detail });
    }
    failed = next;
  }
  return found;
}

function dependencyIds(job: JobDetail): string[] {
  return (job.dependsOn ?? []).flatMap((dependency) => (dependency.jobId ? [dependency.jobId] : []));
}

async function failedAmong(batch: BatchClient, ids: readonly string[]): Promise<JobDetail[]> {
  if (ids.length === 0) return [];
  const details = await describe(batch, ids);
  return ids.flatMap((id) => {
    const detail = details.get(id);
    return detail?.status === "FAILED" ? [detail] : [];
  });
}

/** Whether a job ever started: an attempt, or a start time (AWS omits startedAt for a job that never started). */
function ran(job: JobDetail): boolean {
  return (job.attempts?.length ?? 0) > 0 || (job.startedAt ?? 0) > 0;
}

/** DescribeJobs for any number of ids (100 a call), by job id. */
export async function describe(client: BatchClient, ids: readonly string[]): Promise<Map<string, JobDetail>> {
  const details = new Map<string, JobDetail>();
  for (let start = 0; start < ids.length; start += DESCRIBE_BATCH) {
    const answer = await client.send(new DescribeJobsCommand({ jobs: ids.slice(start, start + DESCRIBE_BATCH) }));
    for (const job of answer.jobs ?? []) if (job.jobId) details.set(job.jobId, job);
  }
  return details;
}

/** Batch's own words when it has them; for an array parent without a reason, how many children failed. */
export function failureReason(detail: JobDetail): string {
  if (detail.statusReason) return detail.statusReason;
  const container = detail.container;
  if (container?.reason) return container.reason;
  const summary = detail.arrayProperties?.statusSummary;
  if (summary && detail.arrayProperties?.size) return `${summary["FAILED"] ?? 0} of ${detail.arrayProperties.size} children failed`;
  if (container?.exitCode !== undefined) return `exited with code ${container.exitCode}`;
  return "failed";
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
