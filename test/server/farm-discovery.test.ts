import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { awsConfigured, DISCOVERY_TTL_MS, FarmDiscovery } from "../../src/server/farm-discovery.ts";
import { tempDir } from "../helpers/blender.ts";

describe("FarmDiscovery", () => {
  it("asks nothing when AWS is not configured", async () => {
    let calls = 0;
    const discovery = new FarmDiscovery({ enabled: false, list: async () => (calls++, []) });
    assert.deepEqual(await discovery.discover(), { farms: [] });
    assert.equal(calls, 0);
  });

  it("reuses an answer for a minute, shares one call between concurrent requests, then asks again", async () => {
    let now = 1_000;
    let calls = 0;
    const discovery = new FarmDiscovery({ enabled: true, now: () => now, list: async () => [{ farm: `f${++calls}`, region: "eu-west-1", status: "CREATE_COMPLETE" }] });
    const [first, second] = await Promise.all([discovery.discover(), discovery.discover()]);
    assert.deepEqual(first, { farms: [{ farm: "f1", region: "eu-west-1", status: "CREATE_COMPLETE" }] });
    assert.equal(second, first);
    now += DISCOVERY_TTL_MS - 1;
    assert.equal((await discovery.discover()).farms[0]?.farm, "f1");
    now += 1;
    assert.equal((await discovery.discover()).farms[0]?.farm, "f2");
    assert.equal(calls, 2);
  });

  it("turns a failure into an empty list and a one-line reason", async () => {
    const discovery = new FarmDiscovery({ enabled: true, list: async () => Promise.reject(new Error("Could not load credentials from any providers\nmore detail")) });
    assert.deepEqual(await discovery.discover(), { farms: [], error: "Cannot list AWS farms: Could not load credentials from any providers" });
  });
});

describe("awsConfigured", () => {
  it("is true for AWS variables or an ~/.aws folder with a config, false otherwise", async (t) => {
    const home = await tempDir(t);
    assert.equal(awsConfigured({}, home), false);
    assert.equal(awsConfigured({ AWS_PROFILE: " " }, home), false);
    for (const name of ["AWS_PROFILE", "AWS_ACCESS_KEY_ID", "AWS_REGION", "AWS_ENDPOINT_URL"]) assert.equal(awsConfigured({ [name]: "x" }, home), true, name);
    await mkdir(join(home, ".aws"));
    await writeFile(join(home, ".aws", "config"), "[default]\nregion = eu-west-1\n");
    assert.equal(awsConfigured({}, home), true);
  });
});
