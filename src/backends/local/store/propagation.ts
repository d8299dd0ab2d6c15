/**
 * How a change to one child spreads: a job's status follows its children,
 * and when a job (or, for N_TO_N, one child) ends, the jobs that depend on it
 * may move on. Every writer calls in here after changing children, inside
 * its own transaction.
 */
import { dependencyVerdict, deriveParentStatus, type DependencyState, type DependencyType, type DependencyVerdict } from "../job-state.ts";
import { isInFlight, isTerminal, type JobStatus, type StatusSummary } from "../../../domain/job-status.ts";
import type { StoreDatabase } from "./database.ts";
import { findJob, statusSummary, type JobRow } from "./rows.ts";

/**
 * Moves waiting children of `jobId` on when their dependencies allow:
 * RUNNABLE when satisfied, FAILED when one failed. `indexes` limits the
 * check to some children (an N_TO_N dependency's child just ended).
 */
export function evaluateDependencies(db: StoreDatabase, jobId: string, indexes: readonly number[] | undefined): void {
  const job = findJob(db, jobId);
  if (!job) return;
  const runAnyway = job.run_on_dependency_failure === 1;
  const dependencies = db.sql(
    "SELECT d.depends_on AS id, d.type AS type, j.name AS name, j.status AS status FROM job_dependencies d JOIN jobs j ON j.id = d.depends_on WHERE d.job_id = ?",
  ).all(jobId) as { id: string; type: DependencyType; name: string; status: JobStatus }[];
  const wholeJob = dependencies.filter((dependency) => dependency.type === "SEQUENTIAL");
  const childByChild = dependencies.filter((dependency) => dependency.type === "N_TO_N");
  const now = db.now();
  const apply = (verdict: DependencyVerdict, index: number | undefined): void => {
    if (verdict.kind === "wait") return;
    const where = `job_id = ? AND status IN ('SUBMITTED', 'PENDING')${index === undefined ? "" : " AND idx = ?"}`;
    const args = index === undefined ? [jobId] : [jobId, index];
    if (verdict.kind === "ready") {
      db.sql(`UPDATE children SET status = 'RUNNABLE' WHERE ${where}`).run(...args);
    } else {
      db.sql(`UPDATE children SET status = 'FAILED', status_reason = ?, stopped_at = ? WHERE ${where}`).run(verdict.reason, now, ...args);
      if (index !== undefined) childEnded(db, jobId, index);
    }
  };
  const jobVerdict = dependencyVerdict(wholeJob, runAnyway);
  if (childByChild.length === 0 || jobVerdict.kind === "fail") {
    apply(jobVerdict, undefined);
    if (jobVerdict.kind === "fail") childrenEndedInBulk(db, jobId);
  } else {
    const waiting =
      indexes ??
      (db.sql("SELECT idx FROM children WHERE job_id = ? AND status IN ('SUBMITTED', 'PENDING') ORDER BY idx").all(jobId) as { idx: number }[]).map(
        (row) => row.idx,
      );
    const childStatus = db.sql("SELECT status FROM children WHERE job_id = ? AND idx = ?");
    for (const index of waiting) {
      const states: DependencyState[] = [...wholeJob];
      for (const dependency of childByChild) {
        const row = childStatus.get(dependency.id, index) as { status: JobStatus } | undefined;
        states.push({ name: dependency.name, status: row?.status ?? "FAILED" });
      }
      apply(dependencyVerdict(states, runAnyway), index);
    }
  }
  refreshJob(db, jobId);
}

/** A child ended: children that follow it N_TO_N may now move. */
export function childEnded(db: StoreDatabase, jobId: string, index: number): void {
  for (const dependent of nToNDependents(db, jobId)) evaluateDependencies(db, dependent.job_id, [index]);
}

/** Many children of a job ended at once (cancel, failed dependency): re-check every N_TO_N follower. */
export function childrenEndedInBulk(db: StoreDatabase, jobId: string): void {
  for (const dependent of nToNDependents(db, jobId)) evaluateDependencies(db, dependent.job_id, undefined);
}

function nToNDependents(db: StoreDatabase, jobId: string): { job_id: string }[] {
  return db.sql("SELECT job_id FROM job_dependencies WHERE depends_on = ? AND type = 'N_TO_N'").all(jobId) as { job_id: string }[];
}

/** Recomputes a job's status from its children; when it ends, jobs waiting on it move. */
export function refreshJob(db: StoreDatabase, jobId: string): void {
  const job = findJob(db, jobId);
  if (!job) return;
  const summary = statusSummary(db, jobId);
  const status = deriveParentStatus(summary);
  if (status === job.status) return;
  const now = db.now();
  const reason = status === "FAILED" ? failureReason(db, job, summary) : null;
  db.sql(
    `UPDATE jobs SET status = ?, status_reason = ?,
       started_at = CASE WHEN started_at IS NULL AND ? THEN ? ELSE started_at END,
       stopped_at = CASE WHEN ? THEN ? ELSE NULL END
     WHERE id = ?`,
  ).run(status, reason, isInFlight(status) ? 1 : 0, now, isTerminal(status) ? 1 : 0, now, jobId);
  if (isTerminal(status)) {
    const dependents = db.sql("SELECT job_id FROM job_dependencies WHERE depends_on = ? AND type = 'SEQUENTIAL'").all(jobId) as { job_id: string }[];
    for (const dependent of dependents) evaluateDependencies(db, dependent.job_id, undefined);
  }
}

/** Why a failed job failed: the user's terminate or cancel reason, else its children's. */
function failureReason(db: StoreDatabase, job: JobRow, summary: StatusSummary): string {
  if (job.terminate_reason) return job.terminate_reason;
  if (job.cancel_reason) return job.cancel_reason;
  const reasons = db.sql("SELECT DISTINCT status_reason AS reason FROM children WHERE job_id = ? AND status = 'FAILED' LIMIT 2").all(job.id) as {
    reason: string | null;
  }[];
  const first = db.sql("SELECT idx, status_reason FROM children WHERE job_id = ? AND status = 'FAILED' ORDER BY idx LIMIT 1").get(job.id) as
    | { idx: number; status_reason: string | null }
    | undefined;
  const firstReason = first?.status_reason ?? "failed";
  if (job.array_size === 1 || (reasons.length === 1 && summary.FAILED === job.array_size)) return firstReason;
  return `${summary.FAILED} of ${job.array_size} children failed; child ${first?.idx ?? 0}: ${firstReason}`;
}
