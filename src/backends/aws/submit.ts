/**
 * Submits a render plan to AWS Batch: the inputs from toSubmitJobInputs, one
 * SubmitJob each, in order, with each `dependsOn` placeholder (a job name)
 * replaced by the id AWS returned for that job.
 *
 * AWS Batch limits that matter here (service quotas, not adjustable): a job
 * may depend on at most 20 jobs (ours depend on one), and SubmitJob is
 * limited to 50 calls a second per account (a render makes three). Throttled
 * calls are retried by the SDK's standard retry strategy.
 */
import { BatchClient, SubmitJobCommand, TerminateJobCommand } from "@aws-sdk/client-batch";
import type { PlannedJob } from "../../domain/render-plan.ts";
import { BrenderError, UserInputError } from "../../errors.ts";
import { toSubmitJobInputs, type BatchSubmitOptions, type SubmitJobInput } from "./batch-submission.ts";
import type { FarmResources } from "./farm-resources.ts";

export type SubmittedJob = { readonly name: string; readonly jobId: string; readonly jobArn: string };

/** The exact SubmitJob inputs submitToBatch would send, without calling AWS (`--dry-run`). */
export function dryRun(plan: readonly PlannedJob[], farm: FarmResources, options: BatchSubmitOptions): SubmitJobInput[] {
  return toSubmitJobInputs(plan, farm, options);
}

/**
 * Submits the plan's jobs in order and returns their names, ids and ARNs.
 * When one submission fails, the jobs already submitted are terminated (so
 * no half render runs) and the error is raised; AWS Batch's refusals
 * (ClientException: unknown queue, bad definition…) become a UserInputError.
 */
export async function submitToBatch(
  plan: readonly PlannedJob[],
  farm: FarmResources,
  options: BatchSubmitOptions,
  clients: { readonly batchClient: BatchClient },
): Promise<SubmittedJob[]> {
  const inputs = toSubmitJobInputs(plan, farm, options);
  const submitted: SubmittedJob[] = [];
  const idsByName = new Map<string, string>();
  for (const input of inputs) {
    const withIds = withRealDependencies(input, idsByName);
    try {
      const answer = await clients.batchClient.send(new SubmitJobCommand(withIds));
      if (!answer.jobId || !answer.jobArn) throw new Error(`AWS Batch accepted job "${input.jobName}" but returned no job id`);
      idsByName.set(input.jobName, answer.jobId);
      submitted.push({ name: input.jobName, jobId: answer.jobId, jobArn: answer.jobArn });
    } catch (error) {
      await terminateAll(clients.batchClient, submitted, input.jobName);
      throw explain(error, input.jobName, farm);
    }
  }
  return submitted;
}

function withRealDependencies(input: SubmitJobInput, idsByName: ReadonlyMap<string, string>): SubmitJobInput {
  const idOf = (name: string) => {
    const jobId = idsByName.get(name);
    // toSubmitJobInputs only lets a job depend on earlier ones, so this is a bug, not bad input.
    if (jobId === undefined) throw new Error(`Job "${input.jobName}" waits for "${name}", which was not submitted before it`);
    return jobId;
  };
  if (input.dependsOn === undefined) return input;
  return { ...input, dependsOn: input.dependsOn.map((dependency) => ({ ...dependency, jobId: idOf(dependency.jobId ?? "") })) };
}

async function terminateAll(batchClient: BatchClient, jobs: readonly SubmittedJob[], failed: string): Promise<void> {
  for (const job of jobs) {
    try {
      await batchClient.send(new TerminateJobCommand({ jobId: job.jobId, reason: `Brender: submitting ${failed} failed` }));
    } catch {
      // Best effort: the original error is what the user needs to see.
    }
  }
}

function explain(error: unknown, jobName: string, farm: FarmResources): unknown {
  if (error instanceof BrenderError || !(error instanceof Error)) return error;
  if (error.name === "ClientException") {
    return new UserInputError(
      `AWS Batch refused job "${jobName}" on farm "${farm.name}": ${error.message.replace(/\s+/g, " ").trim()} — check the farm with 'brender farm status ${farm.name}'.`,
      { cause: error },
    );
  }
  return error;
}
