import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { pickBlender, versionFromBanner } from "../../src/domain/blender-version.ts";
import { UserInputError } from "../../src/errors.ts";

const installed = ["3.4.1", "4.3.2", "4.5.0", "4.5.3", "5.2.2"].map((version) => ({ version, path: `/opt/blender-${version}/blender` }));

describe("pickBlender (the rule both backends share)", () => {
  it("takes the file's own release, its newest patch", () => {
    assert.deepEqual(pickBlender("4.5", installed), { kind: "same", chosen: installed[3] });
    assert.deepEqual(pickBlender("3.4", installed), { kind: "same", chosen: installed[0] });
  });

  it("takes the nearest release above when the file's is missing", () => {
    assert.deepEqual(pickBlender("4.4", installed), { kind: "newer", chosen: installed[3] });
    assert.deepEqual(pickBlender("3.6", installed), { kind: "newer", chosen: installed[1] });
    assert.deepEqual(pickBlender("2.93", installed), { kind: "newer", chosen: installed[0] });
  });

  it("goes older only when every candidate is older, and says so", () => {
    assert.deepEqual(pickBlender("5.3", installed), { kind: "older", chosen: installed[4] });
  });

  it("honours a requested release or exact version, telling whether it is older than the file", () => {
    assert.deepEqual(pickBlender("5.2", installed, "4.5"), { kind: "requested", chosen: installed[3], older: true });
    assert.deepEqual(pickBlender("3.4", installed, "4.5.0"), { kind: "requested", chosen: installed[2], older: false });
    assert.deepEqual(pickBlender("3.4", installed, "4.4"), { kind: "missing" });
    assert.deepEqual(pickBlender("3.4", [], undefined), { kind: "none" });
    assert.throws(() => pickBlender("3.4", installed, "latest"), UserInputError);
  });

  it("reads versions from `blender --version` banners", () => {
    assert.equal(versionFromBanner("Blender 5.2.2 LTS\n\tbuild date: 2026-01-01"), "5.2.2");
    assert.equal(versionFromBanner("Blender 4.3.2\n"), "4.3.2");
    assert.equal(versionFromBanner("some warning\nBlender 3.4.1\n"), "3.4.1");
    assert.equal(versionFromBanner("Python 3.11"), undefined);
  });
});
