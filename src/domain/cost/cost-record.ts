/**
 * What a render was expected to take and cost, and what it took and cost,
 * as stored with the render (the estimate in its payload, both in its
 * manifest) and shown by `status`, the e-mail, the chat summary and the
 * render page: "estimated X, actual Y". Pure: schemas and words.
 */
import { z } from "zod";
import type { Range } from "./range.ts";

const rangeSchema = z.object({ low: z.number().nonnegative(), expected: z.number().nonnegative(), high: z.number().nonnegative() });

/** The estimate `render --estimate`, `--max-cost` or the web form's Estimate made before submitting: its figures, not its sample. */
export const storedEstimateSchema = z.strictObject({
  target: z.enum(["local", "aws"]),
  /** Wall time of the whole render. */
  seconds: rangeSchema,
  /** AWS: USD for the render. */
  usd: rangeSchema.optional(),
  /** Local: core-hours this machine is busy rendering. */
  cpuHours: rangeSchema.optional(),
  /** AWS: the queue kind it was priced for. */
  queue: z.string().max(40).optional(),
  madeAt: z.string().max(40),
});
export type StoredEstimate = z.infer<typeof storedEstimateSchema>;

/** An AWS render's cost from Batch's start and stop times of every attempt. */
export const awsActualSchema = z.object({
  kind: z.literal("aws"),
  usd: rangeSchema,
  /** Render child-hours billed (each attempt from start to stop). */
  childHours: z.number().nonnegative(),
  /** Copy and upload job hours (the upload up to the manifest). */
  ioHours: z.number().nonnegative(),
  attempts: z.number().int().nonnegative(),
  /** Attempts priced from the instance type and lifecycle their worker read from the host; the rest at the queue's range. */
  attemptsWithHost: z.number().int().nonnegative(),
  /** Instance types the attempts ran on, with spot or on-demand ("c6i.large spot"). */
  hosts: z.array(z.string()).optional(),
  method: z.string(),
});

/** A local render's CPU time: the Blender children's own CPU seconds (user + system, every thread). */
export const localActualSchema = z.object({
  kind: z.literal("local"),
  cpuHours: z.number().nonnegative(),
  /** From the first child's start to the manifest. */
  wallSeconds: z.number().nonnegative(),
  /** This machine's cores: cpuHours can be at most wall × cores. */
  cores: z.number().int().positive(),
  method: z.string(),
});

export const actualCostSchema = z.discriminatedUnion("kind", [awsActualSchema, localActualSchema]);
export type ActualCostRecord = z.infer<typeof actualCostSchema>;

/** The manifest's `cost`: both sides when known, and why the actual one is missing when it is. */
export const renderCostSchema = z.object({
  estimate: storedEstimateSchema.optional(),
  actual: actualCostSchema.optional(),
  actualError: z.string().optional(),
});
export type RenderCostRecord = z.infer<typeof renderCostSchema>;

/** A whole estimate as `estimateRender` returns it, reduced to what is stored with the render. */
export function storedEstimateOf(
  estimate: { readonly target: "local" | "aws"; readonly seconds: Range; readonly usd?: Range; readonly cpuHours?: Range; readonly queue?: string },
  madeAt: Date = new Date(),
): StoredEstimate {
  return {
    target: estimate.target,
    seconds: estimate.seconds,
    ...(estimate.usd ? { usd: estimate.usd } : {}),
    ...(estimate.cpuHours ? { cpuHours: estimate.cpuHours } : {}),
    ...(estimate.queue ? { queue: estimate.queue } : {}),
    madeAt: madeAt.toISOString(),
  };
}

/** What a render shows of its cost: the manifest's once it ended, the estimate it was submitted with before. */
export function costOfRender(estimate: StoredEstimate | undefined, manifest: { readonly cost?: RenderCostRecord | undefined } | null | undefined): RenderCostRecord | undefined {
  if (manifest?.cost) return manifest.cost;
  return estimate ? { estimate } : undefined;
}

/**
 * A retried render's actual cost: what the earlier runs cost (its previous
 * manifest's) plus this run's, each run measured on its own; figures of
 * different kinds (a render moved between farms cannot be) keep this run's.
 */
export function withEarlierRuns(now: ActualCostRecord, earlier: ActualCostRecord | undefined): ActualCostRecord {
  if (earlier === undefined || earlier.kind !== now.kind) return now;
  const round = (value: number, digits: number) => Math.round(value * 10 ** digits) / 10 ** digits;
  const runs = "; with the earlier runs of this render (retries) added";
  const method = now.method.endsWith(runs) ? now.method : now.method + runs;
  if (now.kind === "local" && earlier.kind === "local") {
    return { ...now, cpuHours: round(now.cpuHours + earlier.cpuHours, 6), wallSeconds: round(now.wallSeconds + earlier.wallSeconds, 1), method };
  }
  if (now.kind === "aws" && earlier.kind === "aws") {
    const hosts = [...new Set([...(earlier.hosts ?? []), ...(now.hosts ?? [])])];
    return {
      ...now,
      usd: { low: round(now.usd.low + earlier.usd.low, 4), expected: round(now.usd.expected + earlier.usd.expected, 4), high: round(now.usd.high + earlier.usd.high, 4) },
      childHours: round(now.childHours + earlier.childHours, 4),
      ioHours: round(now.ioHours + earlier.ioHours, 4),
      attempts: now.attempts + earlier.attempts,
      attemptsWithHost: now.attemptsWithHost + earlier.attemptsWithHost,
      ...(hosts.length ? { hosts } : {}),
      method,
    };
  }
  return now;
}
