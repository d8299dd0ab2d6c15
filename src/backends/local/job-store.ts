import { randomUUID } from "node:crypto";
import { mkdirSync } from "node:fs";
import { availableParallelism } from "node:os";
import { dirname, join } from "node:path";
import { DatabaseSync, type StatementSync } from "node:sqlite";
import { UserInputError } from "../../errors.ts";
import { MAX_ARRAY_SIZE } from "../../domain/frames.ts";
import type { PlannedJob } from "../../domain/render-plan.ts";
import { JOB_ACTION_TYPES, type JobActionType } from "../../worker/env.ts";
import {
  CANCELLED_REASON,
  JOB_STATUSES,
  TERMINATED_REASON,
  WORKER_LOST_REASON,
  assertTransition,
  attemptOutcome,
  dependencyVerdict,
  deriveParentStatus,
  emptySummary,
  isInFlight,
  isJobStatus,
  isTerminal,
  lostLeaseOutcome,
  type AttemptEnd,
  type DependencyState,
  type DependencyType,
  type DependencyVerdict,
  type JobStatus,
  type StatusSummary,
} from "./job-state.ts";
import { migrate } from "./migrations.ts";

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

type Row = Record<string, unknown>;

type JobRow = {
  id: string;
  seq: number;
  name: string;
  queue: string;
  definition: string;
  definition_revision: number;
  action: string;
  environment: string;
  array_size: number;
  attempts: number;
  timeout_seconds: number | null;
  vcpus: number;
  blender_executable: string | null;
  priority: number;
  created_at: number;
  started_at: number | null;
  stopped_at: number | null;
  status: string;
  status_reason: string | null;
  run_on_dependency_failure: number;
  render_id: string | null;
  tags: string;
  cancel_reason: string | null;
  terminate_reason: string | null;
};

type ChildRow = {
  job_id: string;
  idx: number;
  status: string;
  status_reason: string | null;
  attempts_used: number;
  attempt_seq: number;
  owner: string | null;
  lease_ms: number | null;
  lease_expires_at: number | null;
  deadline_at: number | null;
  terminate_requested: number;
  started_at: number | null;
  stopped_at: number | null;
};

const LIVE = "('SUBMITTED', 'PENDING', 'RUNNABLE')";
const IN_FLIGHT = "('STARTING', 'RUNNING')";
const NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$/;

/**
 * Opens (creating when missing) the job database at `dbPath`, brings its
 * schema up to date and seeds the default compute environment, queue and job
 * definition. Several processes may open the same file: WAL mode lets
 * readers run beside the one writer, and writers wait their turn.
 */
export function openJobStore(dbPath: string, options: JobStoreOptions = {}): JobStore {
  if (dbPath !== ":memory:") mkdirSync(dirname(dbPath), { recursive: true });
  const db = new DatabaseSync(dbPath, { timeout: options.busyTimeoutMs ?? 10_000 });
  try {
    db.exec("PRAGMA journal_mode = WAL");
    // WAL + NORMAL survives a killed process (only an OS crash may lose the last commits) and keeps commits fast.
    db.exec("PRAGMA synchronous = NORMAL");
    db.exec("PRAGMA foreign_keys = ON");
    migrate(db);
    return new JobStore(db, options);
  } catch (error) {
    db.close();
    throw error;
  }
}

/**
 * The local farm's job store: AWS Batch's model (definitions, queues, a
 * compute environment, jobs, array children, attempts) in one SQLite file.
 * Every change is one transaction, so a process killed at any point leaves a
 * consistent database; leases bring back the children it was running.
 */
export class JobStore {
  readonly #db: DatabaseSync;
  readonly #now: () => number;
  readonly #maxArraySize: number;
  readonly #logDir: string | undefined;
  readonly #statements = new Map<string, StatementSync>();

