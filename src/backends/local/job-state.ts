/**
 * The pure rules of the local farm's job model, which copies AWS Batch's so
 * one plan runs unchanged on both backends: which status changes are legal,
 * what an array parent's status is given its children, when a dependency is
 * satisfied, and what a finished attempt leads to. No I/O here: the SQLite
 * store (job-store.ts) asks these functions and writes down the answers.
 */

import { isInFlight, isTerminal, JOB_STATUSES, type JobStatus, type StatusSummary } from "../../domain/job-status.ts";

export const DEPENDENCY_TYPES = ["SEQUENTIAL", "N_TO_N"] as const;
export type DependencyType = (typeof DEPENDENCY_TYPES)[number];

export const CANCELLED_REASON = "Cancelled by user";
export const TERMINATED_REASON = "Terminated by user";
export const WORKER_LOST_REASON = "worker lost";

/** AWS Batch's wording for a job failed because a job it depends on failed. */
export function dependencyFailedReason(dependencyName: string): string {
  return `Dependent job ${dependencyName} failed`;
}

/** The reason recorded for an attempt killed at its deadline. */
export function timedOutReason(timeoutSeconds: number): string {
  return `Attempt timed out after ${timeoutSeconds} s`;
}

/**
 * Legal status changes of one child (a single job is one child). STARTING
 * and RUNNING may go back to RUNNABLE: a retry, or a lease that expired
 * because the process running the child died. STARTING may end directly
 * (a runner that fails to start the process, or one too fast to report).
 */
const ALLOWED: Readonly<Record<JobStatus, readonly JobStatus[]>> = {
  SUBMITTED: ["PENDING", "RUNNABLE", "FAILED"],
  PENDING: ["RUNNABLE", "FAILED"],
  RUNNABLE: ["STARTING", "FAILED"],
  STARTING: ["RUNNING", "RUNNABLE", "SUCCEEDED", "FAILED"],
  RUNNING: ["RUNNABLE", "SUCCEEDED", "FAILED"],
  SUCCEEDED: [],
  FAILED: [],
};

/** Whether a child may go from `from` to `to` (staying put is not a transition). */
export function canTransition(from: JobStatus, to: JobStatus): boolean {
  return ALLOWED[from].includes(to);
}

/** Throws when a status change breaks the rules: a bug in the caller, never user input. */
export function assertTransition(from: JobStatus, to: JobStatus, what: string): void {
  if (!canTransition(from, to)) throw new Error(`illegal status change ${from} -> ${to} for ${what}`);
}


/**
 * The parent's status from its children's. A parent ends only when every
 * child has ended (the other children keep rendering after one fails, so a
 * `retry` has fewer frames to redo): SUCCEEDED when all succeeded, FAILED
 * when any failed. Before that it shows the most advanced live status:
 * RUNNING while any child runs, then STARTING, RUNNABLE, PENDING, SUBMITTED.
 * A single job is one child, so its status is its child's.
 */
export function deriveParentStatus(summary: StatusSummary): JobStatus {
  const total = JOB_STATUSES.reduce((sum, status) => sum + summary[status], 0);
  if (total === 0) throw new Error("a job has at least one child");
  if (summary.SUCCEEDED + summary.FAILED === total) return summary.FAILED > 0 ? "FAILED" : "SUCCEEDED";
  for (const status of ["RUNNING", "STARTING", "RUNNABLE", "PENDING"] as const) {
    if (summary[status] > 0) return status;
  }
  return "SUBMITTED";
}

/** What a child's dependency looks like when deciding readiness: the dependency's name and status (the job's, or the matching child's for N_TO_N). */
export type DependencyState = { readonly name: string; readonly status: JobStatus };

export type DependencyVerdict =
  | { readonly kind: "wait" }
  | { readonly kind: "ready" }
  | { readonly kind: "fail"; readonly reason: string };

/**
 * Whether a child waiting on `dependencies` may run. Like AWS Batch, a failed
 * dependency fails the dependent at once; with `runOnDependencyFailure` (the
 * upload job, so a failure still reaches the user) it runs once every
 * dependency has ended, whichever way.
 */
export function dependencyVerdict(dependencies: readonly DependencyState[], runOnDependencyFailure: boolean): DependencyVerdict {
  let waiting = false;
  for (const dependency of dependencies) {
    if (dependency.status === "SUCCEEDED") continue;
    if (dependency.status === "FAILED") {
      if (!runOnDependencyFailure) return { kind: "fail", reason: dependencyFailedReason(dependency.name) };
      continue;
    }
    waiting = true;
  }
  return waiting ? { kind: "wait" } : { kind: "ready" };
}

/** How one attempt of a child ended, as the runner reports it. */
export type AttemptEnd = {
  /** The process's exit code; null when it was killed or never started. */
  readonly exitCode: number | null;
  /** Why it failed (ignored on success): "exit code 1", "Attempt timed out after 60 s", a signal… */
  readonly reason?: string;
};

