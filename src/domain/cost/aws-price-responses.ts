/**
 * Reading AWS's own price answers (pure): the Pricing API's GetProducts
 * price list for on-demand prices, and EC2's DescribeSpotPriceHistory for
 * spot. Only the fields Brender uses are checked; anything unexpected in an
 * item skips that item rather than failing the estimate.
 */
import { z } from "zod";

/** One GetProducts PriceList entry (a JSON string in the SDK's answer), the parts read here. */
const PriceListItem = z.object({
  product: z.object({
    attributes: z.object({
      instanceType: z.string(),
      regionCode: z.string().optional(),
      operatingSystem: z.string().optional(),
      tenancy: z.string().optional(),
      preInstalledSw: z.string().optional(),
      capacitystatus: z.string().optional(),
    }),
  }),
  terms: z.object({
    OnDemand: z.record(
      z.string(),
      z.object({
        priceDimensions: z.record(z.string(), z.object({ unit: z.string(), pricePerUnit: z.object({ USD: z.string() }) })),
      }),
    ),
  }),
});

/**
 * On-demand USD per hour by instance type, from GetProducts' PriceList
 * (strings, the SDK's String objects, or already-parsed objects). Keeps only plain Linux, shared
 * tenancy, no pre-installed software, capacity "Used" (the other rows are
 * reservations and licences); with `region`, only that region's rows.
 */
export function onDemandPricesFromPriceList(priceList: readonly unknown[], region?: string): Map<string, number> {
  const prices = new Map<string, number>();
  for (const entry of priceList) {
    let raw: unknown = entry;
    // The SDK hands each item over as a String object (its LazyJsonString), not a primitive string.
    if (typeof entry === "string" || entry instanceof String) {
      try {
        raw = JSON.parse(String(entry));
      } catch {
        continue;
      }
    }
    const parsed = PriceListItem.safeParse(raw);
    if (!parsed.success) continue;
    const { attributes } = parsed.data.product;
    if (region !== undefined && attributes.regionCode !== undefined && attributes.regionCode !== region) continue;
    if ((attributes.operatingSystem ?? "Linux") !== "Linux") continue;
    if ((attributes.tenancy ?? "Shared") !== "Shared") continue;
    if ((attributes.preInstalledSw ?? "NA") !== "NA") continue;
    if ((attributes.capacitystatus ?? "Used") !== "Used") continue;
    for (const term of Object.values(parsed.data.terms.OnDemand)) {
      for (const dimension of Object.values(term.priceDimensions)) {
        const usd = Number(dimension.pricePerUnit.USD);
        if (/^hrs?$/i.test(dimension.unit) && Number.isFinite(usd) && usd > 0) prices.set(attributes.instanceType, usd);
      }
    }
  }
  return prices;
}

const SpotPriceEntry = z.object({
  InstanceType: z.string(),
  SpotPrice: z.string(),
  AvailabilityZone: z.string().optional(),
  ProductDescription: z.string().optional(),
  Timestamp: z.union([z.string(), z.date()]).optional(),
});

/** What the recent spot market charged for one instance type across the region's zones. */
export type SpotPriceRange = {
  readonly low: number;
  /** The median of the observations: what a render is most likely to pay. */
  readonly expected: number;
  readonly high: number;
  readonly observations: number;
};

/**
 * Spot price ranges by instance type from DescribeSpotPriceHistory's
 * `SpotPriceHistory` entries (Linux/UNIX only: other product descriptions
 * are licensed images Brender never runs).
 */
export function spotPricesFromHistory(history: readonly unknown[]): Map<string, SpotPriceRange> {
  const byType = new Map<string, number[]>();
  for (const raw of history) {
    const parsed = SpotPriceEntry.safeParse(raw);
    if (!parsed.success) continue;
    const entry = parsed.data;
    if (entry.ProductDescription !== undefined && !/^Linux\/UNIX( \(Amazon VPC\))?$/.test(entry.ProductDescription)) continue;
    const usd = Number(entry.SpotPrice);
    if (!Number.isFinite(usd) || usd <= 0) continue;
    const list = byType.get(entry.InstanceType) ?? [];
    list.push(usd);
    byType.set(entry.InstanceType, list);
  }
  const ranges = new Map<string, SpotPriceRange>();
  for (const [instanceType, prices] of byType) {
    const sorted = [...prices].sort((a, b) => a - b);
    ranges.set(instanceType, { low: sorted[0]!, expected: median(sorted), high: sorted.at(-1)!, observations: sorted.length });
  }
  return ranges;
}

function median(sorted: readonly number[]): number {
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}
