/**
 * What a render costs on an AWS queue (pure): the price of one child-hour
 * on the queue's instances (a child's share of its host when several share
 * one), times the child-hours the plan uses, plus the copy and upload jobs
 * on the io queue.
 */
import { BUNDLED_PRICES_DATE, BUNDLED_PRICES_REGION, instancesOf, type InstanceSpec } from "./on-demand-prices.ts";
import { addRanges, multiplyRanges, scaleRange, type Range } from "./range.ts";
import type { SpotPriceRange } from "./aws-price-responses.ts";
import type { ChildResources } from "./render-time.ts";

/** Where the prices came from, shown next to every money figure. */
export type PriceSource = {
  /** "pricing-api" (AWS's answer now) or "bundled" (the dated table in the repository). */
  readonly onDemand: "pricing-api" | "bundled";
  /** The bundled table's date when it was used. */
  readonly date?: string;
  /** "spot-price-history", "assumed-discount" when the history was not reachable, absent on on-demand queues. */
  readonly spot?: "spot-price-history" | "assumed-discount";
  readonly region: string;
};

export type Prices = {
  readonly region: string;
  /** On-demand USD per hour by instance type (the Pricing API's); missing types fall back to the bundled table. */
  readonly onDemand?: ReadonlyMap<string, number>;
  /** Recent spot prices by instance type. */
  readonly spot?: ReadonlyMap<string, SpotPriceRange>;
};

/** Spot's discount off on-demand when the history cannot be read: spot has run at about 30-70% of on-demand for these families. */
export const ASSUMED_SPOT_FRACTION: Range = { low: 0.3, expected: 0.45, high: 0.7 };
/** Other regions than the bundled table's: its price widened this much, since regional prices differ by family. */
export const OTHER_REGION_SPREAD = { low: 0.9, high: 1.35 } as const;

export type QueueOffer = {
  /** The families or types the queue's compute environment may start (the farm's defaults: c6i, m6i, c7i, m7i; g5, g6). */
  readonly instanceTypes: readonly string[];
  readonly spot: boolean;
  /** The spot bid ceiling, a percentage of on-demand. @default 100 */
  readonly spotBidPercentage?: number;
};

export type ChildHourPrice = {
  readonly usdPerHour: Range;
  /** The instance types priced: the smallest of each family that fits the child. */
  readonly instances: readonly { readonly instanceType: string; readonly share: number; readonly usdPerChildHour: Range }[];
  readonly source: PriceSource;
};

/**
 * USD for one child-hour on the queue: for each family, the smallest
 * instance that fits the child (Batch's best fit), at the child's share of
 * it (its vCPUs, or GPUs, over the instance's). Which family Batch picks is
 * not known in advance, so low is the cheapest, high the dearest and
 * expected their mean. Throws when no instance fits.
 */