export type AttemptOutcome =
  | { readonly status: "SUCCEEDED"; readonly attemptsUsed: number }
  | { readonly status: "RUNNABLE"; readonly attemptsUsed: number; readonly attemptReason: string }
  | { readonly status: "FAILED"; readonly attemptsUsed: number; readonly attemptReason: string; readonly reason: string };

/**
 * What a finished attempt leads to. Success ends the child. A termination by
 * the user ends it FAILED without retry. Otherwise the attempt is used up:
 * with attempts left the child goes back to RUNNABLE, else it fails with
 * "Attempt N/N failed: <reason>".
 */
export function attemptOutcome(input: {
  readonly end: AttemptEnd;
  /** Attempts of the user's budget used before this one. */
  readonly attemptsUsed: number;
  readonly maxAttempts: number;
  readonly terminateRequested: boolean;
  /** The reason the user gave for terminating; "Terminated by user" by default. */
  readonly terminateReason?: string;
}): AttemptOutcome {
  const { end, maxAttempts, terminateRequested } = input;
  const attemptsUsed = input.attemptsUsed + 1;
  if (terminateRequested) {
    const reason = input.terminateReason ?? TERMINATED_REASON;
    return { status: "FAILED", attemptsUsed, attemptReason: reason, reason };
  }
  if (end.exitCode === 0) return { status: "SUCCEEDED", attemptsUsed };
  const attemptReason = end.reason?.trim() || (end.exitCode === null ? "killed" : `exit code ${end.exitCode}`);
  if (attemptsUsed < maxAttempts) return { status: "RUNNABLE", attemptsUsed, attemptReason };
  return { status: "FAILED", attemptsUsed, attemptReason, reason: `Attempt ${attemptsUsed}/${maxAttempts} failed: ${attemptReason}` };
}

/**
 * What happens to an in-flight child whose owner stopped renewing its lease
 * (the process died). It runs again, and the lost try does not count against
 * the user's attempts; if the user had asked to terminate it, it simply ends.
 */
export function lostLeaseOutcome(
  terminateRequested: boolean,
  terminateReason: string = TERMINATED_REASON,
): { readonly status: "RUNNABLE" | "FAILED"; readonly reason: string } {
  return terminateRequested ? { status: "FAILED", reason: terminateReason } : { status: "RUNNABLE", reason: WORKER_LOST_REASON };
}

/** One child's state, as far as the rules care. */
export type ChildState = {
  readonly status: JobStatus;
  readonly attemptsUsed: number;
  readonly maxAttempts: number;
  readonly terminateRequested: boolean;
  readonly reason?: string;
};

/** Everything that can happen to a child. */
export type ChildEvent =
  | { readonly type: "dependencies"; readonly verdict: DependencyVerdict }
  | { readonly type: "claim" }
  | { readonly type: "start" }
  | { readonly type: "finish"; readonly end: AttemptEnd }
  | { readonly type: "leaseExpired" }
  | { readonly type: "cancel"; readonly reason?: string }
  | { readonly type: "terminate"; readonly reason?: string };

/**
 * The next state of a child after `event`, or undefined when the event does
 * not apply in the current status (e.g. a claim of a child that is not
 * RUNNABLE, a late finish after the lease was lost). Every result it returns
 * respects `canTransition`; the store applies the same rules in bulk SQL
 * where a child-by-child loop would be too slow.
 */
export function nextChildState(state: ChildState, event: ChildEvent): ChildState | undefined {
  const { status } = state;
  switch (event.type) {
    case "dependencies": {
      if (status !== "SUBMITTED" && status !== "PENDING") return undefined;
      if (event.verdict.kind === "ready") return { ...state, status: "RUNNABLE" };
      if (event.verdict.kind === "fail") return { ...state, status: "FAILED", reason: event.verdict.reason };
      return status === "SUBMITTED" ? { ...state, status: "PENDING" } : undefined;
    }
    case "claim":
      return status === "RUNNABLE" ? { ...state, status: "STARTING" } : undefined;
    case "start":
      return status === "STARTING" ? { ...state, status: "RUNNING" } : undefined;
    case "finish": {
      if (!isInFlight(status)) return undefined;
      const outcome = attemptOutcome({
        end: event.end,
        attemptsUsed: state.attemptsUsed,
        maxAttempts: state.maxAttempts,
        terminateRequested: state.terminateRequested,
      });
      const base = { ...state, status: outcome.status, attemptsUsed: outcome.attemptsUsed };
      return outcome.status === "FAILED" ? { ...base, reason: outcome.reason } : base;
    }
    case "leaseExpired": {
      if (!isInFlight(status)) return undefined;
      const outcome = lostLeaseOutcome(state.terminateRequested);
      return { ...state, status: outcome.status, reason: outcome.reason };
    }
    case "cancel":
      if (isTerminal(status) || isInFlight(status)) return undefined;
      return { ...state, status: "FAILED", reason: event.reason ?? CANCELLED_REASON };
    case "terminate":
      if (isTerminal(status)) return undefined;
      if (isInFlight(status)) return { ...state, terminateRequested: true };
      return { ...state, status: "FAILED", reason: event.reason ?? TERMINATED_REASON };
  }
}
