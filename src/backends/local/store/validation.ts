/**
 * Checks on what callers hand the job store, before anything is written.
 * Each throws a UserInputError naming the bad value and the allowed range.
 */
import { UserInputError } from "../../../errors.ts";
import { JOB_ACTION_TYPES, type JobActionType } from "../../../domain/job-actions.ts";
import { MAX_ATTEMPTS, MAX_TIMEOUT_SECONDS } from "./limits.ts";
import { DEFAULT_COMPUTE_ENVIRONMENT, type JobDefinitionInput, type JobQueueInput, type QueueState } from "./types.ts";

const NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$/;
const ENVIRONMENT_NAME_PATTERN = /^[A-Za-z_][A-Za-z0-9_]*$/;

export { MAX_ATTEMPTS, MAX_PRIORITY, MAX_TIMEOUT_SECONDS } from "./limits.ts";

/** Accepts a name of a job, queue or definition as AWS Batch does: 1 to 128 of letters, digits, "-", "_", "." and ":". */
export function checkName(name: string, what: string): void {
  if (!NAME_PATTERN.test(name)) {
    throw new UserInputError(`${what} "${name}" is not allowed; use 1 to 128 letters, digits, "-", "_", "." or ":", starting with a letter or digit`);
  }
}

/** Returns `value` when it is a whole number from `min` to `max`. */
export function checkWhole(value: number, what: string, min: number, max: number): number {
  if (!Number.isSafeInteger(value) || value < min || value > max) {
    throw new UserInputError(`${what} ${value} is not allowed; use a whole number from ${min} to ${max}`);
  }
  return value;
}

/** Returns a copy of a job's environment once every variable has a shell-safe name and a text value. */
export function checkEnvironment(environment: Readonly<Record<string, string>>, jobName: string): Record<string, string> {
  for (const [key, value] of Object.entries(environment)) {
    if (!ENVIRONMENT_NAME_PATTERN.test(key)) {
      throw new UserInputError(`job "${jobName}" has environment variable "${key}"; names are letters, digits and "_", not starting with a digit`);
    }
    if (typeof value !== "string") throw new UserInputError(`job "${jobName}" environment variable ${key} must be text`);
  }
  return { ...environment };
}

/** Returns `action` when the worker knows it. */
export function checkAction(action: string, jobName: string): JobActionType {
  if (!(JOB_ACTION_TYPES as readonly string[]).includes(action)) {
    throw new UserInputError(`job "${jobName}" has action "${action}"; use one of ${JOB_ACTION_TYPES.join(", ")}`);
  }
  return action as JobActionType;
}

/** A job definition's settings with the defaults filled in (1 vCPU, 2 GiB, one attempt, no timeout). */
export type JobDefinitionSettings = {
  readonly vcpus: number;
  readonly memoryMiB: number;
  readonly attempts: number;
  readonly timeoutSeconds: number | undefined;
};

/** Checks a job definition to register and fills in its defaults. */
export function checkJobDefinition(input: JobDefinitionInput): JobDefinitionSettings {
  checkName(input.name, "job definition name");
  return {
    vcpus: checkWhole(input.vcpus ?? 1, "vcpus", 1, 4096),
    memoryMiB: checkWhole(input.memoryMiB ?? 2048, "memoryMiB", 1, 16_777_216),
    attempts: checkWhole(input.attempts ?? 1, "attempts", 1, MAX_ATTEMPTS),
    timeoutSeconds: input.timeoutSeconds === undefined ? undefined : checkWhole(input.timeoutSeconds, "timeoutSeconds", 1, MAX_TIMEOUT_SECONDS),
  };
}

/** Checks a job queue to create or update and fills in its defaults (priority 1, ENABLED, the default compute environment). */
export function checkJobQueue(queue: JobQueueInput): { readonly priority: number; readonly state: QueueState; readonly computeEnvironment: string } {
  checkName(queue.name, "job queue name");
  return {
    priority: checkWhole(queue.priority ?? 1, "queue priority", 0, 1000),
    state: queue.state ?? "ENABLED",
    computeEnvironment: queue.computeEnvironment ?? DEFAULT_COMPUTE_ENVIRONMENT,
  };
}

/** Splits a job definition reference, "name" (its newest revision) or "name:revision". */
export function parseDefinitionReference(reference: string): { readonly name: string; readonly revision: number | undefined } {
  const match = /^(.*?)(?::(\d+))?$/.exec(reference);
  const revision = match?.[2];
  return { name: match?.[1] ?? reference, revision: revision === undefined ? undefined : Number(revision) };
}
