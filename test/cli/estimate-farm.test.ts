/**
 * `estimate --farm NAME`: the farm's queue as AWS Batch describes it. The
 * wiring against a farm in moto (an unmanaged environment says nothing, so
 * the deploy defaults stay; a queue the farm lacks exits 2), the reading of a
 * managed environment against DescribeComputeEnvironments-shaped answers.
 */
import { describe, it, before, after } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { brender, makeScene, tempDir } from "../helpers/blender.ts";
import { startMotoServer, type MotoServer } from "../helpers/moto-server.ts";
import { createTestFarm } from "../helpers/aws-farm.ts";
import { awsTargetOf, awsEstimate, type RenderEstimate } from "../../src/cost/estimate-render.ts";
import type { FarmEnvironment } from "../../src/backends/aws/farm/batch-capacity.ts";
import { queueSettingsOf } from "../../src/cost/farm-queue.ts";

let moto: MotoServer;
before(async () => {
  moto = await startMotoServer();
  await createTestFarm(moto);
});
after(() => moto.stop());

describe("brender estimate --farm", () => {
  it("reads the farm's queue from AWS Batch; a queue the farm lacks exits 2 naming the ones it has", async (t) => {
    const dir = await tempDir(t);
    const blend = await makeScene(join(dir, "scene.blend"), { frames: [1, 3], resolution: [16, 16], samples: 1 });
    const env = { BRENDER_HOME: join(dir, "home"), AWS_ENDPOINT_URL: moto.endpoint, AWS_ACCESS_KEY_ID: moto.credentials.accessKeyId, AWS_SECRET_ACCESS_KEY: moto.credentials.secretAccessKey, AWS_REGION: moto.region, BRENDER_PRICES: "bundled" };
    const missing = await brender(["estimate", blend, "--backend", "aws", "--farm", "test", "--queue", "on-demand-cpu"], env);
    assert.equal(missing.code, 2, missing.stderr);
    assert.match(missing.stderr, /Farm "test" has no on-demand-cpu queue: use --queue spot-cpu/);
    const unknown = await brender(["estimate", blend, "--backend", "aws", "--farm", "nofarm"], env);
    assert.equal(unknown.code, 2, unknown.stderr);
    assert.match(unknown.stderr, /No Brender farm "nofarm"/);
    const ok = await brender(["estimate", blend, "--backend", "aws", "--farm", "test", "--queue", "spot-cpu", "--json"], env);
    assert.equal(ok.code, 0, ok.stderr);
    const estimate = JSON.parse(ok.stdout) as RenderEstimate;
    assert.equal(estimate.queue, "spot-cpu");
    assert.equal(estimate.prices?.region, moto.region);
  });

  it("prices a managed environment's own instance types, vCPU ceiling and spot bid", () => {
    const environment = (name: string, fields: Partial<FarmEnvironment>): FarmEnvironment => ({ arn: name, name, state: "ENABLED", status: "VALID", type: "SPOT", instanceTypes: [], ...fields });
    const environments = [
      environment("a", { maxVcpus: 32, instanceTypes: ["c7i"], bidPercentage: 40 }),
      environment("b", { maxVcpus: 16, instanceTypes: ["c7i", "optimal"], bidPercentage: 30 }),
      environment("unmanaged", { type: "UNMANAGED" }),
    ];
    const settings = queueSettingsOf(environments);
    assert.deepEqual(settings, { instanceTypes: ["c7i"], maxVcpus: 48, spotBidPercentage: 40 });
    assert.deepEqual(queueSettingsOf([environment("unmanaged", { type: "UNMANAGED" })]), {});

    const sample = { frames: [1, 2, 3], secondsPerFrame: [2, 1, 1], startupSeconds: 1, cores: 2 };
    const child = { vcpus: 2, gpus: 0 };
    const defaults = awsEstimate(30, sample, awsTargetOf({ queue: "spot-cpu", child, region: "us-east-1", split: { arraySize: 2 } }));
    const farm = awsEstimate(30, sample, awsTargetOf({ queue: "spot-cpu", child, region: "us-east-1", split: { arraySize: 2 }, ...settings }));
    // c7i alone is a single price, and a 40% bid caps spot below the assumed discount's high bound.
    assert.ok(farm.usd!.high < defaults.usd!.high, `${JSON.stringify(farm.usd)} vs ${JSON.stringify(defaults.usd)}`);
    assert.notDeepEqual(farm.usd, defaults.usd);
  });
});
