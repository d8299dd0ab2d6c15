import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, it } from "node:test";
import { onDemandPricesFromPriceList, spotPricesFromHistory } from "../../src/domain/cost/aws-price-responses.ts";
import { defaultAwsSplit, MIN_CHILD_RENDER_SECONDS } from "../../src/domain/cost/aws-split.ts";
import { BUNDLED_INSTANCES, BUNDLED_PRICES_DATE, instancesOf } from "../../src/domain/cost/on-demand-prices.ts";
import { childHourPrice, renderCost } from "../../src/domain/cost/render-cost.ts";
import { awsRenderTime, localCpuHours, localRenderSeconds, secondsPerFrame } from "../../src/domain/cost/render-time.ts";
import { FARM_DEFAULTS } from "../../src/infra/farm-props.ts";
import { SERVER_PRESETS } from "../../src/backends/aws/server-sizes.ts";

const fixture = (name: string) => JSON.parse(readFileSync(new URL(`./fixtures/${name}`, import.meta.url), "utf8"));
const close = (actual: number, expected: number, tolerance = 1e-9) =>
  assert.ok(Math.abs(actual - expected) <= tolerance, `${actual} is not ${expected}`);

describe("bundled on-demand prices", () => {
  it("prices every size of the farm's default families that a preset asks for", () => {
    const families = [...FARM_DEFAULTS.cpuInstanceTypes, ...FARM_DEFAULTS.gpuInstanceTypes];
    for (const [name, preset] of Object.entries(SERVER_PRESETS)) {
      const fitting = instancesOf(families).filter((spec) => spec.vcpus >= preset.vcpus && spec.gpus >= preset.gpus);
      assert.ok(fitting.length > 0, `preset ${name} has no priced instance`);
    }
  });

  it("holds AWS's list prices (spot checks against the sources named in the file)", () => {
    close(BUNDLED_INSTANCES.get("c7i.large")!.usdPerHour, 0.08925);
    close(BUNDLED_INSTANCES.get("m7i.xlarge")!.usdPerHour, 0.2016);
    close(BUNDLED_INSTANCES.get("m6i.xlarge")!.usdPerHour, 0.192);
    close(BUNDLED_INSTANCES.get("c6i.2xlarge")!.usdPerHour, 0.34);
    close(BUNDLED_INSTANCES.get("g5.xlarge")!.usdPerHour, 1.006);
    close(BUNDLED_INSTANCES.get("g6.12xlarge")!.usdPerHour, 4.6016);
    assert.equal(BUNDLED_INSTANCES.get("c6i.48xlarge"), undefined, "c6i has no 48xlarge");
    assert.match(BUNDLED_PRICES_DATE, /^\d{4}-\d{2}-\d{2}$/);
  });
});

describe("AWS price responses", () => {
  it("reads on-demand Linux shared prices from a GetProducts answer, skipping Windows, reservations, licensed software, other regions and junk", () => {
    const prices = onDemandPricesFromPriceList(fixture("pricing-get-products.json").PriceList, "us-east-1");
    assert.deepEqual([...prices.entries()].sort(), [
      ["c7i.large", 0.08925],
      ["m7i.large", 0.1008],
    ]);
    assert.equal(onDemandPricesFromPriceList(fixture("pricing-get-products.json").PriceList, "eu-west-1").get("c7i.large"), 0.0945);
  });

  it("summarizes spot history per type: lowest, median, highest of Linux/UNIX observations", () => {
    const spot = spotPricesFromHistory(fixture("ec2-describe-spot-price-history.json").SpotPriceHistory);
    assert.deepEqual(spot.get("c7i.large"), { low: 0.0361, expected: 0.038, high: 0.0402, observations: 3 });
    const m7i = spot.get("m7i.large")!;
    close(m7i.expected, (0.0455 + 0.0515) / 2);
  });
});

