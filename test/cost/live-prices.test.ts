/**
 * Live prices: the Price List API through a loopback endpoint answering
 * GetProducts with a fixture in AWS's response shape, spot history from moto's
 * EC2, the day-long cache under BRENDER_HOME, and the fallback to the bundled
 * table when nothing answers.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { livePrices, PRICE_CACHE_MS } from "../../src/cost/live-prices.ts";
import { childHourPrice } from "../../src/domain/cost/render-cost.ts";
import { tempDir } from "../helpers/blender.ts";
import { startMotoServer, type MotoServer } from "../helpers/moto-server.ts";

const FIXTURE = new URL("../domain/fixtures/pricing-get-products.json", import.meta.url);

let moto: MotoServer;
let pricing: Server;
let pricingUrl: string;
const requests: { target: string; body: Record<string, unknown> }[] = [];

before(async () => {
  moto = await startMotoServer();
  const answer = await readFile(FIXTURE, "utf8");
  pricing = createServer((request, response) => {
    let body = "";
    request.on("data", (chunk: Buffer) => (body += chunk.toString()));
    request.on("end", () => {
      requests.push({ target: String(request.headers["x-amz-target"]), body: JSON.parse(body) as Record<string, unknown> });
      response.setHeader("content-type", "application/x-amz-json-1.1");
      response.end(answer);
    });
  });
  await new Promise<void>((resolve) => pricing.listen(0, "127.0.0.1", resolve));
  pricingUrl = `http://127.0.0.1:${(pricing.address() as AddressInfo).port}`;
});
after(async () => {
  await new Promise((resolve) => pricing?.close(resolve));
  await moto?.stop();
});

const TYPES = ["c7i.large", "c7i.xlarge", "m7i.large"];

describe("live prices", () => {
  it("reads on-demand prices from GetProducts and spot from DescribeSpotPriceHistory, then serves them from the cache for a day", async (t) => {
    const cacheFolder = await tempDir(t);
    const env = {
      AWS_ENDPOINT_URL_PRICING: pricingUrl,
      AWS_ENDPOINT_URL_EC2: moto.endpoint,
      AWS_ACCESS_KEY_ID: moto.credentials.accessKeyId,
      AWS_SECRET_ACCESS_KEY: moto.credentials.secretAccessKey,
    };
    const now = Date.parse("2026-12-07T07:00:00Z");
    const first = await livePrices({ region: "us-east-1", instanceTypes: TYPES, cacheFolder, env, now });
    assert.equal(first.prices.onDemand?.get("c7i.large"), 0.08925, "the fixture's c7i.large");
    // moto's EC2 answers every offered type at $0.00001.
    assert.equal(first.prices.spot?.get("c7i.large")?.expected, 0.00001);
    assert.deepEqual(first.notes, [
      "on-demand from AWS's Price List API (2026-12-07T07:00:00Z)",
      "spot from us-east-1's spot price history of the last 7 days (2026-12-07T07:00:00Z)",
    ]);
    assert.equal(requests.length, 1);
    assert.equal(requests[0]!.target, "AWSPriceListService.GetProducts");
    assert.equal(requests[0]!.body.ServiceCode, "AmazonEC2");
    assert.deepEqual((requests[0]!.body.Filters as { Field: string; Type: string; Value: string }[]).slice(0, 2), [
      { Type: "ANY_OF", Field: "instanceType", Value: TYPES.join(",") },
      { Type: "TERM_MATCH", Field: "regionCode", Value: "us-east-1" },
    ]);
    // The estimate's price source follows: the Price List API, and the spot history.
    const price = childHourPrice({ instanceTypes: ["c7i"], spot: true }, { vcpus: 2, gpus: 0 }, first.prices);
    assert.deepEqual([price.source.onDemand, price.source.spot], ["pricing-api", "spot-price-history"]);

    // Within the day: nothing asked, the cache answers (nothing reachable now).
    const offline = { AWS_ENDPOINT_URL: "http://127.0.0.1:9", AWS_ACCESS_KEY_ID: "x", AWS_SECRET_ACCESS_KEY: "y" };
    const later = await livePrices({ region: "us-east-1", instanceTypes: TYPES, cacheFolder, env: offline, now: now + 3600_000 });
    assert.equal(requests.length, 1, "no new GetProducts");
    assert.equal(later.prices.onDemand?.get("c7i.large"), 0.08925);
    assert.match(later.notes.join("; "), /cached 2026-12-07T07:00:00Z/);
    // A day later the cache is stale, AWS unreachable: the bundled table, said.
    const stale = await livePrices({ region: "us-east-1", instanceTypes: TYPES, cacheFolder, env: offline, now: now + PRICE_CACHE_MS + 1 });
    assert.equal(stale.prices.onDemand, undefined);
    assert.equal(stale.prices.spot, undefined);
    assert.match(stale.notes[0]!, /^AWS's Price List API unreachable \(.+\): the bundled on-demand table of \d{4}-\d{2}-\d{2}$/);
    assert.match(stale.notes[1]!, /^spot price history unreachable \(.+\): spot assumed at 30-70% of on-demand$/);
    assert.ok(JSON.parse(await readFile(join(cacheFolder, "aws-prices-us-east-1.json"), "utf8")), "the cache file is JSON");
  });

  it("BRENDER_PRICES=bundled asks nothing", async (t) => {
    const cacheFolder = await tempDir(t);
    const before = requests.length;
    const answer = await livePrices({ region: "eu-west-1", instanceTypes: TYPES, cacheFolder, env: { BRENDER_PRICES: "bundled", AWS_ENDPOINT_URL_PRICING: pricingUrl } });
    assert.equal(requests.length, before);
    assert.deepEqual(answer.prices, { region: "eu-west-1" });
    assert.match(answer.notes[0]!, /bundled on-demand table of/);
  });
});
