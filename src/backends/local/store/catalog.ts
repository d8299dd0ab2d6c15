import { availableParallelism } from "node:os";
import { UserInputError } from "../../../errors.ts";
import type { StoreDatabase } from "./database.ts";
import type { Row } from "./rows.ts";
import {
  DEFAULT_COMPUTE_ENVIRONMENT,
  DEFAULT_JOB_DEFINITION,
  DEFAULT_JOB_QUEUE,
  type ComputeEnvironmentView,
  type JobDefinitionInput,
  type JobDefinitionView,
  type JobQueueInput,
  type JobQueueView,
} from "./types.ts";
import { checkJobDefinition, checkJobQueue, checkWhole, parseDefinitionReference } from "./validation.ts";
import { computeEnvironmentFromRow, definitionFromRow, queueFromRow } from "./views.ts";

/**
 * Where jobs run and with what: job definitions (revisioned), job queues and
 * compute environments, as in AWS Batch. Jobs copy what they need from here
 * when submitted, so later changes touch only later jobs.
 */
export class Catalog {
  readonly #db: StoreDatabase;

  constructor(db: StoreDatabase) {
    this.#db = db;
  }

  /** Creates the default compute environment (this machine's cores), queue and job definition when missing. */
  seedDefaults(): void {
    this.#db.transaction(() => {
      this.#db.sql(
        "INSERT OR IGNORE INTO compute_environments (name, max_vcpus) VALUES (?, ?)",
      ).run(DEFAULT_COMPUTE_ENVIRONMENT, availableParallelism());
      this.#db.sql(
        "INSERT OR IGNORE INTO job_queues (name, priority, state, compute_environment) VALUES (?, 1, 'ENABLED', ?)",
      ).run(DEFAULT_JOB_QUEUE, DEFAULT_COMPUTE_ENVIRONMENT);
      this.#db.sql(
        "INSERT OR IGNORE INTO job_definitions (name, revision, vcpus, memory_mib, attempts) VALUES (?, 1, 1, 2048, 1)",
      ).run(DEFAULT_JOB_DEFINITION);
    });
  }

  registerJobDefinition(input: JobDefinitionInput): JobDefinitionView {
    const { vcpus, memoryMiB, attempts, timeoutSeconds } = checkJobDefinition(input);
    return this.#db.transaction(() => {
      const last = this.#db.sql("SELECT MAX(revision) AS revision FROM job_definitions WHERE name = ?").get(input.name) as { revision: number | null };
      const revision = (last.revision ?? 0) + 1;
      this.#db.sql(
        "INSERT INTO job_definitions (name, revision, blender_executable, vcpus, memory_mib, attempts, timeout_seconds) VALUES (?, ?, ?, ?, ?, ?, ?)",
      ).run(input.name, revision, input.blenderExecutable ?? null, vcpus, memoryMiB, attempts, timeoutSeconds ?? null);
      return { name: input.name, revision, blenderExecutable: input.blenderExecutable, vcpus, memoryMiB, attempts, timeoutSeconds };
    });
  }

  listJobDefinitions(): JobDefinitionView[] {
    return (this.#db.sql("SELECT * FROM job_definitions ORDER BY name, revision DESC").all() as Row[]).map(definitionFromRow);
  }

  /** A definition by reference ("name" for its newest revision, or "name:revision"); throws when there is none. */
  resolveDefinition(reference: string): JobDefinitionView {
    const { name, revision } = parseDefinitionReference(reference);
    const row = (
      revision === undefined
        ? this.#db.sql("SELECT * FROM job_definitions WHERE name = ? ORDER BY revision DESC LIMIT 1").get(name)
        : this.#db.sql("SELECT * FROM job_definitions WHERE name = ? AND revision = ?").get(name, revision)
    ) as Row | undefined;
    if (!row) throw new UserInputError(`job definition "${reference}" does not exist; use "${DEFAULT_JOB_DEFINITION}" or register it first`);
    return definitionFromRow(row);
  }

  putJobQueue(queue: JobQueueInput): JobQueueView {
    const { priority, state, computeEnvironment } = checkJobQueue(queue);
    return this.#db.transaction(() => {
      if (!this.#db.sql("SELECT 1 FROM compute_environments WHERE name = ?").get(computeEnvironment)) {
        throw new UserInputError(`compute environment "${computeEnvironment}" does not exist; use "${DEFAULT_COMPUTE_ENVIRONMENT}"`);
      }
      this.#db.sql(
        `INSERT INTO job_queues (name, priority, state, compute_environment) VALUES (?, ?, ?, ?)
         ON CONFLICT (name) DO UPDATE SET priority = excluded.priority, state = excluded.state, compute_environment = excluded.compute_environment`,
      ).run(queue.name, priority, state, computeEnvironment);
      return { name: queue.name, priority, state, computeEnvironment };
    });
  }

  listJobQueues(): JobQueueView[] {
    return (this.#db.sql("SELECT * FROM job_queues ORDER BY priority DESC, name").all() as Row[]).map(queueFromRow);
  }

  /** Throws unless queue `name` exists and is ENABLED: a DISABLED queue accepts no jobs. */
  requireOpenQueue(name: string): void {
    const queue = this.#db.sql("SELECT state FROM job_queues WHERE name = ?").get(name) as { state: string } | undefined;
    if (!queue) throw new UserInputError(`job queue "${name}" does not exist; use "${DEFAULT_JOB_QUEUE}" or create it first`);
    if (queue.state !== "ENABLED") throw new UserInputError(`job queue "${name}" is DISABLED and accepts no jobs; enable it or use another queue`);
  }

  getComputeEnvironment(name: string): ComputeEnvironmentView | undefined {
    const row = this.#db.sql("SELECT * FROM compute_environments WHERE name = ?").get(name) as Row | undefined;
    return row ? computeEnvironmentFromRow(row) : undefined;
  }

  setMaxVcpus(maxVcpus: number, name: string): void {
    checkWhole(maxVcpus, "maxVcpus", 1, 100_000);
    const { changes } = this.#db.sql("UPDATE compute_environments SET max_vcpus = ? WHERE name = ?").run(maxVcpus, name);
    if (changes === 0) throw new UserInputError(`compute environment "${name}" does not exist; use "${DEFAULT_COMPUTE_ENVIRONMENT}"`);
  }
}
