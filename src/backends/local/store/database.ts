import type { DatabaseSync, StatementSync } from "node:sqlite";

/** Statuses of a child that has not started yet, as an SQL list. */
export const QUEUED_STATUSES_SQL = "('SUBMITTED', 'PENDING', 'RUNNABLE')";
/** Statuses of a child a runner holds (it has a lease), as an SQL list. */
export const IN_FLIGHT_STATUSES_SQL = "('STARTING', 'RUNNING')";

/**
 * The one connection every part of the job store shares: its clock, its
 * transactions and its prepared statements. Each SQL text is prepared once
 * and reused, which keeps claiming cheap at thousands of children a second.
 */
export class StoreDatabase {
  /** The clock, in milliseconds since the epoch. */
  readonly now: () => number;
  readonly #db: DatabaseSync;
  readonly #statements = new Map<string, StatementSync>();

  constructor(db: DatabaseSync, now: () => number) {
    this.#db = db;
    this.now = now;
  }

  /** The prepared statement for `sql`, prepared on first use. */
  sql(sql: string): StatementSync {
    let statement = this.#statements.get(sql);
    if (!statement) {
      statement = this.#db.prepare(sql);
      this.#statements.set(sql, statement);
    }
    return statement;
  }

  /**
   * Runs `body` in one write transaction, or inside the one already open.
   * BEGIN IMMEDIATE takes the write lock up front, so two processes never both read a child as RUNNABLE and both claim it.
   */
  transaction<T>(body: () => T): T {
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

  /** Closes the connection; every statement goes with it. */
  close(): void {
    this.#statements.clear();
    this.#db.close();
  }
}
