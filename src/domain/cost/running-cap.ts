/**
 * The cost cap while a render runs (pure): what the render's children have
 * spent so far, from AWS Batch's own start and stop times per child and
 * attempt, against the cap the render was submitted with.
 *
 * The cap reaches the render children as one environment variable
 * (COST_CAP_VARIABLE, JSON): the cap and the price of one child-hour the
 * submission was planned at, so a child needs no price list to check it.
 */
import { z } from "zod";
import { billedSeconds, type BilledAttempt } from "./actual-cost.ts";
import { formatDollars } from "./range.ts";

/** The render job's variable holding the cap (AWS only: the local farm spends no money). */
export const COST_CAP_VARIABLE = "BRENDER_COST_CAP";

export const costCapSettingSchema = z.strictObject({
  /** The cap, US dollars. */
  maxUsd: z.number().positive(),
  /** The plan's price of one render child-hour (the estimate's expected price), US dollars. */
  usdPerChildHour: z.number().nonnegative(),
});
export type CostCapSetting = z.output<typeof costCapSettingSchema>;

/** Every TerminateJob reason of a render stopped at its cap starts so. */
export const COST_CAP_REASON_PREFIX = "stopped at the cost cap";

/** The reason Batch records and the publisher reports: "stopped at the cost cap: spent $X of $Y". */
export function costCapReason(spentUsd: number, maxUsd: number): string {
  return `${COST_CAP_REASON_PREFIX}: spent ${formatDollars(spentUsd)} of ${formatDollars(maxUsd)}`;
}

/** A job or array child as DescribeJobs reports it (epoch milliseconds), the fields the spend needs. */
export type DescribedRun = {
  readonly status?: string;
  readonly startedAt?: number;
  readonly stoppedAt?: number;
  readonly attempts?: readonly { readonly startedAt?: number; readonly stoppedAt?: number }[];
};

/**
 * A job's billed attempts: every attempt Batch lists, plus the running one
 * when Batch has not listed it as an attempt yet (it adds the attempt when it
 * stops).
 */
export function billedAttemptsOf(job: DescribedRun): BilledAttempt[] {
  const listed = job.attempts ?? [];
  const attempts: BilledAttempt[] = listed.map((a) => ({ ...(a.startedAt ? { startedAt: a.startedAt } : {}), ...(a.stoppedAt ? { stoppedAt: a.stoppedAt } : {}) }));
  const last = listed.at(-1);
  if (job.startedAt !== undefined && job.stoppedAt === undefined && (last === undefined || last.startedAt !== job.startedAt)) {
    attempts.push({ startedAt: job.startedAt });
  }
  return attempts;
}

export type RenderSpend = {
  readonly usd: number;
  /** Child-seconds billed, every attempt of every child from start to stop (or now). */
  readonly childSeconds: number;
  /** Children running now (started, not stopped). */
  readonly running: number;
};

/** What the children have spent by `now` at `usdPerChildHour`. */
export function spendSoFar(children: readonly DescribedRun[], usdPerChildHour: number, now: number): RenderSpend {
  let childSeconds = 0;
  let running = 0;
  for (const child of children) {
    if (child.startedAt !== undefined && child.stoppedAt === undefined) running += 1;
    for (const attempt of billedAttemptsOf(child)) childSeconds += billedSeconds(attempt, now);
  }
  return { usd: (childSeconds / 3600) * usdPerChildHour, childSeconds, running };
}

/** The array parent's job id from a child's AWS_BATCH_JOB_ID ("<parent>:<index>"); undefined for a job that is no array child. */
export function arrayParentOf(jobId: string | undefined): string | undefined {
  const match = /^(.+):(\d+)$/.exec(jobId?.trim() ?? "");
  return match ? match[1] : undefined;
}
