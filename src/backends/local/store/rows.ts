import { UserInputError } from "../../../errors.ts";
import { emptySummary, isJobStatus, type StatusSummary } from "../../../domain/job-status.ts";
import type { StoreDatabase } from "./database.ts";

/** A row as node:sqlite returns it, before it is read column by column. */
export type Row = Record<string, unknown>;

/** A row of the jobs table. */
export type JobRow = {
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


/** A row of the children table: one child of a job (the only one of a single job). */
export type ChildRow = {
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

/** The job `jobId`, or undefined. */
export function findJob(db: StoreDatabase, jobId: string): JobRow | undefined {
  return db.sql("SELECT * FROM jobs WHERE id = ?").get(jobId) as JobRow | undefined;
}

/** The job `jobId`; throws a UserInputError when there is none. */
export function requireJob(db: StoreDatabase, jobId: string): JobRow {
  const job = findJob(db, jobId);
  if (!job) throw new UserInputError(`job "${jobId}" does not exist; list jobs to find its id`);
  return job;
}

/** Child `index` of job `jobId`, or undefined. */
export function findChild(db: StoreDatabase, jobId: string, index: number): ChildRow | undefined {
  return db.sql("SELECT * FROM children WHERE job_id = ? AND idx = ?").get(jobId, index) as ChildRow | undefined;
}

/** How many children of `jobId` are in each status (kept by the database's triggers, so this is one small read). */
export function statusSummary(db: StoreDatabase, jobId: string): StatusSummary {
  const summary = emptySummary();
  for (const row of db.sql("SELECT status, count FROM job_status_counts WHERE job_id = ?").all(jobId) as { status: string; count: number }[]) {
    if (isJobStatus(row.status)) summary[row.status] = row.count;
  }
  return summary;
}