  constructor(db: DatabaseSync, options: JobStoreOptions) {
    this.#db = db;
    this.#now = options.now ?? Date.now;
    this.#maxArraySize = options.maxArraySize ?? MAX_ARRAY_SIZE;
    this.#logDir = options.logDir;
    this.#transaction(() => {
      this.#sql(
        "INSERT OR IGNORE INTO compute_environments (name, max_vcpus) VALUES (?, ?)",
      ).run(DEFAULT_COMPUTE_ENVIRONMENT, availableParallelism());
      this.#sql(
        "INSERT OR IGNORE INTO job_queues (name, priority, state, compute_environment) VALUES (?, 1, 'ENABLED', ?)",
      ).run(DEFAULT_JOB_QUEUE, DEFAULT_COMPUTE_ENVIRONMENT);
      this.#sql(
        "INSERT OR IGNORE INTO job_definitions (name, revision, vcpus, memory_mib, attempts) VALUES (?, 1, 1, 2048, 1)",
      ).run(DEFAULT_JOB_DEFINITION);
    });
    if (options.maxVcpus !== undefined) this.setMaxVcpus(options.maxVcpus);
  }

  /** Closes the database. The store is unusable afterwards. */
  close(): void {
    this.#statements.clear();
    this.#db.close();
  }

  // ---- definitions, queues, compute environment -------------------------

  /** Registers a new revision of a job definition (AWS's RegisterJobDefinition) and returns it. */
  registerJobDefinition(input: JobDefinitionInput): JobDefinitionView {
    checkName(input.name, "job definition name");
    const vcpus = checkWhole(input.vcpus ?? 1, "vcpus", 1, 4096);
    const memoryMiB = checkWhole(input.memoryMiB ?? 2048, "memoryMiB", 1, 16_777_216);
    const attempts = checkWhole(input.attempts ?? 1, "attempts", 1, 10);
    const timeoutSeconds = input.timeoutSeconds === undefined ? undefined : checkWhole(input.timeoutSeconds, "timeoutSeconds", 1, 1_209_600);
    return this.#transaction(() => {
      const last = this.#sql("SELECT MAX(revision) AS revision FROM job_definitions WHERE name = ?").get(input.name) as { revision: number | null };
      const revision = (last.revision ?? 0) + 1;
      this.#sql(
        "INSERT INTO job_definitions (name, revision, blender_executable, vcpus, memory_mib, attempts, timeout_seconds) VALUES (?, ?, ?, ?, ?, ?, ?)",
      ).run(input.name, revision, input.blenderExecutable ?? null, vcpus, memoryMiB, attempts, timeoutSeconds ?? null);
      return { name: input.name, revision, blenderExecutable: input.blenderExecutable, vcpus, memoryMiB, attempts, timeoutSeconds };
    });
  }

  /** Every revision of every job definition, newest revision first per name. */
  listJobDefinitions(): JobDefinitionView[] {
    return (this.#sql("SELECT * FROM job_definitions ORDER BY name, revision DESC").all() as Row[]).map(definitionFromRow);
  }

  /** Creates or updates a job queue (priority: higher is served first; DISABLED queues accept and dispatch nothing). */
  putJobQueue(queue: { readonly name: string; readonly priority?: number; readonly state?: QueueState; readonly computeEnvironment?: string }): JobQueueView {
    checkName(queue.name, "job queue name");
    const priority = checkWhole(queue.priority ?? 1, "queue priority", 0, 1000);
    const state = queue.state ?? "ENABLED";
    const computeEnvironment = queue.computeEnvironment ?? DEFAULT_COMPUTE_ENVIRONMENT;
    return this.#transaction(() => {
      if (!this.#sql("SELECT 1 FROM compute_environments WHERE name = ?").get(computeEnvironment)) {
        throw new UserInputError(`compute environment "${computeEnvironment}" does not exist; use "${DEFAULT_COMPUTE_ENVIRONMENT}"`);
      }
      this.#sql(
        `INSERT INTO job_queues (name, priority, state, compute_environment) VALUES (?, ?, ?, ?)
         ON CONFLICT (name) DO UPDATE SET priority = excluded.priority, state = excluded.state, compute_environment = excluded.compute_environment`,
      ).run(queue.name, priority, state, computeEnvironment);
      return { name: queue.name, priority, state, computeEnvironment };
    });
  }

  listJobQueues(): JobQueueView[] {
    return (this.#sql("SELECT * FROM job_queues ORDER BY priority DESC, name").all() as Row[]).map((row) => ({
      name: String(row.name),
      priority: Number(row.priority),
      state: row.state === "DISABLED" ? "DISABLED" : "ENABLED",
      computeEnvironment: String(row.compute_environment),
    }));
  }

  getComputeEnvironment(name: string = DEFAULT_COMPUTE_ENVIRONMENT): ComputeEnvironmentView | undefined {
    const row = this.#sql("SELECT * FROM compute_environments WHERE name = ?").get(name) as Row | undefined;
    if (!row) return undefined;
    return { name: String(row.name), maxVcpus: Number(row.max_vcpus), state: row.state === "DISABLED" ? "DISABLED" : "ENABLED" };
  }

  /** Sets how many vCPUs of in-flight children a compute environment allows at once. */
  setMaxVcpus(maxVcpus: number, name: string = DEFAULT_COMPUTE_ENVIRONMENT): void {
    checkWhole(maxVcpus, "maxVcpus", 1, 100_000);
    const { changes } = this.#sql("UPDATE compute_environments SET max_vcpus = ? WHERE name = ?").run(maxVcpus, name);
    if (changes === 0) throw new UserInputError(`compute environment "${name}" does not exist; use "${DEFAULT_COMPUTE_ENVIRONMENT}"`);
  }

  // ---- submitting ---------------------------------------------------------

  /** Submits one job (AWS's SubmitJob) and returns its id. */
  submitJob(input: SubmitJobInput): string {
    return this.#transaction(() => this.#insertJob(input));
  }

  /**
   * Submits a whole plan in one transaction and returns the job ids in plan
   * order. A plan job's `dependsOn` names an earlier job of the plan (or the
   * id of a job already in the store).
   */
  submitPlan(plan: readonly PlannedJob[], options: SubmitPlanOptions = {}): string[] {
    const ids = new Map<string, string>();
    return this.#transaction(() =>
      plan.map((job) => {
        if (ids.has(job.name)) throw new UserInputError(`plan has two jobs named "${job.name}"; give every job of a plan its own name`);
        const own = options.jobs?.[job.name] ?? {};
        const nToN = new Set(own.nToN ?? []);
        const dependsOn = job.dependsOn.map((dependency): JobDependency => {
          const jobId = ids.get(dependency) ?? (this.#jobRow(dependency) ? dependency : undefined);
          if (jobId === undefined) {
            throw new UserInputError(`plan job "${job.name}" depends on "${dependency}", which is neither an earlier job of the plan nor a job id; list jobs before the jobs that need them`);
          }
          return { jobId, type: nToN.has(dependency) ? "N_TO_N" : "SEQUENTIAL" };
        });
        const id = this.#insertJob({
          name: job.name,
          action: job.action,
          arraySize: job.arraySize,
          environment: job.environment,
          dependsOn,
          queue: options.queue,
          definition: own.definition ?? options.definition,
          attempts: own.attempts ?? options.attempts,
          timeoutSeconds: own.timeoutSeconds ?? options.timeoutSeconds,
          priority: own.priority ?? options.priority,
          renderId: options.renderId,
          tags: options.tags,
          runOnDependencyFailure: own.runOnDependencyFailure ?? false,
        });
        ids.set(job.name, id);
        return id;
      }),
    );
  }

  #insertJob(input: SubmitJobInput): string {
    checkName(input.name, "job name");
    if (!(JOB_ACTION_TYPES as readonly string[]).includes(input.action)) {
      throw new UserInputError(`job "${input.name}" has action "${input.action}"; use one of ${JOB_ACTION_TYPES.join(", ")}`);
    }
    const arraySize = checkWhole(input.arraySize ?? 1, `array size of job "${input.name}"`, 1, this.#maxArraySize);
    const queueName = input.queue ?? DEFAULT_JOB_QUEUE;
    const queue = this.#sql("SELECT state FROM job_queues WHERE name = ?").get(queueName) as { state: string } | undefined;
    if (!queue) throw new UserInputError(`job queue "${queueName}" does not exist; use "${DEFAULT_JOB_QUEUE}" or create it first`);
    if (queue.state !== "ENABLED") throw new UserInputError(`job queue "${queueName}" is DISABLED and accepts no jobs; enable it or use another queue`);
    const definition = this.#definition(input.definition ?? DEFAULT_JOB_DEFINITION);
    const attempts = checkWhole(input.attempts ?? definition.attempts, `attempts of job "${input.name}"`, 1, 10);
    const timeoutSource = input.timeoutSeconds ?? definition.timeoutSeconds;
    const timeoutSeconds = timeoutSource === undefined ? undefined : checkWhole(timeoutSource, `timeout of job "${input.name}"`, 1, 1_209_600);
    const priority = checkWhole(input.priority ?? 0, `priority of job "${input.name}"`, -1_000_000, 1_000_000);
    const environment = checkEnvironment(input.environment ?? {}, input.name);

    const dependencies = input.dependsOn ?? [];
    const seen = new Set<string>();
    for (const dependency of dependencies) {
      const type = dependency.type ?? "SEQUENTIAL";
      if (seen.has(dependency.jobId)) throw new UserInputError(`job "${input.name}" lists dependency "${dependency.jobId}" twice; list it once`);
      seen.add(dependency.jobId);
      const parent = this.#jobRow(dependency.jobId);
      if (!parent) throw new UserInputError(`job "${input.name}" depends on job id "${dependency.jobId}", which does not exist; submit it first`);
      if (type === "N_TO_N" && (arraySize < 2 || parent.array_size !== arraySize)) {
        throw new UserInputError(
          `job "${input.name}" (array size ${arraySize}) has an N_TO_N dependency on "${parent.name}" (array size ${parent.array_size}); N_TO_N needs two array jobs of the same size, use SEQUENTIAL otherwise`,
        );
      }
    }

    const id = randomUUID();
    const now = this.#now();
    const status: JobStatus = dependencies.length === 0 ? "RUNNABLE" : "PENDING";
    const seq = (this.#sql("SELECT COALESCE(MAX(seq), 0) + 1 AS seq FROM jobs").get() as { seq: number }).seq;
    this.#sql(
      `INSERT INTO jobs (id, seq, name, queue, definition, definition_revision, action, environment, array_size, attempts,
         timeout_seconds, vcpus, blender_executable, priority, created_at, status, run_on_dependency_failure, render_id, tags)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    ).run(
      id, seq, input.name, queueName, definition.name, definition.revision, input.action, JSON.stringify(environment), arraySize, attempts,
      timeoutSeconds ?? null, definition.vcpus, definition.blenderExecutable ?? null, priority, now, status,
      input.runOnDependencyFailure ? 1 : 0, input.renderId ?? null, JSON.stringify(input.tags ?? {}),
    );
    const addDependency = this.#sql("INSERT INTO job_dependencies (job_id, depends_on, type) VALUES (?, ?, ?)");
    for (const dependency of dependencies) addDependency.run(id, dependency.jobId, dependency.type ?? "SEQUENTIAL");
    const addCount = this.#sql("INSERT INTO job_status_counts (job_id, status, count) VALUES (?, ?, ?)");
    for (const each of JOB_STATUSES) addCount.run(id, each, each === status ? arraySize : 0);
    const addChild = this.#sql("INSERT INTO children (job_id, idx, status) VALUES (?, ?, ?)");
    for (let index = 0; index < arraySize; index += 1) addChild.run(id, index, status);
    if (dependencies.length > 0) this.#evaluateDependencies(id, undefined);
    return id;
  }

  #definition(reference: string): JobDefinitionView {
    const match = /^(.*?)(?::(\d+))?$/.exec(reference);
    const name = match?.[1] ?? reference;
    const revision = match?.[2];
    const row = (
      revision === undefined
        ? this.#sql("SELECT * FROM job_definitions WHERE name = ? ORDER BY revision DESC LIMIT 1").get(name)
        : this.#sql("SELECT * FROM job_definitions WHERE name = ? AND revision = ?").get(name, Number(revision))
    ) as Row | undefined;
    if (!row) throw new UserInputError(`job definition "${reference}" does not exist; use "${DEFAULT_JOB_DEFINITION}" or register it first`);
    return definitionFromRow(row);
  }

  // ---- dependencies and derived status ------------------------------------

  /**
   * Moves waiting children of `jobId` on when their dependencies allow:
   * RUNNABLE when satisfied, FAILED when one failed. `indexes` limits the
   * check to some children (an N_TO_N dependency's child just ended).
   */
  #evaluateDependencies(jobId: string, indexes: readonly number[] | undefined): void {
    const job = this.#jobRow(jobId);
    if (!job) return;
    const runAnyway = job.run_on_dependency_failure === 1;
    const dependencies = this.#sql(
      "SELECT d.depends_on AS id, d.type AS type, j.name AS name, j.status AS status FROM job_dependencies d JOIN jobs j ON j.id = d.depends_on WHERE d.job_id = ?",
    ).all(jobId) as { id: string; type: DependencyType; name: string; status: JobStatus }[];
    const wholeJob = dependencies.filter((dependency) => dependency.type === "SEQUENTIAL");
    const childByChild = dependencies.filter((dependency) => dependency.type === "N_TO_N");
    const now = this.#now();
    const apply = (verdict: DependencyVerdict, index: number | undefined): void => {
      if (verdict.kind === "wait") return;
      const where = `job_id = ? AND status IN ('SUBMITTED', 'PENDING')${index === undefined ? "" : " AND idx = ?"}`;
      const args = index === undefined ? [jobId] : [jobId, index];
      if (verdict.kind === "ready") {
        this.#sql(`UPDATE children SET status = 'RUNNABLE' WHERE ${where}`).run(...args);
      } else {
        this.#sql(`UPDATE children SET status = 'FAILED', status_reason = ?, stopped_at = ? WHERE ${where}`).run(verdict.reason, now, ...args);
        if (index !== undefined) this.#childEnded(jobId, index);
      }
    };
    const jobVerdict = dependencyVerdict(wholeJob, runAnyway);
    if (childByChild.length === 0 || jobVerdict.kind === "fail") {
      apply(jobVerdict, undefined);
      if (jobVerdict.kind === "fail") this.#childrenEndedInBulk(jobId);
    } else {
      const waiting =
        indexes ??
        (this.#sql("SELECT idx FROM children WHERE job_id = ? AND status IN ('SUBMITTED', 'PENDING') ORDER BY idx").all(jobId) as { idx: number }[]).map(
          (row) => row.idx,
        );
      const childStatus = this.#sql("SELECT status FROM children WHERE job_id = ? AND idx = ?");
      for (const index of waiting) {
        const states: DependencyState[] = [...wholeJob];
        for (const dependency of childByChild) {
          const row = childStatus.get(dependency.id, index) as { status: JobStatus } | undefined;
          states.push({ name: dependency.name, status: row?.status ?? "FAILED" });
        }
        apply(dependencyVerdict(states, runAnyway), index);
      }
    }
    this.#refreshJob(jobId);
  }

  /** A child ended: children that follow it N_TO_N may now move. */
  #childEnded(jobId: string, index: number): void {
    const dependents = this.#sql("SELECT job_id FROM job_dependencies WHERE depends_on = ? AND type = 'N_TO_N'").all(jobId) as { job_id: string }[];
    for (const dependent of dependents) this.#evaluateDependencies(dependent.job_id, [index]);
  }

  /** Many children of a job ended at once (cancel, failed dependency): re-check every N_TO_N follower. */
  #childrenEndedInBulk(jobId: string): void {
    const dependents = this.#sql("SELECT job_id FROM job_dependencies WHERE depends_on = ? AND type = 'N_TO_N'").all(jobId) as { job_id: string }[];
    for (const dependent of dependents) this.#evaluateDependencies(dependent.job_id, undefined);
  }

  #summary(jobId: string): StatusSummary {
    const summary = emptySummary();
    for (const row of this.#sql("SELECT status, count FROM job_status_counts WHERE job_id = ?").all(jobId) as { status: string; count: number }[]) {
      if (isJobStatus(row.status)) summary[row.status] = row.count;
    }
    return summary;
  }

  /** Recomputes a job's status from its children; when it ends, jobs waiting on it move. */
  #refreshJob(jobId: string): void {
    const job = this.#jobRow(jobId);
    if (!job) return;
    const summary = this.#summary(jobId);
    const status = deriveParentStatus(summary);
    if (status === job.status) return;
    const now = this.#now();
    const reason = status === "FAILED" ? this.#failureReason(job, summary) : null;
    this.#sql(
      `UPDATE jobs SET status = ?, status_reason = ?,
         started_at = CASE WHEN started_at IS NULL AND ? THEN ? ELSE started_at END,
         stopped_at = CASE WHEN ? THEN ? ELSE NULL END
       WHERE id = ?`,
    ).run(status, reason, isInFlight(status) ? 1 : 0, now, isTerminal(status) ? 1 : 0, now, jobId);
    if (isTerminal(status)) {
      const dependents = this.#sql("SELECT job_id FROM job_dependencies WHERE depends_on = ? AND type = 'SEQUENTIAL'").all(jobId) as { job_id: string }[];
      for (const dependent of dependents) this.#evaluateDependencies(dependent.job_id, undefined);
    }
  }

  #failureReason(job: JobRow, summary: StatusSummary): string {
    if (job.terminate_reason) return job.terminate_reason;
    if (job.cancel_reason) return job.cancel_reason;
    const reasons = this.#sql("SELECT DISTINCT status_reason AS reason FROM children WHERE job_id = ? AND status = 'FAILED' LIMIT 2").all(job.id) as {
      reason: string | null;
    }[];
    const first = this.#sql("SELECT idx, status_reason FROM children WHERE job_id = ? AND status = 'FAILED' ORDER BY idx LIMIT 1").get(job.id) as
      | { idx: number; status_reason: string | null }
      | undefined;
    const firstReason = first?.status_reason ?? "failed";
    if (job.array_size === 1 || (reasons.length === 1 && summary.FAILED === job.array_size)) return firstReason;
    return `${summary.FAILED} of ${job.array_size} children failed; child ${first?.idx ?? 0}: ${firstReason}`;
  }

  // ---- running ------------------------------------------------------------

  /**
   * Claims the next child to run for `ownerId`, in one write transaction so
   * no two processes get the same child: the first RUNNABLE child by queue
   * priority, job priority, submission order and index, among jobs whose
   * compute environment has room. The child becomes STARTING with a lease
   * of `leaseMs` that the owner renews with heartbeat(). Expired leases are
   * recovered first. Returns undefined when nothing can run now.
   */
  claimNext(ownerId: string, leaseMs: number): ClaimedChild | undefined {
    if (ownerId.length === 0) throw new Error("ownerId must not be empty");
    checkWhole(leaseMs, "leaseMs", 1, 86_400_000);
    return this.#transaction(() => {
      const now = this.#now();
      this.#recoverExpiredLeases(now);
      const used = new Map<string, number>();
      for (const row of this.#sql(
        `SELECT q.compute_environment AS ce, SUM(j.vcpus) AS used FROM children c JOIN jobs j ON j.id = c.job_id JOIN job_queues q ON q.name = j.queue
         WHERE c.status IN ${IN_FLIGHT} GROUP BY q.compute_environment`,
      ).all() as { ce: string; used: number }[]) {
        used.set(row.ce, row.used);
      }
      const candidates = this.#sql(
        `SELECT j.id AS id, j.vcpus AS vcpus, ce.name AS ce, ce.max_vcpus AS max_vcpus
         FROM jobs j JOIN job_queues q ON q.name = j.queue JOIN compute_environments ce ON ce.name = q.compute_environment
         WHERE j.status NOT IN ('SUCCEEDED', 'FAILED') AND q.state = 'ENABLED' AND ce.state = 'ENABLED'
           AND EXISTS (SELECT 1 FROM job_status_counts s WHERE s.job_id = j.id AND s.status = 'RUNNABLE' AND s.count > 0)
         ORDER BY q.priority DESC, j.priority DESC, j.created_at, j.seq`,
      ).all() as Array<{ id: string; vcpus: number; ce: string; max_vcpus: number }>;
      for (const candidate of candidates) {
        const inUse = used.get(candidate.ce) ?? 0;
        // A job bigger than the whole environment still runs, alone.
        if (inUse > 0 && inUse + candidate.vcpus > candidate.max_vcpus) continue;
        const child = this.#sql("SELECT idx FROM children WHERE job_id = ? AND status = 'RUNNABLE' ORDER BY idx LIMIT 1").get(candidate.id) as
          | { idx: number }
          | undefined;
        if (child) return this.#startAttempt(candidate.id, child.idx, ownerId, leaseMs, now);
      }
      return undefined;
    });
  }

  #startAttempt(jobId: string, index: number, ownerId: string, leaseMs: number, now: number): ClaimedChild {
    const job = this.#jobRow(jobId);
    const child = this.#childRow(jobId, index);
    if (!job || !child) throw new Error(`child ${jobId}[${index}] vanished during claim`);
    assertTransition(child.status as JobStatus, "STARTING", `${job.name}[${index}]`);
    const attempt = child.attempt_seq + 1;
    const deadline = job.timeout_seconds === null ? null : now + job.timeout_seconds * 1000;
    const logFile = this.#logDir === undefined ? undefined : join(this.#logDir, jobId, `${index}-${attempt}.log`);
    this.#sql(
      `UPDATE children SET status = 'STARTING', status_reason = NULL, attempt_seq = ?, owner = ?, lease_ms = ?, lease_expires_at = ?,
         deadline_at = ?, started_at = COALESCE(started_at, ?) WHERE job_id = ? AND idx = ?`,
    ).run(attempt, ownerId, leaseMs, now + leaseMs, deadline, now, jobId, index);
    this.#sql("INSERT INTO attempts (job_id, idx, attempt, owner, created_at, deadline_at, log_file) VALUES (?, ?, ?, ?, ?, ?, ?)").run(
      jobId, index, attempt, ownerId, now, deadline, logFile ?? null,
    );
    this.#refreshJob(jobId);
    const isArray = job.array_size > 1;
    const environment: Record<string, string> = {
      ...(job.blender_executable ? { BLENDER_EXECUTABLE: job.blender_executable } : {}),
      ...(JSON.parse(job.environment) as Record<string, string>),
      JOB_ACTION_TYPE: job.action,
      AWS_BATCH_JOB_ID: isArray ? `${jobId}:${index}` : jobId,
      AWS_BATCH_JOB_ATTEMPT: String(child.attempts_used + 1),
      AWS_BATCH_JQ_NAME: job.queue,
      ...(isArray ? { AWS_BATCH_JOB_ARRAY_INDEX: String(index), AWS_BATCH_JOB_ARRAY_SIZE: String(job.array_size) } : {}),
    };
    return {
      jobId,
      jobName: job.name,
      index,
      arraySize: job.array_size,
      attempt,
      action: job.action as JobActionType,
      environment,
      timeoutSeconds: job.timeout_seconds ?? undefined,
      leaseExpiresAt: now + leaseMs,
      logFile,
      renderId: job.render_id ?? undefined,
    };
  }

  /**
   * The runner started the process of a claimed child: STARTING -> RUNNING,
   * and the timeout starts counting. Returns false when this attempt is no
   * longer the child's current one (its lease was lost).
   */
  markRunning(jobId: string, index: number, attempt: number, details: { readonly logFile?: string } = {}): boolean {
    return this.#transaction(() => {
      const child = this.#childRow(jobId, index);
      const job = this.#jobRow(jobId);
      if (!child || !job || child.attempt_seq !== attempt || child.status !== "STARTING") return false;
      const now = this.#now();
      const deadline = job.timeout_seconds === null ? null : now + job.timeout_seconds * 1000;
      this.#sql("UPDATE children SET status = 'RUNNING', deadline_at = ? WHERE job_id = ? AND idx = ?").run(deadline, jobId, index);
      this.#sql("UPDATE attempts SET started_at = ?, deadline_at = ?, log_file = COALESCE(?, log_file) WHERE job_id = ? AND idx = ? AND attempt = ?").run(
        now, deadline, details.logFile ?? null, jobId, index, attempt,
      );
      this.#refreshJob(jobId);
      return true;
    });
  }

  /**
   * Renews the leases of every child `ownerId` is running, and tells it which
   * of them the user asked to terminate (kill them, then finishAttempt).
   */
  heartbeat(ownerId: string): { readonly renewed: number; readonly terminate: ChildRef[] } {
    return this.#transaction(() => {
      const now = this.#now();
      const { changes } = this.#sql(
        `UPDATE children SET lease_expires_at = ? + lease_ms WHERE owner = ? AND status IN ${IN_FLIGHT}`,
      ).run(now, ownerId);
      const terminate = (
        this.#sql(`SELECT job_id, idx, attempt_seq FROM children WHERE owner = ? AND status IN ${IN_FLIGHT} AND terminate_requested = 1`).all(ownerId) as {
          job_id: string;
          idx: number;
          attempt_seq: number;
        }[]
      ).map((row) => ({ jobId: row.job_id, index: row.idx, attempt: row.attempt_seq }));
      return { renewed: Number(changes), terminate };
    });
  }

  /**
   * Records how an attempt ended and moves the child on (job-state's
   * attemptOutcome): SUCCEEDED, back to RUNNABLE while attempts remain, or
   * FAILED. A late report for an attempt that is no longer current (its lease
   * expired and the child was handed out again) is ignored: accepted=false.
   */
  finishAttempt(jobId: string, index: number, attempt: number, end: AttemptEnd): FinishResult {
    return this.#transaction(() => {
      const child = this.#childRow(jobId, index);
      const job = this.#jobRow(jobId);
      if (!child || !job) throw new UserInputError(`job "${jobId}" has no child ${index}; check the job id and index`);
      const status = child.status as JobStatus;
      if (child.attempt_seq !== attempt || !isInFlight(status)) return { accepted: false, status };
      const outcome = attemptOutcome({
        end,
        attemptsUsed: child.attempts_used,
        maxAttempts: job.attempts,
        terminateRequested: child.terminate_requested === 1,
        ...(job.terminate_reason ? { terminateReason: job.terminate_reason } : {}),
      });
      assertTransition(status, outcome.status, `${job.name}[${index}]`);
      const now = this.#now();
      const attemptReason = outcome.status === "SUCCEEDED" ? null : outcome.attemptReason;
      this.#sql("UPDATE attempts SET stopped_at = ?, exit_code = ?, reason = ? WHERE job_id = ? AND idx = ? AND attempt = ?").run(
        now, end.exitCode, attemptReason, jobId, index, attempt,
      );
      this.#sql(
        `UPDATE children SET status = ?, status_reason = ?, attempts_used = ?, owner = NULL, lease_ms = NULL, lease_expires_at = NULL,
           deadline_at = NULL, stopped_at = ? WHERE job_id = ? AND idx = ?`,
      ).run(
        outcome.status,
        outcome.status === "FAILED" ? outcome.reason : attemptReason,
        outcome.attemptsUsed,
        isTerminal(outcome.status) ? now : null,
        jobId,
        index,
      );
      if (isTerminal(outcome.status)) this.#childEnded(jobId, index);
      this.#refreshJob(jobId);
      return { accepted: true, status: outcome.status };
    });
  }

  /**
   * Puts back every in-flight child whose lease expired before `now` (its
   * process died): RUNNABLE again as a new attempt that does not use one of
   * the job's attempts, or FAILED if the user had asked to terminate it.
   * claimNext does this too, so a dead process's work is never lost.
   */
  recoverExpiredLeases(now: number = this.#now()): ChildRef[] {
    return this.#transaction(() => this.#recoverExpiredLeases(now));
  }

  #recoverExpiredLeases(now: number): ChildRef[] {
    return this.#recoverLost("c.lease_expires_at < ?", now, now);
  }

  /**
   * Puts back at once every in-flight child of `ownerId`, exactly as if its
   * leases had expired: the owner's process is known to be dead (a runner
   * saw its pid vanish on this host) or the owner is shutting down and has
   * already killed its workers.
   */
  recoverOwner(ownerId: string): ChildRef[] {
    return this.#transaction(() => this.#recoverLost("c.owner = ?", this.#now(), ownerId));
  }

  /** The distinct owners of children now STARTING or RUNNING, so a runner can look for dead ones on its host. */
  listInFlightOwners(): string[] {
    return (this.#sql(`SELECT DISTINCT owner FROM children WHERE status IN ${IN_FLIGHT} AND owner IS NOT NULL`).all() as { owner: string }[]).map(
      (row) => row.owner,
    );
  }

  /** How many jobs have not ended yet (neither SUCCEEDED nor FAILED). */
  countUnfinishedJobs(): number {
    return (this.#sql("SELECT COUNT(*) AS count FROM jobs WHERE status NOT IN ('SUCCEEDED', 'FAILED')").get() as { count: number }).count;
  }

  /** Lost tries (dead or departed owner): RUNNABLE again without using an attempt, or FAILED if the user asked to terminate. */
  #recoverLost(condition: string, now: number, parameter: string | number): ChildRef[] {
    const expired = this.#sql(
      `SELECT c.job_id AS job_id, c.idx AS idx, c.attempt_seq AS attempt_seq, c.status AS status, c.terminate_requested AS terminate_requested,
         j.terminate_reason AS terminate_reason, j.name AS name
       FROM children c JOIN jobs j ON j.id = c.job_id WHERE c.status IN ${IN_FLIGHT} AND ${condition}`,
    ).all(parameter) as { job_id: string; idx: number; attempt_seq: number; status: JobStatus; terminate_requested: number; terminate_reason: string | null; name: string }[];
    for (const row of expired) {
      const outcome = lostLeaseOutcome(row.terminate_requested === 1, row.terminate_reason ?? TERMINATED_REASON);
      assertTransition(row.status, outcome.status, `${row.name}[${row.idx}]`);
      this.#sql("UPDATE attempts SET stopped_at = ?, reason = ?, counted = 0 WHERE job_id = ? AND idx = ? AND attempt = ?").run(
        now, WORKER_LOST_REASON, row.job_id, row.idx, row.attempt_seq,
      );
      this.#sql(
        `UPDATE children SET status = ?, status_reason = ?, owner = NULL, lease_ms = NULL, lease_expires_at = NULL, deadline_at = NULL,
           stopped_at = ? WHERE job_id = ? AND idx = ?`,
      ).run(outcome.status, outcome.reason, outcome.status === "FAILED" ? now : null, row.job_id, row.idx);
      if (outcome.status === "FAILED") this.#childEnded(row.job_id, row.idx);
      this.#refreshJob(row.job_id);
    }
    return expired.map((row) => ({ jobId: row.job_id, index: row.idx, attempt: row.attempt_seq }));
  }

  /**
   * In-flight attempts past their deadline at `now` (optionally only those of
   * `ownerId`). The runner kills each and calls finishAttempt with its
   * `reason` ("Attempt timed out after N s"); it is retried if attempts remain.
   */
  expiredAttempts(now: number = this.#now(), ownerId?: string): ExpiredAttempt[] {
    const rows = this.#sql(
      `SELECT c.job_id AS job_id, c.idx AS idx, c.attempt_seq AS attempt_seq, c.owner AS owner, j.timeout_seconds AS timeout_seconds
       FROM children c JOIN jobs j ON j.id = c.job_id
       WHERE c.status IN ${IN_FLIGHT} AND c.deadline_at IS NOT NULL AND c.deadline_at <= ? AND (? IS NULL OR c.owner = ?)`,
    ).all(now, ownerId ?? null, ownerId ?? null) as { job_id: string; idx: number; attempt_seq: number; owner: string; timeout_seconds: number }[];
    return rows.map((row) => ({
      jobId: row.job_id,
      index: row.idx,
      attempt: row.attempt_seq,
      ownerId: row.owner,
      timeoutSeconds: row.timeout_seconds,
      reason: `Attempt timed out after ${row.timeout_seconds} s`,
    }));
  }

  // ---- cancel and terminate -----------------------------------------------

  /**
   * Cancels the children of a job that have not started (AWS's CancelJob):
   * they end FAILED with `reason`. Children already STARTING or RUNNING go
   * on; use terminate() to stop them too.
   */
  cancel(jobId: string, reason: string = CANCELLED_REASON): { readonly cancelled: number; readonly running: number } {
    return this.#transaction(() => {
      const job = this.#requireJob(jobId);
      const cancelled = this.#failQueuedChildren(job, reason, "cancel_reason");
      return { cancelled, running: this.#inFlightCount(jobId) };
    });
  }

  /**
   * Terminates a job (AWS's TerminateJob): children not started end FAILED
   * with `reason`, running ones are marked so their owner kills them (see
   * heartbeat) and their attempt ends FAILED with `reason`, never retried.
   */
  terminate(jobId: string, reason: string = TERMINATED_REASON): { readonly cancelled: number; readonly terminating: number } {
    return this.#transaction(() => {
      const job = this.#requireJob(jobId);
      this.#sql("UPDATE jobs SET terminate_reason = ? WHERE id = ? AND status NOT IN ('SUCCEEDED', 'FAILED')").run(reason, jobId);
      const { changes } = this.#sql(`UPDATE children SET terminate_requested = 1 WHERE job_id = ? AND status IN ${IN_FLIGHT}`).run(jobId);
      const cancelled = this.#failQueuedChildren(job, reason, "terminate_reason");
      return { cancelled, terminating: Number(changes) };
    });
  }

  #failQueuedChildren(job: JobRow, reason: string, column: "cancel_reason" | "terminate_reason"): number {
    if (isTerminal(job.status as JobStatus)) return 0;
    const { changes } = this.#sql(
      `UPDATE children SET status = 'FAILED', status_reason = ?, stopped_at = ? WHERE job_id = ? AND status IN ${LIVE}`,
    ).run(reason, this.#now(), job.id);
    if (Number(changes) > 0) {
      this.#sql(`UPDATE jobs SET ${column} = COALESCE(${column}, ?) WHERE id = ?`).run(reason, job.id);
      this.#childrenEndedInBulk(job.id);
      this.#refreshJob(job.id);
    }
    return Number(changes);
  }

  #inFlightCount(jobId: string): number {
    const summary = this.#summary(jobId);
    return summary.STARTING + summary.RUNNING;
  }

  // ---- reading --------------------------------------------------------------

  /** A job with its derived status and per-status child counts, or undefined. */
  getJob(jobId: string): JobView | undefined {
    const row = this.#jobRow(jobId);
    return row ? this.#jobView(row) : undefined;
  }

  /** Jobs, newest first, optionally only those in `status` or of one render. */
  listJobs(filter: { readonly status?: JobStatus; readonly renderId?: string; readonly limit?: number } = {}): JobView[] {
    const limit = filter.limit ?? 100;
    const rows = this.#sql(
      "SELECT * FROM jobs WHERE (? IS NULL OR status = ?) AND (? IS NULL OR render_id = ?) ORDER BY seq DESC LIMIT ?",
    ).all(filter.status ?? null, filter.status ?? null, filter.renderId ?? null, filter.renderId ?? null, limit) as JobRow[];
    return rows.map((row) => this.#jobView(row));
  }

  /** A job's children by index, optionally only those in `status`. */
  listChildren(jobId: string, filter: { readonly status?: JobStatus; readonly offset?: number; readonly limit?: number } = {}): ChildView[] {
    const rows = this.#sql(
      "SELECT * FROM children WHERE job_id = ? AND (? IS NULL OR status = ?) ORDER BY idx LIMIT ? OFFSET ?",
    ).all(jobId, filter.status ?? null, filter.status ?? null, filter.limit ?? -1, filter.offset ?? 0) as ChildRow[];
    return rows.map((row) => ({
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
    }));
  }

  /** Every try of one child, oldest first (lost tries included, with counted=false). */
  listAttempts(jobId: string, index: number): AttemptView[] {
    return (this.#sql("SELECT * FROM attempts WHERE job_id = ? AND idx = ? ORDER BY attempt").all(jobId, index) as Row[]).map((row) => ({
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
    }));
  }

  #jobView(row: JobRow): JobView {
    const dependsOn = (this.#sql("SELECT depends_on, type FROM job_dependencies WHERE job_id = ?").all(row.id) as { depends_on: string; type: DependencyType }[]).map(
      (dependency) => ({ jobId: dependency.depends_on, type: dependency.type }),
    );
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
      statusSummary: this.#summary(row.id),
      runOnDependencyFailure: row.run_on_dependency_failure === 1,
      renderId: row.render_id ?? undefined,
      tags: JSON.parse(row.tags) as Record<string, string>,
    };
  }

  // ---- plumbing -------------------------------------------------------------

  #jobRow(jobId: string): JobRow | undefined {
    return this.#sql("SELECT * FROM jobs WHERE id = ?").get(jobId) as JobRow | undefined;
  }

  #requireJob(jobId: string): JobRow {
    const job = this.#jobRow(jobId);
    if (!job) throw new UserInputError(`job "${jobId}" does not exist; list jobs to find its id`);
    return job;
  }

  #childRow(jobId: string, index: number): ChildRow | undefined {
    return this.#sql("SELECT * FROM children WHERE job_id = ? AND idx = ?").get(jobId, index) as ChildRow | undefined;
  }

  #sql(sql: string): StatementSync {
    let statement = this.#statements.get(sql);
    if (!statement) {
      statement = this.#db.prepare(sql);
      this.#statements.set(sql, statement);
    }
    return statement;
  }

  /** BEGIN IMMEDIATE takes the write lock up front, so two processes never both read a child as RUNNABLE and both claim it. */
  #transaction<T>(body: () => T): T {
    if (this.#db.isTransaction) return body();
    this.#db.exec("BEGIN IMMEDIATE");
    try {
      const result = body();
      this.#db.exec("COMMIT");
      return result;
    } catch (error) {
      if (this.#db.isTransaction) this.#db.exec("ROLLBACK");
      throw error;
    }
  }
}

function checkName(name: string, what: string): void {
  if (!NAME_PATTERN.test(name)) {
    throw new UserInputError(`${what} "${name}" is not allowed; use 1 to 128 letters, digits, "-", "_", "." or ":", starting with a letter or digit`);
  }
}

function checkWhole(value: number, what: string, min: number, max: number): number {
  if (!Number.isSafeInteger(value) || value < min || value > max) {
    throw new UserInputError(`${what} ${value} is not allowed; use a whole number from ${min} to ${max}`);
  }
  return value;
}

function checkEnvironment(environment: Readonly<Record<string, string>>, jobName: string): Record<string, string> {
  for (const [key, value] of Object.entries(environment)) {
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(key)) {
      throw new UserInputError(`job "${jobName}" has environment variable "${key}"; names are letters, digits and "_", not starting with a digit`);
    }
    if (typeof value !== "string") throw new UserInputError(`job "${jobName}" environment variable ${key} must be text`);
  }
  return { ...environment };
}

function optionalString(value: unknown): string | undefined {
  return value === null || value === undefined ? undefined : String(value);
}

function optionalNumber(value: unknown): number | undefined {
  return value === null || value === undefined ? undefined : Number(value);
}

function definitionFromRow(row: Row): JobDefinitionView {
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
