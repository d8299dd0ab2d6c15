/**
 * What the render actually cost, worked out by its upload job for the
 * manifest and the notifications, next to the estimate the render was
 * submitted with. On AWS: Batch's own start and stop times of every attempt
 * (DescribeJobs of the jobs the upload depends on), priced on the host each
 * attempt reported. On the local farm: the CPU time Blender itself reported
 * (getrusage, user + system of every thread), summed over children and attempts.
 * Best effort: what cannot be known is said in `actualError`, never a failure.
 */
import { availableParallelism } from "node:os";
import type { BatchClient, JobDetail } from "@aws-sdk/client-batch";
import { withEarlierRuns, type RenderCostRecord } from "../domain/cost/cost-record.ts";
import type { RenderJobPayload } from "../domain/render-payload.ts";
import { actualCostOfJobs, awsActualRecord, byIndex, queueKindOf, type AttemptHosts, type TimedJob } from "../cost/aws-actual-cost.ts";
import { RENDER_GPUS_VARIABLE, RENDER_QUEUE_VARIABLE, RENDER_VCPUS_VARIABLE } from "../backends/aws/batch-submission.ts";
import { describeJobs } from "../backends/aws/monitor.ts";
import { batchClientFromEnv } from "./failed-upload.ts";
import type { RenderSummary } from "./render-summary.ts";

/** On AWS Batch proper (AWS_BATCH_CE_NAME is set by Batch, not by the local farm). */
export function onAwsBatch(env: NodeJS.ProcessEnv): boolean {
  return Boolean(env.AWS_BATCH_JOB_ID?.trim() && env.AWS_BATCH_CE_NAME?.trim());
}

/**
 * The render's cost for its manifest: the estimate it was submitted with, and
 * this run's actual figures plus those of the earlier runs (`earlier`: the
 * manifest a retry finds), or why they are unknown.
 */
export async function renderCostOf(
  payload: RenderJobPayload,
  summary: RenderSummary,
  finishedAt: string,
  env: NodeJS.ProcessEnv,
  earlier?: RenderCostRecord,
): Promise<RenderCostRecord | undefined> {
  const estimate = payload.estimate ? { estimate: payload.estimate } : {};
  if (payload.type === "python") return payload.estimate ? estimate : undefined;
  const now = onAwsBatch(env) ? await awsActualOrWhy(env, summary.hosts) : localActual(summary, finishedAt);
  return { ...estimate, ...(now.actual ? { actual: withEarlierRuns(now.actual, earlier?.actual) } : earlier?.actual ? { actual: earlier.actual } : {}), ...(now.actualError ? { actualError: now.actualError } : {}) };
}

async function awsActualOrWhy(env: NodeJS.ProcessEnv, hosts: AttemptHosts): Promise<Pick<RenderCostRecord, "actual" | "actualError">> {
  const client = batchClientFromEnv(env);
  try {
    return { actual: await awsActual(client, hosts, env) };
  } catch (error) {
    return { actualError: `AWS Batch's job times could not be read (${(error as Error).message})` };
  } finally {
    client.destroy();
  }
}

function localActual(summary: RenderSummary, finishedAt: string): Pick<RenderCostRecord, "actual" | "actualError"> {
  if (summary.cpuSeconds === undefined) return { actualError: "no Blender child reported its CPU time (every frame reused, or Blender stopped before its first frame)" };
  const wallSeconds = summary.startedAt ? Math.max(0, (Date.parse(finishedAt) - Date.parse(summary.startedAt)) / 1000) : 0;
  return {
    actual: {
      kind: "local",
      cpuHours: Math.round((summary.cpuSeconds / 3600) * 1e6) / 1e6,
      wallSeconds: Math.round(wallSeconds * 10) / 10,
      cores: availableParallelism(),
      method:
        "the CPU time of every Blender child and attempt (user + system of all its threads, from the kernel's accounting via getrusage, reported after each frame), summed",
    },
  };
}

/**
 * The upload depends on the render job, which depends on the copy (the plan's
 * order, render-plan.ts): this job's direct dependencies are the render, the
 * ones further up the copy. A publisher job (after a failed upload) starts
 * from the upstream job that failed instead.
 */
async function awsActual(batch: BatchClient, hosts: AttemptHosts, env: NodeJS.ProcessEnv) {
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
