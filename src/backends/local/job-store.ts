import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { pathToFileURL } from "node:url";
import { DiskFullError, isDiskFull } from "../../disk-full.ts";
import { MAX_ARRAY_SIZE } from "../../domain/frames.ts";
import type { PlannedJob } from "../../domain/render-plan.ts";
import { CANCELLED_REASON, TERMINATED_REASON, type AttemptEnd } from "./job-state.ts";
import { migrate } from "./migrations.ts";
import { Cancellation } from "./store/cancellation.ts";
import { Catalog } from "./store/catalog.ts";
import { StoreDatabase } from "./store/database.ts";
import { Reader } from "./store/reading.ts";
import { Recovery } from "./store/recovery.ts";
import { Scheduler } from "./store/scheduling.ts";
import { Submission } from "./store/submission.ts";
import { RenderRecords } from "./store/renders.ts";
import {
  DEFAULT_COMPUTE_ENVIRONMENT,
  type AttemptView,
  type ChildFilter,
  type ChildRef,
  type ChildView,
  type ClaimedChild,
  type ComputeEnvironmentView,
  type ExpiredAttempt,
  type FinishResult,
  type JobDefinitionInput,
  type JobDefinitionView,
  type JobFilter,
  type JobQueueInput,
  type JobQueueView,
  type JobStoreOptions,
  type JobView,
  type SubmitJobInput,
  type SubmitPlanOptions,
} from "./store/types.ts";

export { DEFAULT_COMPUTE_ENVIRONMENT, DEFAULT_JOB_DEFINITION, DEFAULT_JOB_QUEUE } from "./store/types.ts";
export type { RenderRecord } from "./store/renders.ts";
export type {
  AttemptView,
  ChildRef,
  ChildView,
  ClaimedChild,
  ComputeEnvironmentView,
  ExpiredAttempt,
  FinishResult,
  JobDefinitionInput,
  JobDefinitionView,
  JobDependency,
  JobPlacement,
  JobQueueView,
  JobStoreOptions,
  JobTuning,
  JobView,
  PlanJobOptions,
  QueueState,
  SubmitJobInput,
  SubmitPlanOptions,
} from "./store/types.ts";

/**
 * Opens (creating when missing) the job database at `dbPath`, brings its
 * schema up to date and seeds the default compute environment, queue and job
 * definition. Several processes may open the same file: WAL mode lets
 * readers run beside the one writer, and writers wait their turn.
 */
export function openJobStore(dbPath: string, options: JobStoreOptions = {}): JobStore {
  try {
    return openWritable(dbPath, options);
  } catch (error) {
    if (dbPath === ":memory:" || !isDiskFull(error, dirname(dbPath))) throw error;
    // A full disk cannot hold SQLite's shared-memory file, so even reading fails the usual way.
    if (options.readOnlyWhenFull) return openSnapshot(dbPath, options);
    throw new DiskFullError(dirname(dbPath), { cause: error });
  }
}

/**
 * The database as last checkpointed, opened immutable: nothing is written,
 * not even the shared-memory file, so `jobs` and `status` still answer on a
 * full disk (a change still in the write-ahead log may not show).
 */
function openSnapshot(dbPath: string, options: JobStoreOptions): JobStore {
  const url = pathToFileURL(dbPath);
  url.searchParams.set("immutable", "1");
  const db = new DatabaseSync(url, { readOnly: true });
  return new JobStore(db, options, { snapshot: true });
}

