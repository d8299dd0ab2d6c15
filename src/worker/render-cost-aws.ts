/**
 * An AWS render's actual cost (see render-cost.ts): Batch's start and stop
 * times of every attempt of the jobs this upload depends on, priced on the
 * hosts the attempts reported. Apart so that a local upload never loads it.
 */
import type { BatchClient, JobDetail } from "@aws-sdk/client-batch";
import { actualCostOfJobs, awsActualRecord, byIndex, queueKindOf, type AttemptHosts, type TimedJob } from "../cost/aws-actual-cost.ts";
import { RENDER_GPUS_VARIABLE, RENDER_QUEUE_VARIABLE, RENDER_VCPUS_VARIABLE } from "../backends/aws/batch-submission.ts";
import { describeJobs } from "../backends/aws/monitor.ts";

/**
 * The upload depends on the render job, which depends on the copy (the plan's
 * order, render-plan.ts): this job's direct dependencies are the render, the
 * ones further up the copy. A publisher job (after a failed upload) starts
 * from the upstream job that failed instead.
 */
export async function awsActual(batch: BatchClient, hosts: AttemptHosts, env: NodeJS.ProcessEnv) {
  const ownId = env.AWS_BATCH_JOB_ID!.trim();
  const own = (await describeJobs(batch, [ownId])).get(ownId);
  if (own === undefined) throw new Error(`Batch does not know this job, ${ownId}`);
  const upstream = env.BRENDER_UPSTREAM_FAILED_JOB_ID?.trim();
  let renderIds = dependencies(own);
  if (renderIds.length === 0 && upstream) renderIds = [upstream];
  if (renderIds.length === 0) throw new Error("this job depends on no render job");
  const renderJobs = [...(await describeJobs(batch, renderIds)).values()];
  const ioJobs: JobDetail[] = [own, ...(await describeJobs(batch, renderJobs.flatMap(dependencies))).values()];
  const renderChildren: TimedJob[] = [];
  for (const job of renderJobs) renderChildren.push(...(await childrenOf(batch, job)));
  // The queue the submission named; else the one Batch ran the render on (its name ends in the kind).
  const queue = queueKindOf(env[RENDER_QUEUE_VARIABLE]?.trim() ?? "") ?? queueKindOf(renderJobs[0]?.jobQueue ?? "") ?? "spot-cpu";
  const cost = actualCostOfJobs({
    queue,
    child: { vcpus: positive(env[RENDER_VCPUS_VARIABLE], 2), gpus: Number(env[RENDER_GPUS_VARIABLE]) || 0 },
    region: env.AWS_REGION?.trim() || env.AWS_DEFAULT_REGION?.trim() || "us-east-1",
    renderChildren,
    ioJobs: ioJobs.map(timed),
    hosts,
  });
  return awsActualRecord(cost, hosts);
}

function dependencies(job: JobDetail): string[] {
  return (job.dependsOn ?? []).flatMap((dependency) => (dependency.jobId ? [dependency.jobId] : []));
}

/** An array job's children (`<id>:<index>`), or the job itself. */
async function childrenOf(batch: BatchClient, job: JobDetail): Promise<TimedJob[]> {
  const size = job.arrayProperties?.size ?? 0;
  if (size < 2 || !job.jobId) return [timed(job)];
  const ids = Array.from({ length: size }, (_, index) => `${job.jobId}:${index}`);
  const details = await describeJobs(batch, ids);
  return byIndex(ids.flatMap((id, index) => {
    const detail = details.get(id);
    return detail ? [{ ...timed(detail), index }] : [];
  }));
}

function timed(job: JobDetail): TimedJob {
  return {
    ...(job.startedAt ? { startedAt: job.startedAt } : {}),
    ...(job.stoppedAt ? { stoppedAt: job.stoppedAt } : {}),
    attempts: (job.attempts ?? []).map((attempt) => ({
      ...(attempt.startedAt ? { startedAt: attempt.startedAt } : {}),
      ...(attempt.stoppedAt ? { stoppedAt: attempt.stoppedAt } : {}),
    })),
  };
}

function positive(text: string | undefined, fallback: number): number {
  const value = Number(text);
  return Number.isFinite(value) && value > 0 ? value : fallback;
}
