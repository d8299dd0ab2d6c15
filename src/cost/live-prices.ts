/**
 * Today's prices from AWS, when it answers: on-demand from the Price List
 * API (GetProducts, served from us-east-1 and ap-south-1) and spot from EC2's
 * DescribeSpotPriceHistory for the region. Answers are cached under
 * $BRENDER_HOME/cache for a day; whatever cannot be read falls back to the
 * bundled dated table (and spot to the assumed discount), and the notes say
 * so, for the estimate's method.
 */
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { onDemandPricesFromPriceList, spotPricesFromHistory, type SpotPriceRange } from "../domain/cost/aws-price-responses.ts";
import { BUNDLED_PRICES_DATE, instancesOf } from "../domain/cost/on-demand-prices.ts";
import { IO_QUEUE, type Prices, type QueueOffer } from "../domain/cost/render-cost.ts";
import { brenderHome } from "../config.ts";

/** The Price List API's endpoints, tried in order. */
export const PRICING_REGIONS = ["us-east-1", "ap-south-1"] as const;
/** Cached answers are used for this long. */
export const PRICE_CACHE_MS = 24 * 3600 * 1000;
/** Spot history looked at: the last week. */
const SPOT_HISTORY_MS = 7 * 24 * 3600 * 1000;
const DEFAULT_TIMEOUT_MS = 5000;
/** Pages of GetProducts / DescribeSpotPriceHistory read at most (a few instance types need one or two). */
const MAX_PAGES = 10;

export type LivePrices = {
  readonly prices: Prices;
  /** What was used and why, e.g. "on-demand from AWS's Price List API (cached 2026-12-07T06:00:00Z)". */
  readonly notes: readonly string[];
};

export type LivePriceOptions = {
  readonly region: string;
  /** The instance types to price (the queue's candidates). */
  readonly instanceTypes: readonly string[];
  /** The cache's folder ($BRENDER_HOME/cache). */
  readonly cacheFolder: string;
  readonly env?: NodeJS.ProcessEnv;
  readonly now?: number;
  readonly timeoutMs?: number;
  /** Whether to look up spot prices (spot queues only). @default true */
  readonly spot?: boolean;
};

type CachedPart<T> = { readonly fetchedAt: number; readonly types: readonly string[]; readonly values: Record<string, T> };
type PriceCache = { onDemand?: CachedPart<number>; spot?: CachedPart<SpotPriceRange> };

/**
 * On-demand and spot prices for `instanceTypes` in `region`: from the cache
 * when it is under a day old and covers them, else from AWS; never throws
 * (an unreachable or refusing AWS leaves that part to the bundled table).
 * BRENDER_PRICES=bundled skips AWS altogether.
 */
export async function livePrices(options: LivePriceOptions): Promise<LivePrices> {
  const env = options.env ?? process.env;
  const now = options.now ?? Date.now();
  const wanted = [...new Set(options.instanceTypes)].sort();
  if (env.BRENDER_PRICES?.trim().toLowerCase() === "bundled") {
    return { prices: { region: options.region }, notes: [`BRENDER_PRICES=bundled: the bundled on-demand table of ${BUNDLED_PRICES_DATE}`] };
  }
  const cacheFile = join(options.cacheFolder, `aws-prices-${options.region}.json`);
  const cache = await readCache(cacheFile);
  const notes: string[] = [];
  let changed = false;

  const fresh = <T>(part: CachedPart<T> | undefined) => part !== undefined && now - part.fetchedAt < PRICE_CACHE_MS && wanted.every((type) => part.types.includes(type));
  const when = (at: number) => new Date(at).toISOString().replace(/\.\d+Z$/, "Z");

  if (fresh(cache.onDemand)) {
    notes.push(`on-demand from AWS's Price List API (cached ${when(cache.onDemand!.fetchedAt)})`);
  } else {
    const answer = await attempt(() => fetchOnDemand(options.region, wanted, env, options.timeoutMs ?? DEFAULT_TIMEOUT_MS));
    if (typeof answer === "string" || answer.size === 0) {
      notes.push(`AWS's Price List API ${typeof answer === "string" ? `unreachable (${answer})` : "listed none of these instance types"}: the bundled on-demand table of ${BUNDLED_PRICES_DATE}`);
    } else {
      cache.onDemand = { fetchedAt: now, types: wanted, values: Object.fromEntries(answer) };
      changed = true;
      notes.push(`on-demand from AWS's Price List API (${when(now)})`);
    }
  }

  if (options.spot !== false) {
    if (fresh(cache.spot)) {
      notes.push(`spot from ${options.region}'s spot price history (cached ${when(cache.spot!.fetchedAt)})`);
    } else {
      const answer = await attempt(() => fetchSpot(options.region, wanted, env, now, options.timeoutMs ?? DEFAULT_TIMEOUT_MS));
      if (typeof answer === "string" || answer.size === 0) {
        notes.push(`spot price history ${typeof answer === "string" ? `unreachable (${answer})` : "empty"}: spot assumed at 30-70% of on-demand`);
      } else {
        cache.spot = { fetchedAt: now, types: wanted, values: Object.fromEntries(answer) };
        changed = true;
        notes.push(`spot from ${options.region}'s spot price history of the last 7 days (${when(now)})`);
      }
    }
  }
  if (changed) await writeCache(cacheFile, cache);

  const onDemand = cache.onDemand && now - cache.onDemand.fetchedAt < PRICE_CACHE_MS ? new Map(Object.entries(cache.onDemand.values)) : undefined;
  const spot = options.spot !== false && cache.spot && now - cache.spot.fetchedAt < PRICE_CACHE_MS ? new Map(Object.entries(cache.spot.values)) : undefined;
  return { prices: { region: options.region, ...(onDemand ? { onDemand } : {}), ...(spot ? { spot } : {}) }, notes };
}

