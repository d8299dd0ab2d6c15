import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { chmod, mkdir, readFile, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { uploadProject } from "../../src/storage/content-upload.ts";
import { blobKey } from "../../src/storage/project-manifest.ts";
import { tempDir } from "../helpers/blender.ts";
import { payloadFor, workerHarness } from "./harness.ts";

// Run `npm run build` first: the worker runs dist/ (as every worker test does).

const sha = (data: string | Buffer) => createHash("sha256").update(data).digest("hex");

async function writeTree(root: string, files: Record<string, string>): Promise<void> {
  for (const [path, content] of Object.entries(files)) {
    const target = join(root, ...path.split("/"));
    await mkdir(join(target, ".."), { recursive: true });
    await writeFile(target, content);
  }
}

const PROJECT = {
  "scene.blend": "BLENDER-v304 a scene",
  "textures/wood.png": "wood pixels",
  "textures/copy-of-wood.png": "wood pixels",
  "cache/sim_0001.bphys": "a disk cache frame Blender may rewrite in place",
  "notes.txt": "other files are copied",
};

describe("copy_efs from the folder store: hard links for files the render only reads", () => {
  it("links .blend and media files to the store's blobs, copies caches and everything else, and keeps each file's mode", async (t) => {
    const { store, work, runJob } = await workerHarness(t);
    const dir = await tempDir(t);
    await writeTree(join(dir, "p"), PROJECT);
    await writeFile(join(dir, "p", "textures", "run.png"), "an executable image");
    await chmod(join(dir, "p", "textures", "run.png"), 0o755);
    const key = "proj/projects/linked.manifest.json";
    await uploadProject(store, { kind: "folder", path: join(dir, "p") }, key);

    const result = await runJob("copy_efs", payloadFor("linked"), { BUCKET_KEY: key, BRENDER_LOG_LEVEL: "info" });
    assert.equal(result.code, 0, result.stderr);
    const project = join(work, "linked", "project");
    const blobOf = (content: string) => stat(store.describe(blobKey(sha(content))));
    for (const path of ["scene.blend", "textures/wood.png", "textures/copy-of-wood.png"]) {
      const file = await stat(join(project, path));
      assert.equal(file.ino, (await blobOf(PROJECT[path as keyof typeof PROJECT])).ino, `${path} is a hard link to its blob`);
      assert.equal(file.mode & 0o777, 0o644);
    }
    for (const path of ["cache/sim_0001.bphys", "notes.txt"]) {
      const file = await stat(join(project, path));
      assert.notEqual(file.ino, (await blobOf(PROJECT[path as keyof typeof PROJECT])).ino, `${path} is a copy`);
      assert.equal(file.nlink, 1);
      assert.equal(await readFile(join(project, path), "utf8"), PROJECT[path as keyof typeof PROJECT]);
    }
    // Its blob has mode 644: linking would have made the store's blob executable, or the file not.
    const executable = await stat(join(project, "textures", "run.png"));
    assert.equal(executable.mode & 0o777, 0o755);
    assert.equal(executable.nlink, 1);
    assert.equal((await blobOf("an executable image")).mode & 0o777, 0o644);
    assert.match(result.stderr, /"filesLinked":3/);
  });

  it("a changed source never alters an earlier render's work folder (nor the blob it links to)", async (t) => {
    const { store, work, runJob } = await workerHarness(t);
    const dir = await tempDir(t);
    await writeTree(join(dir, "p"), PROJECT);
    await uploadProject(store, { kind: "folder", path: join(dir, "p") }, "proj/projects/first.manifest.json");
    assert.equal((await runJob("copy_efs", payloadFor("first"), { BUCKET_KEY: "proj/projects/first.manifest.json" })).code, 0);

    await writeFile(join(dir, "p", "scene.blend"), "BLENDER-v304 the scene, edited");
    await writeFile(join(dir, "p", "textures", "wood.png"), "repainted wood");
    await uploadProject(store, { kind: "folder", path: join(dir, "p") }, "proj/projects/second.manifest.json");
    const second = await runJob("copy_efs", payloadFor("second"), { BUCKET_KEY: "proj/projects/second.manifest.json" });
    assert.equal(second.code, 0, second.stderr);

    const first = join(work, "first", "project");
    assert.equal(await readFile(join(first, "scene.blend"), "utf8"), PROJECT["scene.blend"]);
    assert.equal(await readFile(join(first, "textures", "wood.png"), "utf8"), PROJECT["textures/wood.png"]);
    assert.equal(await readFile(store.describe(blobKey(sha(PROJECT["scene.blend"]))), "utf8"), PROJECT["scene.blend"]);
    assert.equal(await readFile(join(work, "second", "project", "scene.blend"), "utf8"), "BLENDER-v304 the scene, edited");
    assert.equal(await readFile(join(work, "second", "project", "textures", "wood.png"), "utf8"), "repainted wood");
  });

  it("links nothing for a custom Python render, whose script may write anywhere", async (t) => {
    const { store, work, runJob } = await workerHarness(t);
    const dir = await tempDir(t);
    await writeTree(join(dir, "p"), PROJECT);
    const key = "proj/projects/python.manifest.json";
    await uploadProject(store, { kind: "folder", path: join(dir, "p") }, key);
    const payload = payloadFor("python", { type: "python", python: { script: "script.py" } });
    const result = await runJob("copy_efs", payload, { BUCKET_KEY: key });
    assert.equal(result.code, 0, result.stderr);
    for (const path of Object.keys(PROJECT)) assert.equal((await stat(join(work, "python", "project", path))).nlink, 1, path);
  });
});
