import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { newerFileWarning } from "../../src/domain/blender-release.ts";

describe("newerFileWarning", () => {
  it("warns when a newer release saved the file, naming both versions and what may differ", () => {
    const warning = newerFileWarning("4.3", "3.4.1");
    assert.match(warning ?? "", /saved by Blender 4\.3, newer than Blender 3\.4\.1 that renders it/);
    assert.match(warning ?? "", /what 3\.4 does not know .* is dropped or read with defaults/);
    assert.match(warning ?? "", /render with Blender 4\.3 or newer/);
    assert.ok(newerFileWarning("3.5", "3.4.1"), "a newer minor release");
    assert.ok(newerFileWarning("5.0", "4.5.2 LTS"), "a newer major release, LTS suffix");
    assert.ok(newerFileWarning("2.93", "2.80.0"), "minor releases compare as numbers");
  });

  it("stays quiet for the same release (any patch), an older file, or versions it cannot read", () => {
    assert.equal(newerFileWarning("3.4", "3.4.1"), undefined);
    assert.equal(newerFileWarning("2.80", "3.4.1"), undefined);
    assert.equal(newerFileWarning("3.6", "4.2.0 LTS"), undefined);
    assert.equal(newerFileWarning("4.3", "unknown"), undefined);
  });
});