describe("child-hour price", () => {
  const region = "us-east-1";
  it("on demand: the smallest fitting size of each family at the child's share; low the cheapest family, high the dearest", () => {
    const price = childHourPrice({ instanceTypes: ["c7i", "m7i"], spot: false }, { vcpus: 2, gpus: 0 }, { region });
    close(price.usdPerHour.low, 0.08925);
    close(price.usdPerHour.high, 0.1008);
    close(price.usdPerHour.expected, (0.08925 + 0.1008) / 2);
    assert.deepEqual(price.source, { onDemand: "bundled", date: BUNDLED_PRICES_DATE, region });
  });

  it("a 1-vCPU child pays half of a 2-vCPU host; a 3-vCPU child pays 3/4 of a 4-vCPU one", () => {
    close(childHourPrice({ instanceTypes: ["c7i"], spot: false }, { vcpus: 1, gpus: 0 }, { region }).usdPerHour.expected, 0.08925 / 2);
    close(childHourPrice({ instanceTypes: ["c7i"], spot: false }, { vcpus: 3, gpus: 0 }, { region }).usdPerHour.expected, 0.1785 * 0.75);
  });

  it("GPU children pay by GPU share: 1 GPU on g6.xlarge is the whole instance", () => {
    close(childHourPrice({ instanceTypes: ["g6"], spot: false }, { vcpus: 4, gpus: 1 }, { region }).usdPerHour.expected, 0.8048);
  });

  it("spot from the region's history, capped at the bid; the Pricing API's on-demand wins over the table", () => {
    const spot = spotPricesFromHistory(fixture("ec2-describe-spot-price-history.json").SpotPriceHistory);
    const onDemand = onDemandPricesFromPriceList(fixture("pricing-get-products.json").PriceList, region);
    const price = childHourPrice({ instanceTypes: ["c7i.large"], spot: true }, { vcpus: 2, gpus: 0 }, { region, spot, onDemand });
    assert.deepEqual(price.usdPerHour, { low: 0.0361, expected: 0.038, high: 0.0402 });
    assert.deepEqual(price.source, { onDemand: "pricing-api", spot: "spot-price-history", region });
    const capped = childHourPrice({ instanceTypes: ["c7i.large"], spot: true, spotBidPercentage: 42 }, { vcpus: 2, gpus: 0 }, { region, spot });
    close(capped.usdPerHour.high, 0.08925 * 0.42);
  });

  it("spot without history: an assumed discount, named as such", () => {
    const price = childHourPrice({ instanceTypes: ["m7i"], spot: true }, { vcpus: 2, gpus: 0 }, { region });
    assert.equal(price.source.spot, "assumed-discount");
    assert.ok(price.usdPerHour.high < 0.1008 && price.usdPerHour.low > 0);
  });

  it("another region than the table's widens the range", () => {
    const price = childHourPrice({ instanceTypes: ["c7i"], spot: false }, { vcpus: 2, gpus: 0 }, { region: "eu-west-1" });
    assert.ok(price.usdPerHour.low < 0.08925 && price.usdPerHour.high > 0.08925);
  });

  it("no instance fits: a clear error", () => {
    assert.throws(() => childHourPrice({ instanceTypes: ["c6i"], spot: false }, { vcpus: 192, gpus: 0 }, { region }), /no instance of c6i fits/);
  });
});

describe("render time and instance-hours", () => {
  const sample = { secondsPerFrame: [2, 2.2, 1.8], startupSeconds: 1, cores: 2 };

  it("seconds per frame: the sample's mean, widened beyond its fastest and slowest", () => {
    const range = secondsPerFrame(sample);
    close(range.expected, 2);
    assert.ok(range.low < 1.8 && range.high > 2.2);
  });

  it("local: every frame at the sampled rate, one Blender start per child, the pipeline around them", () => {
    const one = localRenderSeconds({ frames: 100, children: 1, sample });
    const four = localRenderSeconds({ frames: 100, children: 4, sample });
    // 100 × 2 s + one Blender start (1 s) + the pipeline (2 Blender starts + 100 × 0.04 s).
    close(one.expected, 200 + 1 + 2 + 4);
    close(four.expected - one.expected, 3 * sample.startupSeconds);
    assert.ok(one.low < one.expected && one.expected < one.high);
    close(localCpuHours({ frames: 100, children: 1, sample }).expected, (200 + 1) * 2 / 3600);
  });

  it("AWS: frames scale by vCPUs; children run in waves within the queue's vCPUs; billed seconds add every child's start", () => {
    const time = awsRenderTime({ frames: 100, children: 10, sample, child: { vcpus: 8, gpus: 0 }, queueMaxVcpus: 40 });
    close(time.secondsPerFrame.expected, 2 * 2 / 8);
    assert.equal(time.concurrentChildren, 5);
    assert.match(time.method, /2 waves/);
    // 10 children × (120 s container + 1 s Blender) + 100 frames × 0.5 s.
    close(time.renderChildSeconds.expected, 10 * 121 + 50);
    // copy 90 + 2 waves × (121 + 10 frames × 0.5) + upload 90 + 100 × 0.1.
    close(time.seconds.expected, 90 + 2 * (121 + 5) + 90 + 10);
  });

  it("money: child-hours × the child-hour price plus the io jobs", () => {
    const time = awsRenderTime({ frames: 100, children: 1, sample, child: { vcpus: 2, gpus: 0 }, queueMaxVcpus: 256 });
    const cost = renderCost({ queue: { instanceTypes: ["c7i"], spot: false }, child: { vcpus: 2, gpus: 0 }, renderChildSeconds: time.renderChildSeconds, ioSeconds: time.ioSeconds, prices: { region: "us-east-1" } });
    const ioPerHour = (0.085 + 0.096 + 0.08925 + 0.1008) / 4 / 2;
    close(cost.usd.expected, (time.renderChildSeconds.expected / 3600) * 0.08925 + (time.ioSeconds.expected / 3600) * ioPerHour);
    assert.ok(cost.usd.low < cost.usd.expected && cost.usd.expected < cost.usd.high);
  });
});

