import { before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { chmod, lstat, mkdir, readdir, readFile, stat, symlink, utimes, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";
import fc from "fast-check";
import { UserInputError } from "../../src/errors.ts";
import { mapWithConcurrency, SMALL_BLOB_BYTES, uploadProject, type UploadProgress } from "../../src/storage/content-upload.ts";
import { FsObjectStore } from "../../src/storage/fs-store.ts";
import { HashCache, hashCachePath, sha256OfFile } from "../../src/storage/hash-cache.ts";
import type { ObjectStore } from "../../src/storage/object-store.ts";
import {
  blobKey,
  buildManifest,
  manifestKeyFor,
  manifestPathProblem,
  parseManifest,
  projectManifestSchema,
  serializeManifest,
  type ProjectManifest,
} from "../../src/storage/project-manifest.ts";
import { rebuildFromManifest } from "../../src/worker/actions/copy-efs-manifest.ts";
import { REPO, tempDir } from "../helpers/blender.ts";
import { payloadFor, workerHarness } from "../worker/harness.ts";

const sha = (data: string | Buffer) => createHash("sha256").update(data).digest("hex");
const KEY = "proj/projects/r1.manifest.json";

/** Writes files (path → content) under a folder, creating sub-folders. */
async function writeTree(root: string, files: Record<string, string | Buffer>): Promise<void> {
  for (const [path, content] of Object.entries(files)) {
    const target = join(root, ...path.split("/"));
    await mkdir(join(target, ".."), { recursive: true });
    await writeFile(target, content);
  }
}

/** Every file under a folder as path → bytes, to compare trees exactly. */
async function readTree(root: string): Promise<Map<string, Buffer>> {
  const tree = new Map<string, Buffer>();
  for (const entry of await readdir(root, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue;
    const path = join(entry.parentPath, entry.name);
    tree.set(path.slice(root.length + 1), await readFile(path));
  }
  return tree;
}

async function blobKeys(store: ObjectStore): Promise<string[]> {
  const keys: string[] = [];
  for await (const object of store.list("cas/")) keys.push(object.key);
  return keys;
}

async function storedManifest(store: ObjectStore, key: string): Promise<ProjectManifest> {
  return parseManifest((await store.getBytes(key)).toString());
}

/** Dates every file an hour back, so the hash cache trusts them (fresh files are "racy"). */
async function ageFiles(root: string): Promise<void> {
  const past = new Date(Date.now() - 3600_000);
  for (const entry of await readdir(root, { recursive: true, withFileTypes: true })) {
    if (entry.isFile()) await utimes(join(entry.parentPath, entry.name), past, past);
  }
}

const SAMPLE = {
  "scene.blend": "BLENDER-v304 pretend scene",
  "textures/wood.png": Buffer.alloc(5000, 7),
  "textures/metal.png": Buffer.alloc(3000, 9),
  "textures/copy of wood.png": Buffer.alloc(5000, 7),
  "cache/sim_0001.vdb": "volume",
};
const SAMPLE_BYTES = Object.values(SAMPLE).reduce((sum, content) => sum + content.length, 0);

describe("project manifest", () => {
  const segment = fc.stringMatching(/^[A-Za-z0-9 _.\-é日]{1,8}$/).filter((name) => name !== "." && name !== "..");

  it("accepts relative POSIX paths and refuses ones that could leave the folder", () => {
    fc.assert(
      fc.property(fc.array(segment, { minLength: 1, maxLength: 4 }), (segments) => {
        assert.equal(manifestPathProblem(segments.join("/")), undefined);
      }),
    );
    fc.assert(
      fc.property(fc.array(segment, { maxLength: 3 }), fc.array(segment, { maxLength: 3 }), fc.constantFrom("..", ".", ""), (before, after, bad) => {
        assert.notEqual(manifestPathProblem([...before, bad, ...after].join("/")), undefined);
      }),
    );
    for (const bad of ["/etc/passwd", "C:/x", "a\\b", "a\0b", ""]) assert.notEqual(manifestPathProblem(bad), undefined, bad);
  });

  it("builds sorted manifests that survive serialisation, and refuses duplicates, file/folder clashes and wrong totals", () => {
    const file = (path: string, size = 1) => ({ path, size, sha256: sha(path), mode: 0o644 as const });
    fc.assert(
      fc.property(fc.uniqueArray(fc.array(segment, { minLength: 1, maxLength: 3 }).map((s) => `f/${s.join("/")}.x`), { maxLength: 20 }), (paths) => {
        fc.pre(!paths.some((a) => paths.some((b) => b.startsWith(`${a}/`))));
        const manifest = buildManifest(paths.map((path) => file(path, path.length)));
        assert.deepEqual(manifest.files.map((entry) => entry.path), [...paths].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)));
        assert.equal(manifest.totalBytes, paths.reduce((sum, path) => sum + path.length, 0));
        assert.deepEqual(parseManifest(serializeManifest(manifest)), manifest);
      }),
    );
    assert.throws(() => buildManifest([file("a"), file("a")]), /listed twice/);
    assert.throws(() => buildManifest([file("a"), file("a/b")]), /"a" is both a file and the folder of "a\/b"/);
    assert.throws(() => buildManifest([file("../x")]), /'\.\.'/);
    const good = buildManifest([file("b"), file("a")]);
    assert.equal(projectManifestSchema.safeParse({ ...good, totalBytes: 5 }).success, false);
    assert.equal(projectManifestSchema.safeParse({ ...good, files: [...good.files].reverse() }).success, false);
    assert.throws(() => parseManifest(JSON.stringify({ ...good, files: [{ ...good.files[0], mode: 0o777 }] })), /files\.0\.mode/);
  });
});

describe("uploadProject", () => {
  it("uploads a folder once: a second submission uploads no file bytes, and the manifest names every file", async (t) => {
    const dir = await tempDir(t);
    const store = new FsObjectStore(join(dir, "bucket"));
    await writeTree(join(dir, "p"), { ...SAMPLE, "scene.blend1": "backup", "scene.blend12": "backup" });
    await chmod(join(dir, "p", "cache", "sim_0001.vdb"), 0o755);
    const progress: UploadProgress[] = [];

    const first = await uploadProject(store, { kind: "folder", path: join(dir, "p") }, KEY, { onProgress: (p) => progress.push(p) });
    assert.deepEqual(first, { manifestKey: KEY, files: 5, bytesTotal: SAMPLE_BYTES, bytesUploaded: SAMPLE_BYTES - 5000, bytesSkipped: 5000 });
    const manifest = await storedManifest(store, KEY);
    assert.deepEqual(manifest.files.map((file) => [file.path, file.size, file.mode]), [
      ["cache/sim_0001.vdb", 6, 0o755],
      ["scene.blend", SAMPLE["scene.blend"].length, 0o644],
      ["textures/copy of wood.png", 5000, 0o644],
      ["textures/metal.png", 3000, 0o644],
      ["textures/wood.png", 5000, 0o644],
    ]);
    assert.equal(manifest.totalBytes, SAMPLE_BYTES);
    assert.equal((await blobKeys(store)).length, 4, "two identical textures share one blob");
    for (const file of manifest.files) {
      assert.equal(sha(await store.getBytes(blobKey(file.sha256))), file.sha256);
    }
    const last = progress.at(-1)!;
    assert.deepEqual(last, { filesDone: 5, files: 5, bytesDone: SAMPLE_BYTES, bytesTotal: SAMPLE_BYTES, bytesSkipped: 5000 });
    assert.ok(progress.every((p, i) => i === 0 || p.bytesDone >= progress[i - 1]!.bytesDone), "progress never goes back");

    const again = await uploadProject(store, { kind: "folder", path: join(dir, "p") }, "proj/projects/r2.manifest.json");
    assert.equal(again.bytesUploaded, 0);
    assert.equal(again.bytesSkipped, SAMPLE_BYTES);
    assert.deepEqual(await storedManifest(store, "proj/projects/r2.manifest.json"), manifest);
  });

  it("uploads only the changed texture's bytes, and two projects sharing a file share its blob", async (t) => {
    const dir = await tempDir(t);
    const store = new FsObjectStore(join(dir, "bucket"));
    await writeTree(join(dir, "p"), SAMPLE);
    await uploadProject(store, { kind: "folder", path: join(dir, "p") }, KEY);
    const changed = Buffer.alloc(4321, 1);
    await writeFile(join(dir, "p", "textures", "metal.png"), changed);
    const second = await uploadProject(store, { kind: "folder", path: join(dir, "p") }, "proj/projects/r2.manifest.json");
    assert.equal(second.bytesUploaded, changed.length);
    assert.equal(second.bytesSkipped, second.bytesTotal - changed.length);

    await writeTree(join(dir, "other"), { "main.blend": "another scene", "tex/planks.png": SAMPLE["textures/wood.png"] });
    const other = await uploadProject(store, { kind: "folder", path: join(dir, "other") }, manifestKeyFor("other", "r9"));
    assert.equal(other.bytesUploaded, "another scene".length, "the shared texture was already there");
    const otherManifest = await storedManifest(store, "other/projects/r9.manifest.json");
    const firstManifest = await storedManifest(store, KEY);
    const woodBlob = firstManifest.files.find((file) => file.path === "textures/wood.png")!.sha256;
    assert.equal(otherManifest.files.find((file) => file.path === "tex/planks.png")!.sha256, woodBlob);
  });

  it("uploads a single file as a one-file manifest", async (t) => {
    const dir = await tempDir(t);
    const store = new FsObjectStore(join(dir, "bucket"));
    await writeFile(join(dir, "shot 010.blend"), "scene bytes");
    const result = await uploadProject(store, { kind: "file", path: join(dir, "shot 010.blend") }, KEY);
    assert.equal(result.files, 1);
    const manifest = await storedManifest(store, KEY);
    assert.deepEqual(manifest.files, [{ path: "shot 010.blend", size: 11, sha256: sha("scene bytes"), mode: 0o644 }]);
  });

  it("does not re-read unchanged files when given the hash cache, across processes (saved to disk)", async (t) => {
    const dir = await tempDir(t);
    const store = new FsObjectStore(join(dir, "bucket"));
    const project = join(dir, "p");
    await writeTree(project, SAMPLE);
    await ageFiles(project);
    const reads: string[] = [];
    const hashFile = async (path: string) => {
      reads.push(path);
      return sha256OfFile(path);
    };
    const cacheFile = hashCachePath(join(dir, "home"));
    assert.equal(cacheFile, join(dir, "home", "cache", "hashes.json"));

    await uploadProject(store, { kind: "folder", path: project }, KEY, { hashCache: await HashCache.open(cacheFile), hashFile });
    assert.equal(reads.length, 5);
    reads.length = 0;
    await uploadProject(store, { kind: "folder", path: project }, KEY, { hashCache: await HashCache.open(cacheFile), hashFile });
    assert.deepEqual(reads, [], "nothing read: every file's size, mtime and inode matched");

    // Same size, new content, older mtime than before but a different one: read again.
    await writeFile(join(project, "textures", "metal.png"), Buffer.alloc(3000, 1));
    const past = new Date(Date.now() - 7200_000);
    await utimes(join(project, "textures", "metal.png"), past, past);
    const result = await uploadProject(store, { kind: "folder", path: project }, KEY, { hashCache: await HashCache.open(cacheFile), hashFile });
    assert.deepEqual(reads, [join(project, "textures", "metal.png")]);
    assert.equal(result.bytesUploaded, 3000);

    await writeFile(cacheFile, "{ not json");
    assert.equal((await HashCache.open(cacheFile)).size, 0, "a damaged cache is an empty cache");
  });

  it("does not trust a hash of a file modified moments before it was read (its mtime could hide a second write)", () => {
    const cache = HashCache.inMemory();
    const started = 1_700_000_000_000.5;
    cache.remember("/p/fresh", { size: 1, mtimeMs: started - 50.25, ino: 1 }, sha("a"), started);
    cache.remember("/p/old", { size: 1, mtimeMs: started - 500.25, ino: 2 }, sha("b"), started);
    // Whole-second timestamps (FAT, some network file systems) need a wider margin.
    cache.remember("/p/coarse", { size: 1, mtimeMs: started - 1000.5, ino: 3 }, sha("c"), started);
    assert.equal(cache.lookup("/p/fresh", { size: 1, mtimeMs: started - 50.25, ino: 1 }), undefined);
    assert.equal(cache.lookup("/p/old", { size: 1, mtimeMs: started - 500.25, ino: 2 }), sha("b"));
    assert.equal(cache.lookup("/p/old", { size: 1, mtimeMs: started - 500.25, ino: 9 }), undefined, "another inode is another file");
    assert.equal(cache.lookup("/p/coarse", { size: 1, mtimeMs: started - 1000.5, ino: 3 }), undefined);
  });

  it("keeps paths with spaces and unicode, and rebuilds them byte-identically", async (t) => {
    const dir = await tempDir(t);
    const store = new FsObjectStore(join(dir, "bucket"));
    const files = { "scène finale/текстура 1.png": "cyrillic", "日本語/ファイル.blend": "japanese", "a b/c  d/e.txt": "spaces", "emoji 🎬.txt": "film" };
    await writeTree(join(dir, "p"), files);
    await uploadProject(store, { kind: "folder", path: join(dir, "p") }, KEY);
    const manifest = await storedManifest(store, KEY);
    assert.deepEqual(manifest.files.map((file) => file.path).sort(), Object.keys(files).sort());
    const rebuilt = await rebuildFromManifest(store, KEY, join(dir, "out"));
    assert.equal(rebuilt.files, 4);
    assert.deepEqual(await readTree(join(dir, "out")), await readTree(join(dir, "p")));
  });

  it("follows links that stay inside the folder and refuses one that points outside, uploading nothing", async (t) => {
    const dir = await tempDir(t);
    const store = new FsObjectStore(join(dir, "bucket"));
    await writeTree(join(dir, "p"), { "scene.blend": "scene", "textures/real.png": "pixels" });
    await symlink("textures/real.png", join(dir, "p", "alias.png"));
    await symlink("textures", join(dir, "p", "tex"));
    await uploadProject(store, { kind: "folder", path: join(dir, "p") }, KEY);
    const manifest = await storedManifest(store, KEY);
    assert.deepEqual(manifest.files.map((file) => file.path), ["alias.png", "scene.blend", "tex/real.png", "textures/real.png"]);

    await writeFile(join(dir, "secret.txt"), "not part of the project");
    await symlink("../secret.txt", join(dir, "p", "leak.png"));
    const bucket = new FsObjectStore(join(dir, "bucket2"));
    await assert.rejects(uploadProject(bucket, { kind: "folder", path: join(dir, "p") }, KEY), (error: unknown) => {
      assert.ok(error instanceof UserInputError);
      assert.equal(error.message, `The link "${join(dir, "p", "leak.png")}" points outside the project folder (to "${join(dir, "secret.txt")}"); copy what it points at into the project folder instead.`);
      return true;
    });
    assert.deepEqual(await blobKeys(bucket), []);
    assert.equal(await bucket.stat(KEY), undefined);
  });

  it("refuses a link loop instead of walking forever", async (t) => {
    const dir = await tempDir(t);
    await writeTree(join(dir, "p"), { "scene.blend": "scene" });
    await mkdir(join(dir, "p", "sub"));
    await symlink("..", join(dir, "p", "sub", "up"));
    await assert.rejects(uploadProject(new FsObjectStore(join(dir, "bucket")), { kind: "folder", path: join(dir, "p") }, KEY), /The link ".*sub\/up" points back at a folder that holds it/);
  });

  it("fails naming the file when it changes during its upload, and leaves no blob and no manifest", async (t) => {
    const dir = await tempDir(t);
    const inner = new FsObjectStore(join(dir, "bucket"));
    await writeTree(join(dir, "p"), { "scene.blend": "scene", "big.png": "original" });
    // A store whose upload reads the file just after something rewrote it.
    const store: ObjectStore = Object.assign(Object.create(inner) as ObjectStore, {
      putFile: async (key: string, path: string) => {
        if (path.endsWith("big.png")) await writeFile(path, "rewritten!");
        return inner.putFile(key, path);
      },
    });
    await assert.rejects(uploadProject(store, { kind: "folder", path: join(dir, "p") }, KEY, { concurrency: 1 }), (error: unknown) => {
      assert.ok(error instanceof UserInputError);
      assert.match(error.message, new RegExp(`^"${join(dir, "p", "big.png")}" changed while it was being uploaded \\(it was 8 bytes with sha256 ${sha("original")}, the upload read 10 bytes with sha256 ${sha("rewritten!")}\\); submit again`));
      return true;
    });
    assert.equal(await inner.stat(blobKey(sha("rewritten!"))), undefined);
    assert.equal(await inner.stat(blobKey(sha("original"))), undefined);
    assert.equal(await inner.stat(KEY), undefined);
  });

  it("checks for blobs many at a time, once each, then uploads only the missing ones, small ones at their own limit", async (t) => {
    const dir = await tempDir(t);
    const inner = new FsObjectStore(join(dir, "bucket"));
    const files: Record<string, string> = {};
    for (let index = 0; index < 60; index++) files[`tex/t${index}.png`] = `texture ${index}`;
    files["copy.png"] = "texture 0"; // the same bytes as tex/t0.png: one blob, checked once
    await writeTree(join(dir, "p"), files);
    await uploadProject(inner, { kind: "folder", path: join(dir, "p") }, KEY);
    await writeTree(join(dir, "p"), { "tex/t7.png": "changed", "tex/t8.png": "changed too" });

    const checked: string[] = [];
    let checking = 0;
    let mostChecks = 0;
    let uploading = 0;
    let mostUploads = 0;
    const slow = () => new Promise((resolve) => setTimeout(resolve, 5));
    const store: ObjectStore = Object.assign(Object.create(inner) as ObjectStore, {
      stat: async (key: string) => {
        checked.push(key);
        mostChecks = Math.max(mostChecks, ++checking);
        await slow();
        checking -= 1;
        return inner.stat(key);
      },
      putFile: async (key: string, path: string) => {
        mostUploads = Math.max(mostUploads, ++uploading);
        await slow();
        uploading -= 1;
        return inner.putFile(key, path);
      },
    });
    const result = await uploadProject(store, { kind: "folder", path: join(dir, "p") }, "proj/projects/r2.manifest.json", { concurrency: 2, checkConcurrency: 16, smallConcurrency: 1 });
    assert.equal(checked.length, 60, "one check per distinct content");
    assert.equal(new Set(checked).size, 60);
    assert.equal(mostChecks, 16);
    assert.equal(mostUploads, 1);
    assert.equal(result.bytesUploaded, "changed".length + "changed too".length);
  });

  it("rebuilds small blobs many at a time and large ones a few at a time", async (t) => {
    const dir = await tempDir(t);
    const inner = new FsObjectStore(join(dir, "bucket"));
    const files: Record<string, string | Buffer> = { "big/a.vdb": Buffer.alloc(SMALL_BLOB_BYTES, 1), "big/b.vdb": Buffer.alloc(SMALL_BLOB_BYTES, 2) };
    for (let index = 0; index < 40; index++) files[`tex/t${index}.png`] = `texture ${index}`;
    await writeTree(join(dir, "p"), files);
    await uploadProject(inner, { kind: "folder", path: join(dir, "p") }, KEY);
    const inFlight = { small: 0, large: 0 };
    const most = { small: 0, large: 0 };
    const store: ObjectStore = Object.assign(Object.create(inner) as ObjectStore, {
      getFile: async (key: string, destination: string) => {
        const kind = ((await inner.stat(key))?.size ?? 0) >= SMALL_BLOB_BYTES ? "large" : "small";
        most[kind] = Math.max(most[kind], ++inFlight[kind]);
        await new Promise((resolve) => setTimeout(resolve, 5));
        inFlight[kind] -= 1;
        return inner.getFile(key, destination);
      },
    });
    await rebuildFromManifest(store, KEY, join(dir, "rebuilt"), { concurrency: 1, smallConcurrency: 8 });
    assert.deepEqual(most, { small: 8, large: 1 });
    assert.deepEqual(await readTree(join(dir, "rebuilt")), await readTree(join(dir, "p")));
  });

  it("refuses an empty folder and a manifest key that is not one", async (t) => {
    const dir = await tempDir(t);
    await mkdir(join(dir, "empty"));
    const store = new FsObjectStore(join(dir, "bucket"));
    await assert.rejects(uploadProject(store, { kind: "folder", path: join(dir, "empty") }, KEY), /has no files to upload/);
    await assert.rejects(uploadProject(store, { kind: "folder", path: join(dir, "empty") }, "proj/x.json"), /must end with "\.manifest\.json"/);
  });

  it("mapWithConcurrency keeps order, respects the limit and stops starting work after a failure", async () => {
    let running = 0;
    let peak = 0;
    const out = await mapWithConcurrency([...Array(20).keys()], 3, async (n) => {
      running += 1;
      peak = Math.max(peak, running);
      await new Promise((resolve) => setTimeout(resolve, 1));
      running -= 1;
      return n * 2;
    });
    assert.deepEqual(out, [...Array(20).keys()].map((n) => n * 2));
    assert.equal(peak, 3);
    const started: number[] = [];
    await assert.rejects(
      mapWithConcurrency([...Array(20).keys()], 2, async (n) => {
        started.push(n);
        if (n === 1) throw new Error("boom");
        await new Promise((resolve) => setTimeout(resolve, 1));
      }),
      /boom/,
    );
    assert.ok(started.length <= 3, `started ${started.length}`);
  });
});

describe("copy_efs from a manifest (real worker)", () => {
  before(async () => {
    // The worker runs the build; make sure it has this code.
    await promisify(execFile)("npm", ["run", "build"], { cwd: REPO });
  });

  it("rebuilds the folder byte-identically, executable bits and duplicates included", async (t) => {
    const { store, work, runJob } = await workerHarness(t);
    const dir = await tempDir(t);
    await writeTree(join(dir, "p"), SAMPLE);
    await chmod(join(dir, "p", "cache", "sim_0001.vdb"), 0o755);
    await uploadProject(store, { kind: "folder", path: join(dir, "p") }, "proj/projects/rebuilt.manifest.json");
    const result = await runJob("copy_efs", payloadFor("rebuilt"), { BUCKET_KEY: "proj/projects/rebuilt.manifest.json" });
    assert.equal(result.code, 0, result.stderr);
    const project = join(work, "rebuilt", "project");
    assert.deepEqual(await readTree(project), await readTree(join(dir, "p")));
    assert.equal((await stat(join(project, "cache", "sim_0001.vdb"))).mode & 0o777, 0o755);
    assert.equal((await stat(join(project, "scene.blend"))).mode & 0o777, 0o644);
    assert.deepEqual(await readdir(join(work, "rebuilt")), ["project"], "no staging folder left behind");
  });

  it("fails on a corrupted blob, naming the file and the blob, and writes nothing at the destination", async (t) => {
    const { store, work, runJob } = await workerHarness(t);
    const dir = await tempDir(t);
    await writeTree(join(dir, "p"), SAMPLE);
    const key = "proj/projects/corrupt.manifest.json";
    await uploadProject(store, { kind: "folder", path: join(dir, "p") }, key);
    const metal = (await storedManifest(store, key)).files.find((file) => file.path === "textures/metal.png")!;
    const bad = Buffer.alloc(3000, 8);
    await writeFile(store.describe(blobKey(metal.sha256)), bad);

    const result = await runJob("copy_efs", payloadFor("corrupt"), { BUCKET_KEY: key });
    assert.equal(result.code, 1);
    assert.ok(
      result.stderr.includes(
        `"textures/metal.png" (blob ${blobKey(metal.sha256)}) is corrupted in the object store (expected sha256 ${metal.sha256}, got ${sha(bad)}); submit the project again`,
      ),
      result.stderr,
    );
    assert.deepEqual(await readdir(join(work, "corrupt")).catch(() => []), [], "no project and no staging folder");
    // The corrupted blob is gone, so submitting again uploads it afresh.
    const again = await uploadProject(store, { kind: "folder", path: join(dir, "p") }, key);
    assert.equal(again.bytesUploaded, 3000);
    const retry = await runJob("copy_efs", payloadFor("corrupt"), { BUCKET_KEY: key });
    assert.equal(retry.code, 0, retry.stderr);
  });

  it("uploads and rebuilds a 10,000-file project", async (t) => {
    const { store, work, runJob } = await workerHarness(t);
    const dir = await tempDir(t);
    const project = join(dir, "p");
    await mkdir(join(project, "frames"), { recursive: true });
    await writeFile(join(project, "scene.blend"), "scene");
    await Promise.all(
      Array.from({ length: 100 }, async (_, folder) => {
        await mkdir(join(project, "cache", `f${folder}`), { recursive: true });
        for (let index = 0; index < 100; index += 1) await writeFile(join(project, "cache", `f${folder}`, `${index}.bin`), `${folder}/${index}`);
      }),
    );
    const key = "proj/projects/big.manifest.json";
    const first = await uploadProject(store, { kind: "folder", path: project }, key, { concurrency: 16 });
    assert.equal(first.files, 10_001);
    const again = await uploadProject(store, { kind: "folder", path: project }, key, { concurrency: 16 });
    assert.equal(again.bytesUploaded, 0);
    const result = await runJob("copy_efs", payloadFor("big"), { BUCKET_KEY: key });
    assert.equal(result.code, 0, result.stderr);
    const rebuilt = join(work, "big", "project");
    assert.equal((await readFile(join(rebuilt, "cache", "f42", "17.bin"))).toString(), "42/17");
    let count = 0;
    for (const entry of await readdir(rebuilt, { recursive: true })) if ((await lstat(join(rebuilt, entry))).isFile()) count += 1;
    assert.equal(count, 10_001);
  });
});
