/** The job store's public vocabulary: what callers pass in, what they get back, and the defaults seeded on open. */
import type { JobActionType } from "../../../domain/job-actions.ts";
import type { DependencyType } from "../job-state.ts";
import type { JobStatus, StatusSummary } from "../../../domain/job-status.ts";

export const DEFAULT_COMPUTE_ENVIRONMENT = "local";
export const DEFAULT_JOB_QUEUE = "default";
export const DEFAULT_JOB_DEFINITION = "brender-worker";

export type JobStoreOptions = {
  /** The clock, in milliseconds since the epoch; tests move it to expire leases and deadlines. */
  readonly now?: () => number;
  /** Sets the default compute environment's capacity on open (it is seeded with this machine's core count). */
  readonly maxVcpus?: number;
  /** Largest array job accepted; AWS Batch's 10,000 unless raised (benchmarks). */
  readonly maxArraySize?: number;
  /** When set, each attempt gets a log file under it: <logDir>/<jobId>/<index>-<attempt>.log. */
  readonly logDir?: string;
  /** How long to wait for another process's write lock before failing; default 10 s. */
  readonly busyTimeoutMs?: number;
  /** On a full disk, open the database read-only (for commands that only read) instead of failing. */
  readonly readOnlyWhenFull?: boolean;
};

/** How hard to try a job: absent values come from its job definition. */
export type JobTuning = {
  /** Tries per child; the definition's when absent. */
  readonly attempts?: number;
  /** Per-attempt limit; the definition's when absent. */
  readonly timeoutSeconds?: number;
  /** Higher runs first within a queue. */
  readonly priority?: number;
};

/** Where a job runs and how it is labelled, shared by single submissions and whole plans. */
export type JobPlacement = JobTuning & {
  readonly queue?: string;
  /** A definition's name (its newest revision) or "name:revision". */
  readonly definition?: string;
  readonly renderId?: string;
  readonly tags?: Readonly<Record<string, string>>;
};

export type JobDependency = { readonly jobId: string; readonly type?: DependencyType };

/** One job to submit, in AWS Batch's terms. */
export type SubmitJobInput = {
  readonly name: string;
  readonly action: JobActionType;
  /** 1 (the default) for a single job; 2..maxArraySize for an array job. */
  readonly arraySize?: number;
  readonly environment?: Readonly<Record<string, string>>;
  readonly dependsOn?: readonly JobDependency[];
  /** Run once the dependencies have ended even if one failed (the upload job reports the failure). */
  readonly runOnDependencyFailure?: boolean;
} & JobPlacement;

/** Settings for one job of a plan, by the job's name. */
export type PlanJobOptions = JobTuning & {
  /** This job's definition (e.g. a small one for copy/upload), instead of the plan's. */
  readonly definition?: string;
  readonly runOnDependencyFailure?: boolean;
  /** Names of the dependencies to follow child by child (array to array of the same size). */
  readonly nToN?: readonly string[];
};

export type SubmitPlanOptions = JobPlacement & {
  readonly jobs?: Readonly<Record<string, PlanJobOptions>>;
  /** The render this plan is a submission of: its record (renders table) is written in the same transaction. Needs `renderId`. */
  readonly render?: { readonly project: string; readonly settings: string };
};

/** A child handed to a runner by claimNext. `attempt` identifies this try in every later call. */
export type ClaimedChild = {
  readonly jobId: string;
  readonly jobName: string;
  readonly index: number;
  readonly arraySize: number;
  readonly attempt: number;
  readonly action: JobActionType;
  /** The job's environment plus JOB_ACTION_TYPE, AWS_BATCH_* (array index and size for arrays) and the definition's BLENDER_EXECUTABLE. */
  readonly environment: Record<string, string>;
  readonly timeoutSeconds: number | undefined;
  readonly leaseExpiresAt: number;
  readonly logFile: string | undefined;
  readonly renderId: string | undefined;
};

export type ChildRef = { readonly jobId: string; readonly index: number; readonly attempt: number };

export type ExpiredAttempt = ChildRef & { readonly ownerId: string; readonly timeoutSeconds: number; readonly reason: string };

export type JobView = {
  readonly id: string;
  readonly name: string;
  readonly queue: string;
  readonly definition: string;
  readonly definitionRevision: number;
  readonly action: JobActionType;
  readonly environment: Readonly<Record<string, string>>;
  readonly arraySize: number;
  readonly dependsOn: readonly { readonly jobId: string; readonly type: DependencyType }[];
  readonly attempts: number;
  readonly timeoutSeconds: number | undefined;
  readonly priority: number;
  readonly createdAt: number;
  readonly startedAt: number | undefined;
  readonly stoppedAt: number | undefined;
  readonly status: JobStatus;
  readonly statusReason: string | undefined;
  readonly statusSummary: StatusSummary;
  readonly runOnDependencyFailure: boolean;
  readonly renderId: string | undefined;
  readonly tags: Readonly<Record<string, string>>;
};

export type ChildView = {
  readonly jobId: string;
  readonly index: number;
  readonly status: JobStatus;
  readonly statusReason: string | undefined;
  /** Tries that counted against the job's attempts. */
  readonly attemptsUsed: number;
  /** Number of the latest try (lost tries included); 0 before the first claim. */
  readonly attempt: number;
  readonly ownerId: string | undefined;
  readonly leaseExpiresAt: number | undefined;
  readonly deadlineAt: number | undefined;
  readonly terminateRequested: boolean;
  readonly startedAt: number | undefined;
  readonly stoppedAt: number | undefined;
};

export type AttemptView = {
  readonly jobId: string;
  readonly index: number;
  readonly attempt: number;
  readonly ownerId: string;
  /** False for a try lost with its process: it did not use one of the job's attempts. */
  readonly counted: boolean;
  readonly claimedAt: number;
  readonly startedAt: number | undefined;
  readonly stoppedAt: number | undefined;
  readonly deadlineAt: number | undefined;
  readonly exitCode: number | undefined;
  readonly reason: string | undefined;
  readonly logFile: string | undefined;
};

export type JobDefinitionInput = {
  readonly name: string;
  readonly blenderExecutable?: string;
  readonly vcpus?: number;
  readonly memoryMiB?: number;
  readonly attempts?: number;
  readonly timeoutSeconds?: number;
};
export type JobDefinitionView = Required<Omit<JobDefinitionInput, "blenderExecutable" | "timeoutSeconds">> & {
  readonly revision: number;
  readonly blenderExecutable: string | undefined;
  readonly timeoutSeconds: number | undefined;
};
export type QueueState = "ENABLED" | "DISABLED";
export type JobQueueView = { readonly name: string; readonly priority: number; readonly state: QueueState; readonly computeEnvironment: string };
export type ComputeEnvironmentView = { readonly name: string; readonly maxVcpus: number; readonly state: QueueState };

export type FinishResult = { readonly accepted: boolean; readonly status: JobStatus };

/** A job queue to create or update (putJobQueue); absent values take the defaults. */
export type JobQueueInput = {
  readonly name: string;
  readonly priority?: number;
  readonly state?: QueueState;
  readonly computeEnvironment?: string;
};

/** Which jobs listJobs returns. */
export type JobFilter = { readonly status?: JobStatus; readonly renderId?: string; readonly limit?: number };

/** Which children of a job listChildren returns. */
export type ChildFilter = { readonly status?: JobStatus; readonly offset?: number; readonly limit?: number };
