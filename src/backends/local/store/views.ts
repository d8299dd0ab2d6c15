/**
 * Rows of the job database turned into what the store hands out. Pure: the
 * caller reads the rows, these only map them.
 */
import type { JobActionType } from "../../../domain/job-actions.ts";
import type { DependencyType } from "../job-state.ts";
import type { JobStatus, StatusSummary } from "../../../domain/job-status.ts";
import type { ChildRow, JobRow, Row } from "./rows.ts";
import type { AttemptView, ChildView, ClaimedChild, ComputeEnvironmentView, JobDefinitionView, JobQueueView, JobView, QueueState } from "./types.ts";

/** A nullable column as text, SQL NULL as undefined. */
export function optionalString(value: unknown): string | undefined {
  return value === null || value === undefined ? undefined : String(value);
}

/** A nullable column as a number, SQL NULL as undefined. */
export function optionalNumber(value: unknown): number | undefined {
  return value === null || value === undefined ? undefined : Number(value);
}

function queueState(value: unknown): QueueState {
  return value === "DISABLED" ? "DISABLED" : "ENABLED";
}

/** A row of job_definitions. */
export function definitionFromRow(row: Row): JobDefinitionView {
  return {
    name: String(row.name),
    revision: Number(row.revision),
    blenderExecutable: optionalString(row.blender_executable),
    vcpus: Number(row.vcpus),
    memoryMiB: Number(row.memory_mib),
    attempts: Number(row.attempts),
    timeoutSeconds: optionalNumber(row.timeout_seconds),
  };
}

/** A row of job_queues. */
export function queueFromRow(row: Row): JobQueueView {
  return {
    name: String(row.name),
    priority: Number(row.priority),
    state: queueState(row.state),
    computeEnvironment: String(row.compute_environment),
  };
}

/** A row of compute_environments. */
export function computeEnvironmentFromRow(row: Row): ComputeEnvironmentView {
  return { name: String(row.name), maxVcpus: Number(row.max_vcpus), state: queueState(row.state) };
}

/** A job's row with its dependencies and per-status child counts, read separately. */
export function jobFromRow(
  row: JobRow,
  dependsOn: readonly { readonly jobId: string; readonly type: DependencyType }[],
  statusSummary: StatusSummary,
): JobView {
  return {
    id: row.id,
    name: row.name,
    queue: row.queue,
    definition: row.definition,
    definitionRevision: row.definition_revision,
    action: row.action as JobActionType,
    environment: JSON.parse(row.environment) as Record<string, string>,
    arraySize: row.array_size,
    dependsOn,
    attempts: row.attempts,
    timeoutSeconds: row.timeout_seconds ?? undefined,
    priority: row.priority,
    createdAt: row.created_at,
    startedAt: row.started_at ?? undefined,
    stoppedAt: row.stopped_at ?? undefined,
    status: row.status as JobStatus,
    statusReason: row.status_reason ?? undefined,
    statusSummary,
    runOnDependencyFailure: row.run_on_dependency_failure === 1,
    renderId: row.render_id ?? undefined,
    tags: JSON.parse(row.tags) as Record<string, string>,
  };
}

/** A row of children. */
export function childFromRow(row: ChildRow): ChildView {
  return {
    jobId: row.job_id,
    index: row.idx,
    status: row.status as JobStatus,
    statusReason: row.status_reason ?? undefined,
    attemptsUsed: row.attempts_used,
    attempt: row.attempt_seq,
    ownerId: row.owner ?? undefined,
    leaseExpiresAt: row.lease_expires_at ?? undefined,
    deadlineAt: row.deadline_at ?? undefined,
    terminateRequested: row.terminate_requested === 1,
    startedAt: row.started_at ?? undefined,
    stoppedAt: row.stopped_at ?? undefined,
  };
}

/** A row of attempts. */
export function attemptFromRow(row: Row): AttemptView {
  return {
    jobId: String(row.job_id),
    index: Number(row.idx),
    attempt: Number(row.attempt),
    ownerId: String(row.owner),
    counted: row.counted === 1,
    claimedAt: Number(row.created_at),
    startedAt: optionalNumber(row.started_at),
    stoppedAt: optionalNumber(row.stopped_at),
    deadlineAt: optionalNumber(row.deadline_at),
    exitCode: optionalNumber(row.exit_code),
    reason: optionalString(row.reason),
    logFile: optionalString(row.log_file),
  };
}

/** One try of a child just claimed: which one, and when its lease runs out. */
export type ClaimedAttempt = {
  readonly index: number;
  readonly attempt: number;
  /** Tries of this child that counted before this one. */
  readonly attemptsUsed: number;
  readonly leaseExpiresAt: number;
  readonly logFile: string | undefined;
};

/**
 * What a runner gets for a claimed child. Its environment is what AWS Batch
 * would give the container: the definition's Blender, then the job's own
 * variables, then JOB_ACTION_TYPE and AWS_BATCH_* (which the job cannot
 * override).
 */
export function claimedChild(job: JobRow, claim: ClaimedAttempt): ClaimedChild {
  const { index } = claim;
  const isArray = job.array_size > 1;
  const environment: Record<string, string> = {
    ...(job.blender_executable ? { BLENDER_EXECUTABLE: job.blender_executable } : {}),
    ...(JSON.parse(job.environment) as Record<string, string>),
    JOB_ACTION_TYPE: job.action,
    AWS_BATCH_JOB_ID: isArray ? `${job.id}:${index}` : job.id,
    AWS_BATCH_JOB_ATTEMPT: String(claim.attemptsUsed + 1),
    AWS_BATCH_JQ_NAME: job.queue,
    ...(isArray ? { AWS_BATCH_JOB_ARRAY_INDEX: String(index), AWS_BATCH_JOB_ARRAY_SIZE: String(job.array_size) } : {}),
  };
  return {
    jobId: job.id,
    jobName: job.name,
    index,
    arraySize: job.array_size,
    attempt: claim.attempt,
    action: job.action as JobActionType,
    environment,
    timeoutSeconds: job.timeout_seconds ?? undefined,
    leaseExpiresAt: claim.leaseExpiresAt,
    logFile: claim.logFile,
    renderId: job.render_id ?? undefined,
  };
}
