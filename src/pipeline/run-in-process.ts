import type { Logger } from "pino";
import type { PlannedJob } from "../domain/render-plan.ts";
import { runWorker } from "../worker/main.ts";

export type JobRunResult = { readonly job: string; readonly child?: number; readonly exitCode: number; readonly error?: string };

/**
 * Runs a plan's jobs one after another in this process, children of an array
 * job in order. Used by `brender demo`; the local farm (SQLite scheduler,
 * retries, parallel children) replaces it for real renders. The upload job
 * always runs, so a failed render is still reported and its frames kept.
 */
export async function runPlanInProcess(
  plan: readonly PlannedJob[],
  baseEnv: NodeJS.ProcessEnv,
  options: { stdout?: (line: string) => void; signal?: AbortSignal; log?: Logger } = {},
): Promise<JobRunResult[]> {
  const results: JobRunResult[] = [];
  let failed = false;
  for (const job of plan) {
    if (failed && job.action !== "upload_render_output") continue;
    for (let child = 0; child < job.arraySize; child += 1) {
      const env: NodeJS.ProcessEnv = {
        ...baseEnv,
        ...job.environment,
        JOB_ACTION_TYPE: job.action,
        ...(job.arraySize > 1 ? { AWS_BATCH_JOB_ARRAY_INDEX: String(child), AWS_BATCH_JOB_ARRAY_SIZE: String(job.arraySize) } : {}),
      };
      const { exitCode, error } = await runWorker({ env, stdout: options.stdout, signal: options.signal, log: options.log });
      results.push({ job: job.name, ...(job.arraySize > 1 ? { child } : {}), exitCode, error });
      if (exitCode !== 0) failed = true;
    }
  }
  return results;
}