describe("default AWS split", () => {
  it("a short render stays one child, saying why", () => {
    const split = defaultAwsSplit({ frames: 50, secondsPerFrame: 4, childVcpus: 2, queueMaxVcpus: 256 });
    assert.equal(split.arraySize, 1);
    assert.match(split.reason, /too short to split/);
  });

  it("children render at least 5 minutes each", () => {
    // 600 frames × 10 s = 6000 s → at most 20 children of 300 s.
    const split = defaultAwsSplit({ frames: 600, secondsPerFrame: 10, childVcpus: 2, queueMaxVcpus: 256 });
    assert.equal(split.arraySize, 20);
    assert.ok((600 * 10) / split.arraySize >= MIN_CHILD_RENDER_SECONDS);
  });

  it("no more children than the queue's vCPUs hold at once", () => {
    const split = defaultAwsSplit({ frames: 10_000, secondsPerFrame: 60, childVcpus: 8, queueMaxVcpus: 256 });
    assert.equal(split.arraySize, 32);
    assert.match(split.reason, /fill the queue's 256 vCPUs/);
  });

  it("never more children than frames", () => {
    const split = defaultAwsSplit({ frames: 3, secondsPerFrame: 3600, childVcpus: 2, queueMaxVcpus: 256 });
    assert.equal(split.arraySize, 3);
    assert.match(split.reason, /one child per frame/);
  });
});

describe("first frame of a Blender start", () => {
  it("its one-time excess is paid once per child, not at every frame", async () => {
    const { firstFrameExtraSeconds } = await import("../../src/domain/cost/render-time.ts");
    const sample = { secondsPerFrame: [5, 2, 2], startupSeconds: 1, cores: 2 };
    assert.equal(secondsPerFrame(sample).expected, 2);
    assert.equal(firstFrameExtraSeconds(sample), 3);
    const one = localRenderSeconds({ frames: 10, children: 1, sample });
    const two = localRenderSeconds({ frames: 10, children: 2, sample });
    close(two.expected - one.expected, 1 + 3);
  });
});

describe("actual cost from Batch timestamps", async () => {
  const { actualCost, billedSeconds } = await import("../../src/domain/cost/actual-cost.ts");
  const region = "us-east-1";
  // Shaped as DescribeJobs gives them: epoch milliseconds per attempt.
  const t0 = Date.parse("2026-12-07T05:00:00Z");

  it("bills every attempt from start to stop at its own host's price and share; retries count too", () => {
    const cost = actualCost({
      renderAttempts: [
        { startedAt: t0, stoppedAt: t0 + 3_600_000, host: { instanceType: "c7i.large", spot: false } },
        // A spot reclaim: its first attempt is billed too, then the retry on another host.
        { startedAt: t0, stoppedAt: t0 + 1_800_000, host: { instanceType: "m7i.xlarge", spot: false } },
        { startedAt: t0 + 1_900_000, stoppedAt: t0 + 3_700_000, host: { instanceType: "m7i.xlarge", spot: false } },
      ],
      ioAttempts: [],
      queue: { instanceTypes: ["c7i", "m7i"], spot: false },
      child: { vcpus: 2, gpus: 0 },
      prices: { region },
      now: t0 + 10_000_000,
    });
    // 1 h of a whole c7i.large + 2 × 0.5 h of half an m7i.xlarge.
    close(cost.usd.expected, 0.08925 + 2 * 0.5 * 0.2016 * 0.5);
    close(cost.usd.low, cost.usd.expected);
    close(cost.childHours, 2);
    assert.equal(cost.attemptsWithHost, 3);
  });

  it("an attempt without a known host is priced as the queue's range; a running one up to now; a queued one not at all", () => {
    const cost = actualCost({
      renderAttempts: [{ startedAt: t0 }, { }],
      ioAttempts: [{ startedAt: t0, stoppedAt: t0 + 360_000 }],
      queue: { instanceTypes: ["c7i", "m7i"], spot: false },
      child: { vcpus: 2, gpus: 0 },
      prices: { region },
      now: t0 + 3_600_000,
    });
    close(cost.childHours, 1);
    close(cost.ioHours, 0.1);
    assert.equal(cost.attemptsWithHost, 0);
    assert.ok(cost.usd.low < cost.usd.high);
    close(cost.usd.low, 0.08925 + 0.1 * 0.085 / 2);
    assert.equal(billedSeconds({}, t0), 0);
  });
});
