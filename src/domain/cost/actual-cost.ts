/**
 * What a render on AWS actually cost (pure), from AWS Batch's own
 * timestamps: every attempt of every render child (and of the copy and
 * upload jobs) is billed from its start to its stop, at the price of the host
 * it ran on (instance type and spot or on-demand, as the worker read them from
 * the host) times the child's share of that host. An attempt whose host is not
 * known is priced as the queue's range, so the answer stays honest: a range.
 */
import { childHourPrice, IO_CHILD, IO_QUEUE, type Prices, type QueueOffer } from "./render-cost.ts";
import { BUNDLED_INSTANCES } from "./on-demand-prices.ts";
import { addRanges, scaleRange, type Range } from "./range.ts";
import type { ChildResources } from "./render-time.ts";

/** The key of a child's attempt in the hosts they reported (the upload job's summary writes it, the pricing reads it). */
export function hostKey(child: number, attempt: number): string {
  return `${child}:${attempt}`;
}

/** One attempt as Batch reports it (epoch milliseconds), with its host when the worker reported one. */
export type BilledAttempt = {
  readonly startedAt?: number;
  readonly stoppedAt?: number;
  readonly host?: { readonly instanceType?: string; readonly spot?: boolean };
};

export type ActualCostInput = {
  readonly renderAttempts: readonly BilledAttempt[];
  readonly ioAttempts: readonly BilledAttempt[];
  readonly queue: QueueOffer;
  readonly child: ChildResources;
  readonly prices: Prices;
  /** For attempts still running: "now", epoch milliseconds. */
  readonly now: number;
};

export type ActualCost = {
  readonly usd: Range;
  /** Render child-hours billed, each attempt from start to stop. */
  readonly childHours: number;
  readonly ioHours: number;
  /** Attempts priced from their own host's instance type (the rest from the queue's range). */
  readonly attemptsWithHost: number;
  readonly attempts: number;
};

/** Seconds an attempt ran: stop (or now, while it runs) minus start; 0 before it started. */
export function billedSeconds(attempt: BilledAttempt, now: number): number {
  if (attempt.startedAt === undefined) return 0;
  return Math.max(0, ((attempt.stoppedAt ?? now) - attempt.startedAt) / 1000);
}

export function actualCost(input: ActualCostInput): ActualCost {
  const queueRange = childHourPrice(input.queue, input.child, input.prices).usdPerHour;
  let usd: Range = { low: 0, expected: 0, high: 0 };
  let childSeconds = 0;
  let withHost = 0;
  for (const attempt of input.renderAttempts) {
    const seconds = billedSeconds(attempt, input.now);
    childSeconds += seconds;
    const hostPrice = priceOfHost(attempt.host, input);
    if (hostPrice) withHost += 1;
    usd = addRanges(usd, scaleRange(hostPrice ?? queueRange, seconds / 3600));
  }
  const ioRange = childHourPrice(IO_QUEUE, IO_CHILD, input.prices).usdPerHour;
  const ioSeconds = input.ioAttempts.reduce((sum, attempt) => sum + billedSeconds(attempt, input.now), 0);
  usd = addRanges(usd, scaleRange(ioRange, ioSeconds / 3600));
  return { usd, childHours: childSeconds / 3600, ioHours: ioSeconds / 3600, attemptsWithHost: withHost, attempts: input.renderAttempts.length };
}

/** The child-hour price on the very instance type the attempt ran on; undefined when the host is unknown or unpriced. */
function priceOfHost(host: BilledAttempt["host"], input: ActualCostInput): Range | undefined {
  const instanceType = host?.instanceType;
  if (instanceType === undefined || !BUNDLED_INSTANCES.has(instanceType) && !input.prices.onDemand?.has(instanceType)) return undefined;
  const spot = host?.spot ?? input.queue.spot;
  try {
    return childHourPrice({ instanceTypes: [instanceType], spot, ...(input.queue.spotBidPercentage ? { spotBidPercentage: input.queue.spotBidPercentage } : {}) }, input.child, input.prices).usdPerHour;
  } catch {
    return undefined;
  }
}
