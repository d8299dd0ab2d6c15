import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { open } from "node:fs/promises";
import { join } from "node:path";
import { brender, makeScene, tempDir } from "../helpers/blender.ts";
import type { SceneInspection } from "../../src/domain/scene-inspection.ts";

/** Makes an uncompressed .blend claim in its header that Blender `digits` ("403" = 4.3) saved it. */
async function claimSavedBy(blend: string, digits: string): Promise<void> {
  const file = await open(blend, "r+");
  try {
    const header = Buffer.alloc(12);
    await file.read(header, 0, 12, 0);
    assert.match(header.toString("latin1"), /^BLENDER[-_][vV]\d{3}$/, "an uncompressed, 12-byte header");
    await file.write(Buffer.from(digits, "latin1"), 0, 3, 9);
  } finally {
    await file.close();
  }
}

describe("a .blend saved by a newer Blender (real Blender, header patched to claim 4.3)", () => {
  it("inspect and a local render say which Blender saved it, which renders it, and what may differ", async (t) => {
    const home = await tempDir(t);
    const blend = await makeScene(join(home, "shot.blend"), { frames: [1, 2], resolution: [16, 16], samples: 1 });
    const plain = JSON.parse((await brender(["inspect", blend, "--json"])).stdout) as SceneInspection;
    assert.deepEqual(plain.warnings, [], "a file from this Blender gets no warning");

    await claimSavedBy(blend, "403");
    const inspected = await brender(["inspect", blend, "--json"]);
    assert.equal(inspected.code, 0, inspected.stderr);
    const inspection = JSON.parse(inspected.stdout) as SceneInspection;
    assert.equal(inspection.savedWith, "4.3");
    const expected = `The file was saved by Blender 4.3, newer than Blender ${inspection.blenderVersion} that renders it here`;
    assert.equal(inspection.warnings.length, 1);
    assert.ok(inspection.warnings[0]!.startsWith(expected), inspection.warnings[0]);
    assert.match(inspection.warnings[0]!, /is dropped or read with defaults, so frames may differ from 4\.3; render with Blender 4\.3 or newer/);
    const text = await brender(["inspect", blend]);
    assert.ok(text.stdout.includes(`  warning: ${expected}`), text.stdout);

    const json = await brender(["render", blend, "--frames", "1", "--json"], { BRENDER_HOME: home });
    assert.equal(json.code, 0, json.stderr);
    const summary = JSON.parse(json.stdout) as { status: string; warnings: string[] };
    assert.equal(summary.status, "SUCCEEDED");
    assert.deepEqual(summary.warnings, [inspection.warnings[0]]);
    const human = await brender(["render", blend, "--frames", "2"], { BRENDER_HOME: home });
    assert.equal(human.code, 0, human.stderr);
    assert.ok(human.stderr.includes(`warning: ${expected}`), human.stderr);
  });
});
