import type { StoreDatabase } from "./database.ts";

/** The record of one render on the local farm: what it was submitted with and its newest submission's jobs. */
export type RenderRecord = {
  readonly id: string;
  readonly project: string;
  /** The render job payload, JSON. */
  readonly settings: string;
  readonly submittedAt: number;
  /** The newest submission's job ids, in plan order. */
  readonly jobIds: readonly string[];
  readonly finalStatus: "SUCCEEDED" | "FAILED" | undefined;
};

type RenderRow = { id: string; project: string; settings: string; submitted_at: number; job_ids: string; final_status: string | null };

function toRecord(row: RenderRow): RenderRecord {
  return {
    id: row.id,
    project: row.project,
    settings: row.settings,
    submittedAt: row.submitted_at,
    jobIds: JSON.parse(row.job_ids) as string[],
    finalStatus: (row.final_status ?? undefined) as RenderRecord["finalStatus"],
  };
}

/** The renders table: written with each plan's jobs (same transaction), read by id, prefix or time. */
export class RenderRecords {
  readonly #db: StoreDatabase;

  constructor(db: StoreDatabase) {
    this.#db = db;
  }

  /** A submission (first or retry) of a render: its record now names these jobs, and it is no longer judged. Call inside the plan's transaction. */
  recordSubmission(render: { id: string; project: string; settings: string; jobIds: readonly string[] }): void {
    this.#db
      .sql(
        `INSERT INTO renders (id, project, settings, submitted_at, job_ids, final_status) VALUES (?, ?, ?, ?, ?, NULL)
         ON CONFLICT (id) DO UPDATE SET project = excluded.project, settings = excluded.settings,
           submitted_at = excluded.submitted_at, job_ids = excluded.job_ids, final_status = NULL`,
      )
      .run(render.id, render.project, render.settings, this.#db.now(), JSON.stringify(render.jobIds));
  }

  get(id: string): RenderRecord | undefined {
    const row = this.#db.sql("SELECT * FROM renders WHERE id = ?").get(id) as RenderRow | undefined;
    return row ? toRecord(row) : undefined;
  }

  /** Ids starting with `prefix` (at most `limit`), by the primary key's order. */
  idsStartingWith(prefix: string, limit = 10): string[] {
    const upper = `${prefix}\u{10FFFF}`;
    return (this.#db.sql("SELECT id FROM renders WHERE id >= ? AND id < ? ORDER BY id LIMIT ?").all(prefix, upper, limit) as { id: string }[]).map((row) => row.id);
  }

  /** Newest submission first. */
  list(limit = 100_000): RenderRecord[] {
    return (this.#db.sql("SELECT * FROM renders ORDER BY submitted_at DESC, id LIMIT ?").all(limit) as RenderRow[]).map(toRecord);
  }

  /** Remembers how the newest submission ended, once judged (jobs and manifest); a retry clears it. */
  setFinalStatus(id: string, jobIds: readonly string[], status: "SUCCEEDED" | "FAILED"): void {
    this.#db.sql("UPDATE renders SET final_status = ? WHERE id = ? AND job_ids = ?").run(status, id, JSON.stringify(jobIds));
  }
}