function openWritable(dbPath: string, options: JobStoreOptions): JobStore {
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
 *
 * This class is the store's one entry point; the work is done by the
 * modules under ./store/, which share one connection and statement cache.
 */
export class JobStore {
  readonly #db: StoreDatabase;
  readonly #catalog: Catalog;
  readonly #submission: Submission;
  readonly #recovery: Recovery;
  readonly #scheduler: Scheduler;
  readonly #cancellation: Cancellation;
  readonly #reader: Reader;
  /** One record per render (the renders table): its settings and its newest submission's jobs. */
  readonly renders: RenderRecords;

  /** `snapshot`: a read-only database (see openSnapshot), where nothing is seeded. */
  constructor(db: DatabaseSync, options: JobStoreOptions, { snapshot = false } = {}) {
    this.#db = new StoreDatabase(db, options.now ?? Date.now);
    this.#catalog = new Catalog(this.#db);
    this.renders = new RenderRecords(this.#db);
    this.#submission = new Submission(this.#db, this.#catalog, options.maxArraySize ?? MAX_ARRAY_SIZE, this.renders);
    this.#recovery = new Recovery(this.#db);
    this.#scheduler = new Scheduler(this.#db, this.#recovery, options.logDir);
    this.#cancellation = new Cancellation(this.#db);
    this.#reader = new Reader(this.#db);
    if (snapshot) return;
    this.#catalog.seedDefaults();
    if (options.maxVcpus !== undefined) this.setMaxVcpus(options.maxVcpus);
  }

  /** Closes the database. The store is unusable afterwards. */
  close(): void {
    this.#db.close();
  }

  // ---- definitions, queues, compute environment -------------------------

  /** Registers a new revision of a job definition (AWS's RegisterJobDefinition) and returns it. */
  registerJobDefinition(input: JobDefinitionInput): JobDefinitionView {
    return this.#catalog.registerJobDefinition(input);
  }

  /** Every revision of every job definition, newest revision first per name. */
  listJobDefinitions(): JobDefinitionView[] {
    return this.#catalog.listJobDefinitions();
  }

  /** Creates or updates a job queue (priority: higher is served first; DISABLED queues accept and dispatch nothing). */
  putJobQueue(queue: JobQueueInput): JobQueueView {
    return this.#catalog.putJobQueue(queue);
  }

  /** Every job queue, highest priority first. */
  listJobQueues(): JobQueueView[] {
    return this.#catalog.listJobQueues();
  }

  /** A compute environment (the default one unless named), or undefined. */
  getComputeEnvironment(name: string = DEFAULT_COMPUTE_ENVIRONMENT): ComputeEnvironmentView | undefined {
    return this.#catalog.getComputeEnvironment(name);
  }

  /** Sets how many vCPUs of in-flight children a compute environment allows at once. */
  setMaxVcpus(maxVcpus: number, name: string = DEFAULT_COMPUTE_ENVIRONMENT): void {
    this.#catalog.setMaxVcpus(maxVcpus, name);
  }

  // ---- submitting ---------------------------------------------------------

  /** Submits one job (AWS's SubmitJob) and returns its id. */
  submitJob(input: SubmitJobInput): string {
    return this.#submission.submitJob(input);
  }

  /**
   * Submits a whole plan in one transaction and returns the job ids in plan
   * order. A plan job's `dependsOn` names an earlier job of the plan (or the
   * id of a job already in the store).
   */
  submitPlan(plan: readonly PlannedJob[], options: SubmitPlanOptions = {}): string[] {
    return this.#submission.submitPlan(plan, options);
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
    return this.#scheduler.claimNext(ownerId, leaseMs);
  }

  /**
   * The runner started the process of a claimed child: STARTING -> RUNNING,
   * and the timeout starts counting. Returns false when this attempt is no
   * longer the child's current one (its lease was lost).
   */
  markRunning(jobId: string, index: number, attempt: number, details: { readonly logFile?: string } = {}): boolean {
    return this.#scheduler.markRunning(jobId, index, attempt, details);
  }

  /**
   * Renews the leases of every child `ownerId` is running, and tells it which
   * of them the user asked to terminate (kill them, then finishAttempt).
   */
  heartbeat(ownerId: string): { readonly renewed: number; readonly terminate: ChildRef[] } {
    return this.#scheduler.heartbeat(ownerId);
  }

  /**
   * Records how an attempt ended and moves the child on (job-state's
   * attemptOutcome): SUCCEEDED, back to RUNNABLE while attempts remain, or
   * FAILED. A late report for an attempt that is no longer current (its lease
   * expired and the child was handed out again) is ignored: accepted=false.
   */
  finishAttempt(jobId: string, index: number, attempt: number, end: AttemptEnd): FinishResult {
    return this.#scheduler.finishAttempt(jobId, index, attempt, end);
  }

  /**
   * Puts back every in-flight child whose lease expired before `now` (its
   * process died): RUNNABLE again as a new attempt that does not use one of
   * the job's attempts, or FAILED if the user had asked to terminate it.
   * claimNext does this too, so a dead process's work is never lost.
   */
  recoverExpiredLeases(now: number = this.#db.now()): ChildRef[] {
    return this.#recovery.recoverExpiredLeases(now);
  }

  /**
   * Puts back at once every in-flight child of `ownerId`, exactly as if its
   * leases had expired: the owner's process is known to be dead (a runner
   * saw its pid vanish on this host) or the owner is shutting down and has
   * already killed its workers.
   */
  recoverOwner(ownerId: string): ChildRef[] {
    return this.#recovery.recoverOwner(ownerId);
  }

  /** The distinct owners of children now STARTING or RUNNING, so a runner can look for dead ones on its host. */
  listInFlightOwners(): string[] {
    return this.#recovery.listInFlightOwners();
  }

  /**
   * In-flight attempts past their deadline at `now` (optionally only those of
   * `ownerId`). The runner kills each and calls finishAttempt with its
   * `reason` ("Attempt timed out after N s"); it is retried if attempts remain.
   */
  expiredAttempts(now: number = this.#db.now(), ownerId?: string): ExpiredAttempt[] {
    return this.#recovery.expiredAttempts(now, ownerId);
  }

  // ---- cancel and terminate -----------------------------------------------

  /**
   * Cancels the children of a job that have not started (AWS's CancelJob):
   * they end FAILED with `reason`. Children already STARTING or RUNNING go
   * on; use terminate() to stop them too.
   */
  cancel(jobId: string, reason: string = CANCELLED_REASON): { readonly cancelled: number; readonly running: number } {
    return this.#cancellation.cancel(jobId, reason);
  }

  /**
   * Terminates a job (AWS's TerminateJob): children not started end FAILED
   * with `reason`, running ones are marked so their owner kills them (see
   * heartbeat) and their attempt ends FAILED with `reason`, never retried.
   */
  terminate(jobId: string, reason: string = TERMINATED_REASON): { readonly cancelled: number; readonly terminating: number } {
    return this.#cancellation.terminate(jobId, reason);
  }

  // ---- reading --------------------------------------------------------------

  /** A job with its derived status and per-status child counts, or undefined. */
  getJob(jobId: string): JobView | undefined {
    return this.#reader.getJob(jobId);
  }

  /** Jobs, newest first, optionally only those in `status` or of one render. */
  listJobs(filter: JobFilter = {}): JobView[] {
    return this.#reader.listJobs(filter);
  }

  /** A job's children by index, optionally only those in `status`. */
  listChildren(jobId: string, filter: ChildFilter = {}): ChildView[] {
    return this.#reader.listChildren(jobId, filter);
  }

  /** Every try of one child, oldest first (lost tries included, with counted=false). */
  listAttempts(jobId: string, index: number): AttemptView[] {
    return this.#reader.listAttempts(jobId, index);
  }

  /** How many jobs have not ended yet (neither SUCCEEDED nor FAILED). */
  countUnfinishedJobs(): number {
    return this.#reader.countUnfinishedJobs();
  }
}
