import { randomUUID } from "node:crypto";
import { UserInputError } from "../../../errors.ts";
import type { PlannedJob } from "../../../domain/render-plan.ts";
import { JOB_STATUSES, type JobStatus } from "../../../domain/job-status.ts";
import type { Catalog } from "./catalog.ts";
import type { StoreDatabase } from "./database.ts";
import { evaluateDependencies } from "./propagation.ts";
import { findJob } from "./rows.ts";
import type { RenderRecords } from "./renders.ts";
import { DEFAULT_JOB_DEFINITION, DEFAULT_JOB_QUEUE, type JobDependency, type SubmitJobInput, type SubmitPlanOptions } from "./types.ts";
import { MAX_ATTEMPTS, MAX_PRIORITY, MAX_TIMEOUT_SECONDS, checkAction, checkEnvironment, checkName, checkWhole } from "./validation.ts";

/**
 * Puts jobs into the store: one at a time or a whole plan at once. A job
 * takes its queue, definition settings and dependencies as they are now, and
 * writes one row per child so claiming never has to expand arrays.
 */
export class Submission {
  readonly #db: StoreDatabase;
  readonly #catalog: Catalog;
  readonly #maxArraySize: number;
  readonly #renders: RenderRecords;

  constructor(db: StoreDatabase, catalog: Catalog, maxArraySize: number, renders: RenderRecords) {
    this.#db = db;
    this.#catalog = catalog;
    this.#maxArraySize = maxArraySize;
    this.#renders = renders;
  }

  submitJob(input: SubmitJobInput): string {
    return this.#db.transaction(() => this.#insertJob(input));
  }

  submitPlan(plan: readonly PlannedJob[], options: SubmitPlanOptions): string[] {
    const ids = new Map<string, string>();
    return this.#db.transaction(() => {
      const jobIds = plan.map((job) => {
        if (ids.has(job.name)) throw new UserInputError(`plan has two jobs named "${job.name}"; give every job of a plan its own name`);
        const own = options.jobs?.[job.name] ?? {};
        const nToN = new Set(own.nToN ?? []);
        const dependsOn = job.dependsOn.map((dependency): JobDependency => {
          const jobId = ids.get(dependency) ?? (findJob(this.#db, dependency) ? dependency : undefined);
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
      });
      if (options.render && options.renderId) this.#renders.recordSubmission({ id: options.renderId, ...options.render, jobIds });
      return jobIds;
    });
  }

  #insertJob(input: SubmitJobInput): string {
    checkName(input.name, "job name");
    checkAction(input.action, input.name);
    const arraySize = checkWhole(input.arraySize ?? 1, `array size of job "${input.name}"`, 1, this.#maxArraySize);
    const queueName = input.queue ?? DEFAULT_JOB_QUEUE;
    this.#catalog.requireOpenQueue(queueName);
    const definition = this.#catalog.resolveDefinition(input.definition ?? DEFAULT_JOB_DEFINITION);
    const attempts = checkWhole(input.attempts ?? definition.attempts, `attempts of job "${input.name}"`, 1, MAX_ATTEMPTS);
    const timeoutSource = input.timeoutSeconds ?? definition.timeoutSeconds;
    const timeoutSeconds = timeoutSource === undefined ? undefined : checkWhole(timeoutSource, `timeout of job "${input.name}"`, 1, MAX_TIMEOUT_SECONDS);
    const priority = checkWhole(input.priority ?? 0, `priority of job "${input.name}"`, -MAX_PRIORITY, MAX_PRIORITY);
    const environment = checkEnvironment(input.environment ?? {}, input.name);
    const dependencies = input.dependsOn ?? [];
    this.#checkDependencies(input.name, arraySize, dependencies);

    const id = randomUUID();
    const now = this.#db.now();
    const status: JobStatus = dependencies.length === 0 ? "RUNNABLE" : "PENDING";
    const seq = (this.#db.sql("SELECT COALESCE(MAX(seq), 0) + 1 AS seq FROM jobs").get() as { seq: number }).seq;
    this.#db.sql(
      `INSERT INTO jobs (id, seq, name, queue, definition, definition_revision, action, environment, array_size, attempts,
         timeout_seconds, vcpus, blender_executable, priority, created_at, status, run_on_dependency_failure, render_id, tags)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    ).run(
      id, seq, input.name, queueName, definition.name, definition.revision, input.action, JSON.stringify(environment), arraySize, attempts,
      timeoutSeconds ?? null, definition.vcpus, definition.blenderExecutable ?? null, priority, now, status,
      input.runOnDependencyFailure ? 1 : 0, input.renderId ?? null, JSON.stringify(input.tags ?? {}),
    );
    const addDependency = this.#db.sql("INSERT INTO job_dependencies (job_id, depends_on, type) VALUES (?, ?, ?)");
    for (const dependency of dependencies) addDependency.run(id, dependency.jobId, dependency.type ?? "SEQUENTIAL");
    const addCount = this.#db.sql("INSERT INTO job_status_counts (job_id, status, count) VALUES (?, ?, ?)");
    for (const each of JOB_STATUSES) addCount.run(id, each, each === status ? arraySize : 0);
    const addChild = this.#db.sql("INSERT INTO children (job_id, idx, status) VALUES (?, ?, ?)");
    for (let index = 0; index < arraySize; index += 1) addChild.run(id, index, status);
    if (dependencies.length > 0) evaluateDependencies(this.#db, id, undefined);
    return id;
  }

  /** Each dependency listed once, existing, and N_TO_N only between array jobs of the same size. */
  #checkDependencies(jobName: string, arraySize: number, dependencies: readonly JobDependency[]): void {
    const seen = new Set<string>();
    for (const dependency of dependencies) {
      const type = dependency.type ?? "SEQUENTIAL";
      if (seen.has(dependency.jobId)) throw new UserInputError(`job "${jobName}" lists dependency "${dependency.jobId}" twice; list it once`);
      seen.add(dependency.jobId);
      const parent = findJob(this.#db, dependency.jobId);
      if (!parent) throw new UserInputError(`job "${jobName}" depends on job id "${dependency.jobId}", which does not exist; submit it first`);
      if (type === "N_TO_N" && (arraySize < 2 || parent.array_size !== arraySize)) {
        throw new UserInputError(
          `job "${jobName}" (array size ${arraySize}) has an N_TO_N dependency on "${parent.name}" (array size ${parent.array_size}); N_TO_N needs two array jobs of the same size, use SEQUENTIAL otherwise`,
        );
      }
    }
  }
}