export function childHourPrice(queue: QueueOffer, child: ChildResources, prices: Prices): ChildHourPrice {
  const candidates = smallestFitting(instancesOf(queue.instanceTypes), child);
  if (candidates.length === 0) {
    throw new RangeError(`no instance of ${queue.instanceTypes.join(", ")} fits a child of ${child.vcpus} vCPUs and ${child.gpus} GPUs`);
  }
  let usedApi = false;
  let usedHistory = false;
  let usedAssumed = false;
  const bundledRegion = prices.region === BUNDLED_PRICES_REGION;
  const instances = candidates.map((spec) => {
    const share = Math.max(child.vcpus / spec.vcpus, spec.gpus > 0 ? child.gpus / spec.gpus : 0);
    const fromApi = prices.onDemand?.get(spec.instanceType);
    if (fromApi !== undefined) usedApi = true;
    const onDemand: Range =
      fromApi !== undefined
        ? { low: fromApi, expected: fromApi, high: fromApi }
        : bundledRegion
          ? { low: spec.usdPerHour, expected: spec.usdPerHour, high: spec.usdPerHour }
          : { low: spec.usdPerHour * OTHER_REGION_SPREAD.low, expected: spec.usdPerHour, high: spec.usdPerHour * OTHER_REGION_SPREAD.high };
    let hourly = onDemand;
    if (queue.spot) {
      const history = prices.spot?.get(spec.instanceType);
      const ceiling = scaleRange(onDemand, (queue.spotBidPercentage ?? 100) / 100);
      if (history !== undefined) {
        usedHistory = true;
        hourly = { low: Math.min(history.low, ceiling.low), expected: Math.min(history.expected, ceiling.expected), high: Math.min(history.high, ceiling.high) };
      } else {
        usedAssumed = true;
        const assumed = multiplyRanges(onDemand, ASSUMED_SPOT_FRACTION);
        hourly = { low: Math.min(assumed.low, ceiling.low), expected: Math.min(assumed.expected, ceiling.expected), high: Math.min(assumed.high, ceiling.high) };
      }
    }
    return { instanceType: spec.instanceType, share, usdPerChildHour: scaleRange(hourly, share) };
  });
  const ranges = instances.map((i) => i.usdPerChildHour);
  const usdPerHour: Range = {
    low: Math.min(...ranges.map((r) => r.low)),
    expected: ranges.reduce((sum, r) => sum + r.expected, 0) / ranges.length,
    high: Math.max(...ranges.map((r) => r.high)),
  };
  const source: PriceSource = {
    onDemand: usedApi ? "pricing-api" : "bundled",
    ...(usedApi ? {} : { date: BUNDLED_PRICES_DATE }),
    ...(queue.spot ? { spot: usedHistory && !usedAssumed ? "spot-price-history" : "assumed-discount" } : {}),
    region: prices.region,
  };
  return { usdPerHour, instances, source };
}

function smallestFitting(specs: readonly InstanceSpec[], child: ChildResources): InstanceSpec[] {
  const byFamily = new Map<string, InstanceSpec>();
  for (const spec of specs) {
    if (spec.vcpus < child.vcpus || spec.gpus < child.gpus) continue;
    const family = spec.instanceType.split(".")[0]!;
    const best = byFamily.get(family);
    if (best === undefined || spec.usdPerHour < best.usdPerHour) byFamily.set(family, spec);
  }
  return [...byFamily.values()];
}

/** The farm's io queue: copy and upload jobs of 1 vCPU on on-demand large instances (src/infra/constructs/batch-compute.ts). */
export const IO_QUEUE: QueueOffer = { instanceTypes: ["c6i.large", "m6i.large", "c7i.large", "m7i.large"], spot: false };
export const IO_CHILD: ChildResources = { vcpus: 1, gpus: 0 };

export type RenderCostInput = {
  readonly queue: QueueOffer;
  readonly child: ChildResources;
  /** Seconds every render child is billed for, summed. */
  readonly renderChildSeconds: Range;
  /** Seconds the copy and upload jobs run, summed. */
  readonly ioSeconds: Range;
  readonly prices: Prices;
};

export type RenderCost = {
  readonly usd: Range;
  /** Render child-hours (each child's share of its host). */
  readonly instanceHours: Range;
  readonly childHourPrice: ChildHourPrice;
  readonly source: PriceSource;
};

/** USD for the render: child-hours × the child-hour price, plus the io jobs. EFS and S3 for one render are cents and left out (the farm's fixed cost covers them). */
export function renderCost(input: RenderCostInput): RenderCost {
  const price = childHourPrice(input.queue, input.child, input.prices);
  const io = childHourPrice(IO_QUEUE, IO_CHILD, input.prices);
  const instanceHours = scaleRange(input.renderChildSeconds, 1 / 3600);
  const usd = addRanges(multiplyRanges(instanceHours, price.usdPerHour), multiplyRanges(scaleRange(input.ioSeconds, 1 / 3600), io.usdPerHour));
  return { usd, instanceHours, childHourPrice: price, source: price.source };
}
