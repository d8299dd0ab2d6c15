/** listFarms against the fake cloud (fake-cloud.ts). */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { listFarms } from "../../../../src/backends/aws/farm/list.ts";
import { REGION, withCloud } from "./fake-cloud.ts";

describe("listFarms", () => {
  it("lists only brender-farm-* stacks, with status and region", withCloud(async (cloud) => {
    await cloud.deploy();
    assert.deepEqual(
      (await listFarms(cloud.clients.cloudFormation)).map(({ name, stackName, status, region }) => ({ name, stackName, status, region })),
      [{ name: "demo", stackName: "brender-farm-demo", status: "CREATE_COMPLETE", region: REGION }],
    );
  }));
});
