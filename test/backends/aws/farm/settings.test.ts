/** The pure parts of farm settings. */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { resolveFarmSettings } from "../../../../src/backends/aws/farm/settings.ts";

describe("pure parts", () => {
  it("resolveFarmSettings: asked values win, then the previous deploy's, then the defaults", () => {
    assert.deepEqual(resolveFarmSettings({ name: "a" }, undefined), { private: false, blenderVersions: ["4.2.0"] });
    const previous = { private: true, blenderVersions: ["3.6.0"], maxVcpus: 32, notificationEmail: "a@b.co" };
    assert.deepEqual(resolveFarmSettings({ name: "a", spotBidPercentage: 60 }, previous), { ...previous, spotBidPercentage: 60 });
    assert.deepEqual(resolveFarmSettings({ name: "a", blenderVersions: ["4.2.0"], maxVcpus: 8 }, previous).blenderVersions, ["4.2.0"]);
  });
});
