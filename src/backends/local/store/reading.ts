import type { DependencyType } from "../job-state.ts";
import type { StoreDatabase } from "./database.ts";
import { findJob, statusSummary, type ChildRow, type JobRow, type Row } from "./rows.ts";
import type { AttemptView, ChildFilter, ChildView, JobFilter, JobView } from "./types.ts";
import { attemptFromRow, childFromRow, jobFromRow } from "./views.ts";

/** Read-only views of jobs, their children and their tries. Each read is one statement's snapshot, no transaction. */
export class Reader {
  readonly #db: StoreDatabase;

  constructor(db: StoreDatabase) {
    this.#db = db;
  }

  getJob(jobId: string): JobView | undefined {
    const row = findJob(this.#db, jobId);
    return row ? this.#jobView(row) : undefined;
  }

  listJobs(filter: JobFilter): JobView[] {
    const limit = filter.limit ?? 100;
    const rows = this.#db.sql(
      "SELECT * FROM jobs WHERE (? IS NULL OR status = ?) AND (? IS NULL OR render_id = ?) ORDER BY seq DESC LIMIT ?",
    ).all(filter.status ?? null, filter.status ?? null, filter.renderId ?? null, filter.renderId ?? null, limit) as JobRow[];
    return rows.map((row) => this.#jobView(row));
  }

  listChildren(jobId: string, filter: ChildFilter): ChildView[] {
    const rows = this.#db.sql(
      "SELECT * FROM children WHERE job_id = ? AND (? IS NULL OR status = ?) ORDER BY idx LIMIT ? OFFSET ?",
    ).all(jobId, filter.status ?? null, filter.status ?? null, filter.limit ?? -1, filter.offset ?? 0) as ChildRow[];
    return rows.map(childFromRow);
  }

  listAttempts(jobId: string, index: number): AttemptView[] {
    return (this.#db.sql("SELECT * FROM attempts WHERE job_id = ? AND idx = ? ORDER BY attempt").all(jobId, index) as Row[]).map(attemptFromRow);
  }

  countUnfinishedJobs(): number {
    return (this.#db.sql("SELECT COUNT(*) AS count FROM jobs WHERE status NOT IN ('SUCCEEDED', 'FAILED')").get() as { count: number }).count;
  }

  #jobView(row: JobRow): JobView {
    const dependsOn = (
      this.#db.sql("SELECT depends_on, type FROM job_dependencies WHERE job_id = ?").all(row.id) as { depends_on: string; type: DependencyType }[]
    ).map((dependency) => ({ jobId: dependency.depends_on, type: dependency.type }));
    return jobFromRow(row, dependsOn, statusSummary(this.#db, row.id));
  }
}
