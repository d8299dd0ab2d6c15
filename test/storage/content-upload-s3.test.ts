import { describe, it, before, after } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { mkdir, readFile, writeFile, readdir } from "node:fs/promises";
import { join } from "node:path";
import { uploadProject } from "../../src/storage/content-upload.ts";
import { blobKey } from "../../src/storage/project-manifest.ts";
import { rebuildFromManifest } from "../../src/worker/actions/copy-efs-manifest.ts";
import { JobFailedError } from "../../src/errors.ts";
import { tempDir } from "../helpers/blender.ts";
import { startS3Server, type S3TestServer } from "../helpers/s3-server.ts";

let server: S3TestServer;
before(async () => {
  server = await startS3Server(undefined, ["projects"]);
});
after(() => server.stop());

describe("content-addressed projects on a real S3-compatible server", () => {
  it("an interrupted project upload resumes: the second submission sends only what did not arrive, and no manifest exists before", async (t) => {
    const dir = await tempDir(t);
    const files = Array.from({ length: 6 }, (_, index) => `texture-${index}.bin`);
    for (const [index, name] of files.entries()) await writeFile(join(dir, name), Buffer.alloc(300_000, index + 1));
    const store = server.store("projects", { prefix: `resume-${Date.now()}` });
    const controller = new AbortController();
    let sent = 0;
    await assert.rejects(
      uploadProject(store, { kind: "folder", path: dir }, "p/projects/r1.manifest.json", {
        concurrency: 1,
        signal: controller.signal,
        onProgress: (progress) => {
          sent = progress.filesDone;
          if (progress.filesDone >= 2) controller.abort();
        },
      }),
    );
    assert.ok(sent >= 2);
    assert.equal(await store.stat("p/projects/r1.manifest.json"), undefined, "no manifest points at missing blobs");

    const resumed = await uploadProject(store, { kind: "folder", path: dir }, "p/projects/r1.manifest.json");
    assert.equal(resumed.files, 6);
    assert.ok(resumed.bytesSkipped >= 2 * 300_000, `blobs that arrived are not sent again (skipped ${resumed.bytesSkipped})`);
    assert.equal(resumed.bytesUploaded + resumed.bytesSkipped, 6 * 300_000);
    assert.ok(await store.stat("p/projects/r1.manifest.json"));
  });

  it("rebuilds a 10,000-file project from S3", async (t) => {
    const dir = await tempDir(t);
    const source = join(dir, "project");
    for (let folder = 0; folder < 10; folder += 1) {
      await mkdir(join(source, `shots/${folder}`), { recursive: true });
      for (let file = 0; file < 1000; file += 1) await writeFile(join(source, `shots/${folder}/cache_${file}.txt`), `${folder}:${file}`);
    }
    const store = server.store("projects", { prefix: `big-${Date.now()}` });
    const uploaded = await uploadProject(store, { kind: "folder", path: source }, "big/projects/r1.manifest.json", { concurrency: 8 });
    assert.equal(uploaded.files, 10_000);
    const rebuilt = join(dir, "rebuilt");
    const result = await rebuildFromManifest(store, "big/projects/r1.manifest.json", rebuilt, { concurrency: 8 });
    assert.equal(result.files, 10_000);
    assert.equal(await readFile(join(rebuilt, "shots/7/cache_123.txt"), "utf8"), "7:123");
    assert.equal((await readdir(join(rebuilt, "shots/3"))).length, 1000);
  });

  it("detects a blob corrupted in S3 by its hash", async (t) => {
    const dir = await tempDir(t);
    const source = join(dir, "project");
    await mkdir(join(source, "tex"), { recursive: true });
    await writeFile(join(source, "tex", "wood.png"), "wood grain");
    await writeFile(join(source, "scene.blend"), "scene bytes");
    const store = server.store("projects", { prefix: `corrupt-${Date.now()}` });
    await uploadProject(store, { kind: "folder", path: source }, "c/projects/r1.manifest.json");
    await store.putBytes(blobKey(createHash("sha256").update("wood grain").digest("hex")), "tampered");
    await assert.rejects(
      rebuildFromManifest(store, "c/projects/r1.manifest.json", join(dir, "again")),
      (error: unknown) => error instanceof JobFailedError && /tex\/wood\.png.*corrupted in the object store/.test(error.message),
    );
  });
});
