import { isTerminal, type JobStatus } from "../../../domain/job-status.ts";
import { IN_FLIGHT_STATUSES_SQL, QUEUED_STATUSES_SQL, type StoreDatabase } from "./database.ts";
import { childrenEndedInBulk, refreshJob } from "./propagation.ts";
import { requireJob, statusSummary, type JobRow } from "./rows.ts";

/**
 * Stops jobs on the user's word. Children not started end FAILED at once;
 * running ones are left to their owner, who learns of a terminate through
 * its heartbeat.
 */
export class Cancellation {
  readonly #db: StoreDatabase;

  constructor(db: StoreDatabase) {
    this.#db = db;
  }

  cancel(jobId: string, reason: string): { readonly cancelled: number; readonly running: number } {
    return this.#db.transaction(() => {
      const job = requireJob(this.#db, jobId);
      const cancelled = this.#failQueuedChildren(job, reason, "cancel_reason");
      const summary = statusSummary(this.#db, jobId);
      return { cancelled, running: summary.STARTING + summary.RUNNING };
    });
  }

  terminate(jobId: string, reason: string): { readonly cancelled: number; readonly terminating: number } {
    return this.#db.transaction(() => {
      const job = requireJob(this.#db, jobId);
      this.#db.sql("UPDATE jobs SET terminate_reason = ? WHERE id = ? AND status NOT IN ('SUCCEEDED', 'FAILED')").run(reason, jobId);
      const { changes } = this.#db.sql(`UPDATE children SET terminate_requested = 1 WHERE job_id = ? AND status IN ${IN_FLIGHT_STATUSES_SQL}`).run(jobId);
      const cancelled = this.#failQueuedChildren(job, reason, "terminate_reason");
      return { cancelled, terminating: Number(changes) };
    });
  }

  /** Ends every not-yet-started child of `job` FAILED and keeps the first `reason` in `column` for the job's own reason. */
  #failQueuedChildren(job: JobRow, reason: string, column: "cancel_reason" | "terminate_reason"): number {
    if (isTerminal(job.status as JobStatus)) return 0;
    const { changes } = this.#db.sql(
      `UPDATE children SET status = 'FAILED', status_reason = ?, stopped_at = ? WHERE job_id = ? AND status IN ${QUEUED_STATUSES_SQL}`,
    ).run(reason, this.#db.now(), job.id);
    if (Number(changes) > 0) {
      this.#db.sql(`UPDATE jobs SET ${column} = COALESCE(${column}, ?) WHERE id = ?`).run(reason, job.id);
      childrenEndedInBulk(this.#db, job.id);
      refreshJob(this.#db, job.id);
    }
    return Number(changes);
  }
}
