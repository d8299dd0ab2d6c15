/** The pure parts of farm settings. */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { resolveFarmSettings, templateProps } from "../../../../src/backends/aws/farm/settings.ts";
import { resolveFarmProps } from "../../../../src/infra/farm-props.ts";

describe("pure parts", () => {
  it("resolveFarmSettings: asked values win, then the previous deploy's, then the defaults", () => {
    assert.deepEqual(resolveFarmSettings({ name: "a" }, undefined), { private: false, blenderVersions: ["4.2.0"] });
    const previous = { private: true, blenderVersions: ["3.6.0"], maxVcpus: 32, notificationEmail: "a@b.co" };
    assert.deepEqual(resolveFarmSettings({ name: "a", spotBidPercentage: 60 }, previous), { ...previous, spotBidPercentage: 60 });
    assert.deepEqual(resolveFarmSettings({ name: "a", blenderVersions: ["4.2.0"], maxVcpus: 8 }, previous).blenderVersions, ["4.2.0"]);
  });

  it("the default cost cap (farm deploy --max-cost): kept by later deploys, replaced, or removed with none; a stack prop", () => {
    const capped = resolveFarmSettings({ name: "a", maxCost: 20 }, undefined);
    assert.equal(capped.maxCostUsd, 20);
    assert.equal(resolveFarmSettings({ name: "a", maxVcpus: 8 }, capped).maxCostUsd, 20, "a deploy without --max-cost keeps it");
    assert.equal(resolveFarmSettings({ name: "a", maxCost: 7.5 }, capped).maxCostUsd, 7.5);
    assert.equal("maxCostUsd" in resolveFarmSettings({ name: "a", maxCost: "none" }, capped), false, "--max-cost none removes it");
    assert.equal(templateProps("a", capped, undefined).maxCostUsd, 20);
    assert.throws(() => resolveFarmProps({ farmName: "a", blenderVersions: ["4.2.0"], maxCostUsd: -1 }), /--max-cost "-1" is not an amount of US dollars/);
  });
});
