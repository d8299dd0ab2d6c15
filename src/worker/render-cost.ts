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
import { withEarlierRuns, type RenderCostRecord } from "../domain/cost/cost-record.ts";
import type { RenderJobPayload } from "../domain/render-payload.ts";
import type { AttemptHosts } from "../cost/aws-actual-cost.ts";
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
  // Loaded here: the Batch client and the price tables would add a fifth of a second to every local upload job.
  const [{ batchClientFromEnv }, { awsActual }] = await Promise.all([import("./failed-upload.ts"), import("./render-cost-aws.ts")]);
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
