import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { uploadProject } from "../../src/storage/content-upload.ts";
import { FsObjectStore } from "../../src/storage/fs-store.ts";
import { HashCache } from "../../src/storage/hash-cache.ts";
import { parseManifest } from "../../src/storage/project-manifest.ts";
import { tempDir } from "../helpers/blender.ts";

describe("uploadProject with extra files (packing)", () => {
  it("adds files from anywhere at their manifest paths, content-addressed: a re-submit sends 0 bytes", async (t) => {
    const dir = await tempDir(t);
    await mkdir(join(dir, "shots"), { recursive: true });
    await mkdir(join(dir, "tex"), { recursive: true });
    await writeFile(join(dir, "shots", "shot.blend"), "BLENDER-v304 pretend");
    await writeFile(join(dir, "tex", "wood.png"), "wood bytes");
    const store = new FsObjectStore(join(dir, "bucket"));
    const hashCache = HashCache.inMemory();
    const source = {
      kind: "file" as const,
      path: join(dir, "shots", "shot.blend"),
      extraFiles: [{ absolutePath: join(dir, "tex", "wood.png"), path: `_external${join(dir, "tex", "wood.png")}` }],
    };
    const first = await uploadProject(store, source, "p/projects/r1.manifest.json", { hashCache });
    assert.deepEqual({ files: first.files, bytesUploaded: first.bytesUploaded }, { files: 2, bytesUploaded: 20 + 10 });
    const manifest = parseManifest((await store.getBytes("p/projects/r1.manifest.json")).toString());
    assert.deepEqual(manifest.files.map((file) => file.path), [`_external${join(dir, "tex", "wood.png")}`, "shot.blend"]);
    const again = await uploadProject(store, source, "p/projects/r2.manifest.json", { hashCache });
    assert.equal(again.bytesUploaded, 0);
    assert.equal(again.bytesSkipped, 30);
    assert.equal((await readFile(join(dir, "tex", "wood.png"))).toString(), "wood bytes");
  });

  it("does not add a file the folder already holds twice, and names a vanished extra file (exit 2)", async (t) => {
    const dir = await tempDir(t);
    await writeFile(join(dir, "a.txt"), "a");
    const store = new FsObjectStore(join(dir, "..", `${dir.split("/").pop()}-bucket`));
    t.after(async () => (await import("node:fs/promises")).rm(join(dir, "..", `${dir.split("/").pop()}-bucket`), { recursive: true, force: true }));
    const same = await uploadProject(store, { kind: "folder", path: dir, extraFiles: [{ absolutePath: join(dir, "a.txt"), path: "a.txt" }] }, "p/projects/r1.manifest.json");
    assert.equal(same.files, 1);
    await assert.rejects(
      uploadProject(store, { kind: "folder", path: dir, extraFiles: [{ absolutePath: join(dir, "gone.png"), path: "_external/gone.png" }] }, "p/projects/r2.manifest.json"),
      (error: Error & { exitCode?: number }) => /gone\.png", a file the \.blend needs \(ENOENT\)/.test(error.message) && error.exitCode === 2,
    );
  });
});
