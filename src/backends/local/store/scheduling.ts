import { join } from "node:path";
import { UserInputError } from "../../../errors.ts";
import { assertTransition, attemptOutcome, type AttemptEnd } from "../job-state.ts";
import { isInFlight, isTerminal, type JobStatus } from "../../../domain/job-status.ts";
import { IN_FLIGHT_STATUSES_SQL, type StoreDatabase } from "./database.ts";
import { childEnded, refreshJob } from "./propagation.ts";
import type { Recovery } from "./recovery.ts";
import { findChild, findJob } from "./rows.ts";
import type { ChildRef, ClaimedChild, FinishResult } from "./types.ts";
import { checkWhole } from "./validation.ts";
import { claimedChild } from "./views.ts";

/**
 * Hands children to runners and records how each try goes: claim (with a
 * lease), start, heartbeat, finish. A try is named by its attempt number, so
 * a report about a try that is no longer current changes nothing.
 */
export class Scheduler {
  readonly #db: StoreDatabase;
  readonly #recovery: Recovery;
  readonly #logDir: string | undefined;

  constructor(db: StoreDatabase, recovery: Recovery, logDir: string | undefined) {
    this.#db = db;
    this.#recovery = recovery;
    this.#logDir = logDir;
  }

  claimNext(ownerId: string, leaseMs: number): ClaimedChild | undefined {
    if (ownerId.length === 0) throw new Error("ownerId must not be empty");
    checkWhole(leaseMs, "leaseMs", 1, 86_400_000);
    return this.#db.transaction(() => {
      const now = this.#db.now();
      this.#recovery.recoverExpiredLeases(now);
      const used = new Map<string, number>();
      for (const row of this.#db.sql(
        `SELECT q.compute_environment AS ce, SUM(j.vcpus) AS used FROM children c JOIN jobs j ON j.id = c.job_id JOIN job_queues q ON q.name = j.queue
         WHERE c.status IN ${IN_FLIGHT_STATUSES_SQL} GROUP BY q.compute_environment`,
      ).all() as { ce: string; used: number }[]) {
        used.set(row.ce, row.used);
      }
      const candidates = this.#db.sql(
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
        const child = this.#db.sql("SELECT idx FROM children WHERE job_id = ? AND status = 'RUNNABLE' ORDER BY idx LIMIT 1").get(candidate.id) as
          | { idx: number }
          | undefined;
        if (child) return this.#startAttempt(candidate.id, child.idx, ownerId, leaseMs, now);
      }
      return undefined;
    });
  }

  #startAttempt(jobId: string, index: number, ownerId: string, leaseMs: number, now: number): ClaimedChild {
    const job = findJob(this.#db, jobId);
    const child = findChild(this.#db, jobId, index);
    if (!job || !child) throw new Error(`child ${jobId}[${index}] vanished during claim`);
    assertTransition(child.status as JobStatus, "STARTING", `${job.name}[${index}]`);
    const attempt = child.attempt_seq + 1;
    const deadline = job.timeout_seconds === null ? null : now + job.timeout_seconds * 1000;
    const logFile = this.#logDir === undefined ? undefined : join(this.#logDir, jobId, `${index}-${attempt}.log`);
    this.#db.sql(
      `UPDATE children SET status = 'STARTING', status_reason = NULL, attempt_seq = ?, owner = ?, lease_ms = ?, lease_expires_at = ?,
         deadline_at = ?, started_at = COALESCE(started_at, ?) WHERE job_id = ? AND idx = ?`,
    ).run(attempt, ownerId, leaseMs, now + leaseMs, deadline, now, jobId, index);
    this.#db.sql("INSERT INTO attempts (job_id, idx, attempt, owner, created_at, deadline_at, log_file) VALUES (?, ?, ?, ?, ?, ?, ?)").run(
      jobId, index, attempt, ownerId, now, deadline, logFile ?? null,
    );
    refreshJob(this.#db, jobId);
    return claimedChild(job, { index, attempt, attemptsUsed: child.attempts_used, leaseExpiresAt: now + leaseMs, logFile });
  }

  markRunning(jobId: string, index: number, attempt: number, details: { readonly logFile?: string }): boolean {
    return this.#db.transaction(() => {
      const child = findChild(this.#db, jobId, index);
      const job = findJob(this.#db, jobId);
      if (!child || !job || child.attempt_seq !== attempt || child.status !== "STARTING") return false;
      const now = this.#db.now();
      const deadline = job.timeout_seconds === null ? null : now + job.timeout_seconds * 1000;
      this.#db.sql("UPDATE children SET status = 'RUNNING', deadline_at = ? WHERE job_id = ? AND idx = ?").run(deadline, jobId, index);
      this.#db.sql("UPDATE attempts SET started_at = ?, deadline_at = ?, log_file = COALESCE(?, log_file) WHERE job_id = ? AND idx = ? AND attempt = ?").run(
        now, deadline, details.logFile ?? null, jobId, index, attempt,
      );
      refreshJob(this.#db, jobId);
      return true;
    });
  }

  heartbeat(ownerId: string): { readonly renewed: number; readonly terminate: ChildRef[] } {
    return this.#db.transaction(() => {
      const now = this.#db.now();
      const { changes } = this.#db.sql(
        `UPDATE children SET lease_expires_at = ? + lease_ms WHERE owner = ? AND status IN ${IN_FLIGHT_STATUSES_SQL}`,
      ).run(now, ownerId);
      const terminate = (
        this.#db.sql(
          `SELECT job_id, idx, attempt_seq FROM children WHERE owner = ? AND status IN ${IN_FLIGHT_STATUSES_SQL} AND terminate_requested = 1`,
        ).all(ownerId) as { job_id: string; idx: number; attempt_seq: number }[]
      ).map((row) => ({ jobId: row.job_id, index: row.idx, attempt: row.attempt_seq }));
      return { renewed: Number(changes), terminate };
    });
  }

  finishAttempt(jobId: string, index: number, attempt: number, end: AttemptEnd): FinishResult {
    return this.#db.transaction(() => {
      const child = findChild(this.#db, jobId, index);
      const job = findJob(this.#db, jobId);
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
      const now = this.#db.now();
      const attemptReason = outcome.status === "SUCCEEDED" ? null : outcome.attemptReason;
      this.#db.sql("UPDATE attempts SET stopped_at = ?, exit_code = ?, reason = ? WHERE job_id = ? AND idx = ? AND attempt = ?").run(
        now, end.exitCode, attemptReason, jobId, index, attempt,
      );
      this.#db.sql(
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
      if (isTerminal(outcome.status)) childEnded(this.#db, jobId, index);
      refreshJob(this.#db, jobId);
      return { accepted: true, status: outcome.status };
    });
  }
}