/** Prices for a render on `queue` (its instance types and the io queue's), cached in $BRENDER_HOME/cache. */
export async function queuePrices(queue: QueueOffer, region: string, env: NodeJS.ProcessEnv = process.env): Promise<LivePrices> {
  const instanceTypes = [...instancesOf(queue.instanceTypes), ...instancesOf(IO_QUEUE.instanceTypes)].map((spec) => spec.instanceType);
  return livePrices({ region, instanceTypes, cacheFolder: join(brenderHome(env), "cache"), env, spot: queue.spot });
}

/** The answer, or a short reason it failed. */
async function attempt<T>(call: () => Promise<T>): Promise<T | string> {
  try {
    return await call();
  } catch (error) {
    const text = error instanceof Error ? error.message || error.name : String(error);
    return text.split("\n")[0]!.slice(0, 160);
  }
}

async function fetchOnDemand(region: string, types: readonly string[], env: NodeJS.ProcessEnv, timeoutMs: number): Promise<Map<string, number>> {
  // Loaded here, not at module load: the server and the CLI import this module on every start.
  const { GetProductsCommand, PricingClient } = await import("@aws-sdk/client-pricing");
  let lastError: unknown;
  for (const pricingRegion of PRICING_REGIONS) {
    const client = new PricingClient({ region: pricingRegion, maxAttempts: 1, ...endpoint(env, "PRICING") });
    try {
      const priceList: string[] = [];
      let nextToken: string | undefined;
      for (let page = 0; page < MAX_PAGES; page++) {
        const answer = await client.send(
          new GetProductsCommand({
            ServiceCode: "AmazonEC2",
            Filters: [
              { Type: "ANY_OF", Field: "instanceType", Value: types.join(",") },
              { Type: "TERM_MATCH", Field: "regionCode", Value: region },
              { Type: "TERM_MATCH", Field: "operatingSystem", Value: "Linux" },
              { Type: "TERM_MATCH", Field: "tenancy", Value: "Shared" },
              { Type: "TERM_MATCH", Field: "preInstalledSw", Value: "NA" },
              { Type: "TERM_MATCH", Field: "capacitystatus", Value: "Used" },
            ],
            MaxResults: 100,
            ...(nextToken ? { NextToken: nextToken } : {}),
          }),
          { abortSignal: AbortSignal.timeout(timeoutMs) },
        );
        priceList.push(...(answer.PriceList ?? []));
        nextToken = answer.NextToken;
        if (!nextToken) break;
      }
      return onDemandPricesFromPriceList(priceList, region);
    } catch (error) {
      // Without credentials the other endpoint cannot answer either.
      if ((error as Error).name === "CredentialsProviderError") throw error;
      lastError = error;
    } finally {
      client.destroy();
    }
  }
  throw lastError;
}

async function fetchSpot(region: string, types: readonly string[], env: NodeJS.ProcessEnv, now: number, timeoutMs: number): Promise<Map<string, SpotPriceRange>> {
  const { DescribeSpotPriceHistoryCommand, EC2Client } = await import("@aws-sdk/client-ec2");
  const client = new EC2Client({ region, maxAttempts: 1, ...endpoint(env, "EC2") });
  try {
    const history: unknown[] = [];
    let nextToken: string | undefined;
    for (let page = 0; page < MAX_PAGES; page++) {
      const answer = await client.send(
        new DescribeSpotPriceHistoryCommand({
          InstanceTypes: [...types] as never,
          ProductDescriptions: ["Linux/UNIX", "Linux/UNIX (Amazon VPC)"],
          StartTime: new Date(now - SPOT_HISTORY_MS),
          MaxResults: 1000,
          ...(nextToken ? { NextToken: nextToken } : {}),
        }),
        { abortSignal: AbortSignal.timeout(timeoutMs) },
      );
      history.push(...(answer.SpotPriceHistory ?? []));
      nextToken = answer.NextToken || undefined;
      if (!nextToken) break;
    }
    return spotPricesFromHistory(history);
  } finally {
    client.destroy();
  }
}

/** A service's endpoint override (AWS_ENDPOINT_URL_<SERVICE>, else AWS_ENDPOINT_URL) and the keys in `env` when it has them, else the standard chain. */
function endpoint(env: NodeJS.ProcessEnv, service: "PRICING" | "EC2") {
  const url = env[`AWS_ENDPOINT_URL_${service}`]?.trim() || env.AWS_ENDPOINT_URL?.trim();
  const accessKeyId = env.AWS_ACCESS_KEY_ID?.trim();
  const secretAccessKey = env.AWS_SECRET_ACCESS_KEY?.trim();
  const sessionToken = env.AWS_SESSION_TOKEN?.trim();
  return {
    ...(url ? { endpoint: url } : {}),
    ...(accessKeyId && secretAccessKey ? { credentials: { accessKeyId, secretAccessKey, ...(sessionToken ? { sessionToken } : {}) } } : {}),
  };
}

async function readCache(file: string): Promise<PriceCache> {
  try {
    const value = JSON.parse(await readFile(file, "utf8")) as PriceCache;
    return typeof value === "object" && value !== null ? value : {};
  } catch {
    return {};
  }
}

async function writeCache(file: string, cache: PriceCache): Promise<void> {
  try {
    await mkdir(dirname(file), { recursive: true });
    await writeFile(file, JSON.stringify(cache));
  } catch {
    // A cache that cannot be written only costs the next estimate another look-up.
  }
}
