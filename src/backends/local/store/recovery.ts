import { TERMINATED_REASON, WORKER_LOST_REASON, assertTransition, lostLeaseOutcome } from "../job-state.ts";
import { type JobStatus } from "../../../domain/job-status.ts";
import { IN_FLIGHT_STATUSES_SQL, type StoreDatabase } from "./database.ts";
import { childEnded, refreshJob } from "./propagation.ts";
import type { ChildRef, ExpiredAttempt } from "./types.ts";

/**
 * Finds tries that went wrong without telling the store: owners that died
 * (expired leases, vanished processes) and attempts past their deadline.
 */
export class Recovery {
  readonly #db: StoreDatabase;

  constructor(db: StoreDatabase) {
    this.#db = db;
  }

  recoverExpiredLeases(now: number): ChildRef[] {
    return this.#db.transaction(() => this.#recoverLost("c.lease_expires_at < ?", now, now));
  }

  recoverOwner(ownerId: string): ChildRef[] {
    return this.#db.transaction(() => this.#recoverLost("c.owner = ?", this.#db.now(), ownerId));
  }

  listInFlightOwners(): string[] {
    return (
      this.#db.sql(`SELECT DISTINCT owner FROM children WHERE status IN ${IN_FLIGHT_STATUSES_SQL} AND owner IS NOT NULL`).all() as { owner: string }[]
    ).map((row) => row.owner);
  }

  expiredAttempts(now: number, ownerId: string | undefined): ExpiredAttempt[] {
    const rows = this.#db.sql(
      `SELECT c.job_id AS job_id, c.idx AS idx, c.attempt_seq AS attempt_seq, c.owner AS owner, j.timeout_seconds AS timeout_seconds
       FROM children c JOIN jobs j ON j.id = c.job_id
       WHERE c.status IN ${IN_FLIGHT_STATUSES_SQL} AND c.deadline_at IS NOT NULL AND c.deadline_at <= ? AND (? IS NULL OR c.owner = ?)`,
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

  /** Lost tries (dead or departed owner): RUNNABLE again without using an attempt, or FAILED if the user asked to terminate. */
  #recoverLost(condition: string, now: number, parameter: string | number): ChildRef[] {
    const expired = this.#db.sql(
      `SELECT c.job_id AS job_id, c.idx AS idx, c.attempt_seq AS attempt_seq, c.status AS status, c.terminate_requested AS terminate_requested,
         j.terminate_reason AS terminate_reason, j.name AS name
       FROM children c JOIN jobs j ON j.id = c.job_id WHERE c.status IN ${IN_FLIGHT_STATUSES_SQL} AND ${condition}`,
    ).all(parameter) as { job_id: string; idx: number; attempt_seq: number; status: JobStatus; terminate_requested: number; terminate_reason: string | null; name: string }[];
    for (const row of expired) {
      const outcome = lostLeaseOutcome(row.terminate_requested === 1, row.terminate_reason ?? TERMINATED_REASON);
      assertTransition(row.status, outcome.status, `${row.name}[${row.idx}]`);
      this.#db.sql("UPDATE attempts SET stopped_at = ?, reason = ?, counted = 0 WHERE job_id = ? AND idx = ? AND attempt = ?").run(
        now, WORKER_LOST_REASON, row.job_id, row.idx, row.attempt_seq,
      );
      this.#db.sql(
        `UPDATE children SET status = ?, status_reason = ?, owner = NULL, lease_ms = NULL, lease_expires_at = NULL, deadline_at = NULL,
           stopped_at = ? WHERE job_id = ? AND idx = ?`,
      ).run(outcome.status, outcome.reason, outcome.status === "FAILED" ? now : null, row.job_id, row.idx);
      if (outcome.status === "FAILED") childEnded(this.#db, row.job_id, row.idx);
      refreshJob(this.#db, row.job_id);
    }
    return expired.map((row) => ({ jobId: row.job_id, index: row.idx, attempt: row.attempt_seq }));
  }
}
