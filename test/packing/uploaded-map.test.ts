import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { TracedDependency } from "../../src/domain/dependencies.ts";
import { unmappedDependencies } from "../../src/packing/uploaded-map.ts";

function image(path: string, library: string | null = null): TracedDependency {
  return { kind: "image", owner: `Image "${path}"`, library, path, resolved: path, folder: false, packed: false, files: [path], missing: [] };
}

describe("unmappedDependencies: what an upload lacks once its packing map is read", () => {
  it("drops paths the map points at a copy in the upload; keeps those whose copy is absent, and all of them without a map", async () => {
    const root = await mkdtemp(join(tmpdir(), "brender-uploaded-map-"));
    try {
      const traced = [image("/home/a/wood.png"), image("/home/a/gone.png"), image("/home/a/tiles.<UDIM>.png"), image("/elsewhere.png")];
      assert.deepEqual(await unmappedDependencies(traced, root), traced);
      await mkdir(join(root, "_external", "home", "a"), { recursive: true });
      await writeFile(join(root, "_external", "home", "a", "wood.png"), "x");
      await writeFile(join(root, "_external", "home", "a", "tiles.1001.png"), "x");
      const entries = ["/home/a/wood.png", "/home/a/gone.png", "/home/a/tiles.<UDIM>.png"].map((path) => ({ library: null, path, resolved: path, target: `_external${path}` }));
      await writeFile(join(root, "_brender-dependencies.json"), JSON.stringify({ schemaVersion: 1, entries }));
      assert.deepEqual((await unmappedDependencies(traced, root)).map((dependency) => dependency.path), ["/home/a/gone.png", "/elsewhere.png"]);
      // The same path written by a library is another identity.
      assert.deepEqual((await unmappedDependencies([image("/home/a/wood.png", "/lib.blend")], root)).length, 1);
      await writeFile(join(root, "_brender-dependencies.json"), "not json");
      assert.deepEqual(await unmappedDependencies(traced, root), traced);
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });
});
