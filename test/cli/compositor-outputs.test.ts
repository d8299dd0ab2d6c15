import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdir, readdir } from "node:fs/promises";
import { join, relative } from "node:path";
import { brender, makeScene, tempDir } from "../helpers/blender.ts";
import type { SceneInspection } from "../../src/domain/scene-inspection.ts";

/** Every file under a folder, as paths relative to it (an absent folder has none). */
async function filesUnder(folder: string): Promise<string[]> {
  const entries = await readdir(folder, { recursive: true, withFileTypes: true }).catch(() => []);
  return entries.filter((entry) => entry.isFile()).map((entry) => relative(folder, join(entry.parentPath, entry.name))).sort();
}

describe("compositor File Output nodes (local farm, real Blender)", () => {
  it("keeps every image under the render's outputs: a node in nested groups with an absolute folder, a top-level one climbing with ../; inspect flags both", async (t) => {
    const home = await tempDir(t);
    const outside = await tempDir(t, "brender-outside-");
    const absolute = join(outside, "absolute");
    // Enough "../" to reach / from any folder, then down into `outside`: lands there wherever the node's folder is.
    const climbing = `${"../".repeat(40)}${outside.slice(1)}/climbed/img_`;
    await mkdir(join(home, "project"));
    const blend = await makeScene(join(home, "project", "shot.blend"), {
      frames: [1, 2], resolution: [16, 16], samples: 1, file_output: true, file_output_slot: climbing, nested_file_output: `${absolute}/`,
    });

    const rendered = await brender(["render", blend, "--json"], { BRENDER_HOME: home });
    assert.equal(rendered.code, 0, rendered.stderr);
    const summary = JSON.parse(rendered.stdout) as { status: string; warnings: string[]; outputs: { location: string } };
    assert.equal(summary.status, "SUCCEEDED");
    assert.deepEqual(await filesUnder(outside), [], "nothing was written outside the render's folders");
    assert.deepEqual(await filesUnder(join(home, "project")), ["shot.blend"], "nothing was written next to the .blend");
    const compositor = await filesUnder(join(summary.outputs.location, "compositor"));
    const flattened = `${outside.slice(1)}/climbed/img_`;
    assert.deepEqual(compositor, [
      `Beauty_Copy/${flattened}0001.png`, `Beauty_Copy/${flattened}0002.png`,
      "Outer-Inner-Nested_Copy/Image0001.png", "Outer-Inner-Nested_Copy/Image0002.png",
    ], "every node's images are uploaded with the frames");
    assert.ok(summary.warnings.some((warning) => warning.includes("File Output node 'Beauty Copy'") && warning.includes("outside its folder")), summary.warnings.join("\n"));

    const inspected = await brender(["inspect", blend, "--json"]);
    assert.equal(inspected.code, 0, inspected.stderr);
    const inspection = JSON.parse(inspected.stdout) as SceneInspection;
    const nodes = inspection.scenes[0]!.compositor.fileOutputs;
    assert.deepEqual(
      nodes.map((node) => [node.node, node.groups, node.path, node.writesTo, node.escapes]),
      [
        ["Beauty Copy", [], join(home, "project", "file_output"), [join(outside, "climbed", "img_")], true],
        ["Nested Copy", ["Outer", "Inner"], absolute, [join(absolute, "Image")], true],
      ],
    );
    assert.equal(inspection.warnings.filter((warning) => /File Output node .* writes outside the \.blend's folder/.test(warning)).length, 2);
    const text = await brender(["inspect", blend]);
    assert.match(text.stdout, /"Nested Copy" \(in group "Outer > Inner"\) -> .*absolute\/Image {2}WRITES OUTSIDE/);
    assert.match(text.stdout, /"Beauty Copy" -> .*climbed\/img_ {2}WRITES OUTSIDE/);
  });
});
