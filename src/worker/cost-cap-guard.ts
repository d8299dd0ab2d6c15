/**
 * The cost cap while a render runs on AWS, checked by the render children
 * themselves (no container waits to watch the render): each child, when it
 * starts, after each frame and every few minutes, describes the render's
 * children, adds up what they have spent (Batch's start and stop times per
 * child and attempt, at the plan's price per child-hour) and, once that
 * passes the cap, terminates the render with a reason naming the cap. Batch
 * then fails the upload unstarted and the farm's publisher job publishes the
 * frames rendered so far with that reason (failed-upload.ts).
 */
import { TerminateJobCommand, type BatchClient } from "@aws-sdk/client-batch";
import type { Logger } from "pino";
import {
  arrayParentOf, COST_CAP_VARIABLE, costCapReason, costCapSettingSchema, spendSoFar, type CostCapSetting,
} from "../domain/cost/running-cap.ts";
import { UserInputError } from "../errors.ts";
import { batchClientFromEnv, describe } from "./failed-upload.ts";

/** Checks after frames closer together than this are skipped (every child checks, and Batch's API is rate limited); BRENDER_COST_CHECK_SECONDS changes it. */
export const MIN_CHECK_INTERVAL_MS = 30_000;
/** A check this often even while one long frame renders. */
export const PERIODIC_CHECK_MS = 300_000;

export type CostCapGuard = {
  /** Checks the spend (unless the last check was under MIN_CHECK_INTERVAL_MS ago and `force` is not set); the reason once the render was stopped. */
  check(force?: boolean): Promise<string | undefined>;
  /** The stop reason, once a check passed the cap. */
  readonly stoppedReason: string | undefined;
  /** Checks every `ms` until the returned function is called. */
  every(ms: number): () => void;
  close(): void;
};

export type GuardOptions = {
  readonly log: Logger;
  readonly batch?: BatchClient;
  readonly now?: () => number;
  readonly minIntervalMs?: number;
};

/** Reads the cap from BRENDER_COST_CAP; undefined when the render has none. Throws UserInputError for an unreadable one. */
export function readCostCap(env: NodeJS.ProcessEnv): CostCapSetting | undefined {
  const text = env[COST_CAP_VARIABLE]?.trim();
  if (!text) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    value = undefined;
  }
  const parsed = costCapSettingSchema.safeParse(value);
  if (!parsed.success) {
    throw new UserInputError(`${COST_CAP_VARIABLE} is not {"maxUsd": N, "usdPerChildHour": N} (got ${JSON.stringify(text.slice(0, 80))}): submit the render again with this Brender.`);
  }
  return parsed.data;
}

/** BRENDER_COST_CHECK_SECONDS (whole seconds, 0 or more) when set, else MIN_CHECK_INTERVAL_MS. */
function checkIntervalMs(env: NodeJS.ProcessEnv): number {
  const text = env.BRENDER_COST_CHECK_SECONDS?.trim();
  if (!text) return MIN_CHECK_INTERVAL_MS;
  if (!/^\d+$/.test(text)) throw new UserInputError(`BRENDER_COST_CHECK_SECONDS="${text}" is not a whole number of seconds: set it to e.g. 30, or unset it.`);
  return Number(text) * 1000;
}

/** The guard for this render child, or undefined when the render has no cap. */
export function costCapGuard(env: NodeJS.ProcessEnv, options: GuardOptions): CostCapGuard | undefined {
  const cap = readCostCap(env);
  if (cap === undefined) return undefined;
  const ownId = env.AWS_BATCH_JOB_ID?.trim();
  if (!ownId) throw new UserInputError(`${COST_CAP_VARIABLE} is set but AWS_BATCH_JOB_ID is not: the cost cap works only in an AWS Batch job.`);
  const parent = arrayParentOf(ownId);
  const size = Number(env.AWS_BATCH_JOB_ARRAY_SIZE ?? "0");
  // An array's children are "<parent>:<index>"; a render of one child is a plain job, described and stopped itself.
  const target = parent ?? ownId;
  const children = parent !== undefined && size >= 2 ? Array.from({ length: size }, (_, index) => `${parent}:${index}`) : [ownId];
  const batch = options.batch ?? batchClientFromEnv(env);
  const now = options.now ?? Date.now;
  const minInterval = options.minIntervalMs ?? checkIntervalMs(env);
  let lastCheck = -Infinity;
  let stoppedReason: string | undefined;
  let running: Promise<string | undefined> | undefined;

  async function checkOnce(): Promise<string | undefined> {
    const described = [...(await describe(batch, children)).values()];
    const spend = spendSoFar(described, cap!.usdPerChildHour, now());
    options.log.debug({ spentUsd: spend.usd, maxUsd: cap!.maxUsd, running: spend.running }, "cost cap check");
    if (spend.usd <= cap!.maxUsd) return undefined;
    const reason = costCapReason(spend.usd, cap!.maxUsd);
    options.log.warn({ spentUsd: spend.usd, maxUsd: cap!.maxUsd }, `${reason}: terminating the render`);
    await batch.send(new TerminateJobCommand({ jobId: target, reason }));
    // AWS documents the parent's cascade for children not yet started; children in flight are stopped one by one.
    for (const child of described) {
      if (child.jobId && child.jobId !== target && (child.status === "STARTING" || child.status === "RUNNING")) {
        await batch.send(new TerminateJobCommand({ jobId: child.jobId, reason }));
      }
    }
    return reason;
  }

  const guard: CostCapGuard = {
    get stoppedReason() {
      return stoppedReason;
    },
    async check(force = false) {
      if (stoppedReason !== undefined) return stoppedReason;
      if (running) return running;
      if (!force && now() - lastCheck < minInterval) return undefined;
      lastCheck = now();
      running = checkOnce()
        .then((reason) => (stoppedReason = reason))
        .catch((error: unknown) => {
          // A check that cannot read Batch (throttled, a missing permission) must not fail a render that is within budget.
          options.log.warn({ err: error }, "the cost cap could not be checked; rendering on");
          return undefined;
        })
        .finally(() => (running = undefined));
      return running;
    },
    every(ms) {
      const timer = setInterval(() => void guard.check(true), ms);
      timer.unref();
      return () => clearInterval(timer);
    },
    close() {
      if (!options.batch) batch.destroy();
    },
  };
  return guard;
}
