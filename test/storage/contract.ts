import { describe, it, type TestContext } from "node:test";
import assert from "node:assert/strict";
import { createHash, randomBytes } from "node:crypto";
import { readdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import fc from "fast-check";
import { UserInputError } from "../../src/errors.ts";
import type { ObjectStore, StoredObject } from "../../src/storage/object-store.ts";
import { tempDir } from "../helpers/blender.ts";

/** Makes an empty store for one test (cleaned up through `t.after`). */
export type StoreFactory = (t: TestContext) => Promise<ObjectStore>;

const sha256 = (data: Uint8Array) => createHash("sha256").update(data).digest("hex");

async function collect(listing: AsyncIterable<StoredObject>): Promise<StoredObject[]> {
  const objects: StoredObject[] = [];
  for await (const object of listing) objects.push(object);
  return objects;
}

/** Runs `task` over `items`, `limit` at a time. */
async function inBatches<T>(items: readonly T[], limit: number, task: (item: T) => Promise<unknown>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: limit }, async () => {
      while (next < items.length) await task(items[next++]!);
    }),
  );
}

/** Reads what a link from linkFor points at: file:// from disk, http(s) with fetch and no credentials. */
async function fetchLink(link: string): Promise<Buffer> {
  const url = new URL(link);
  if (url.protocol === "file:") return readFile(fileURLToPath(url));
  assert.match(url.protocol, /^https?:$/);
  const response = await fetch(url);
  assert.equal(response.status, 200, `GET ${link} answered ${response.status}`);
  return Buffer.from(await response.arrayBuffer());
}

/**
 * The ObjectStore contract every store must keep (the file-system store and
 * S3 alike). `makeStore` gives each test a fresh, empty store.
 */
export function objectStoreContract(name: string, makeStore: StoreFactory): void {
  describe(`ObjectStore contract: ${name}`, () => {
    it("puts and gets bytes, strings and empty objects, and overwrites whole", async (t) => {
      const store = await makeStore(t);
      const binary = randomBytes(70_000);
      await store.putBytes("p/binary.bin", binary);
      await store.putBytes("p/text.txt", "héllo wörld");
      await store.putBytes("p/empty", new Uint8Array());
      assert.ok((await store.getBytes("p/binary.bin")).equals(binary));
      assert.equal((await store.getBytes("p/text.txt")).toString("utf8"), "héllo wörld");
      assert.equal((await store.getBytes("p/empty")).length, 0);
      assert.deepEqual(await store.stat("p/binary.bin"), { key: "p/binary.bin", size: binary.length });
      assert.deepEqual(await store.stat("p/text.txt"), { key: "p/text.txt", size: Buffer.byteLength("héllo wörld") });
      assert.deepEqual(await store.stat("p/empty"), { key: "p/empty", size: 0 });

      await store.putBytes("p/text.txt", "short");
      assert.equal((await store.getBytes("p/text.txt")).toString(), "short", "a second put replaces the object");
    });

    it("puts and gets files with size, SHA-256 and progress that reaches the size", async (t) => {
      const store = await makeStore(t);
      const dir = await tempDir(t);
      for (const size of [0, 1, 3 * 1024 * 1024 + 17]) {
        const bytes = randomBytes(size);
        const source = join(dir, `source-${size}.bin`);
        await writeFile(source, bytes);
        const uploaded: number[] = [];
        const put = await store.putFile(`files/${size}.bin`, source, { onProgress: (done) => uploaded.push(done) });
        assert.deepEqual(put, { key: `files/${size}.bin`, size, sha256: sha256(bytes) });
        assert.equal(uploaded.at(-1) ?? 0, size, `upload progress ends at the size (${size})`);
        assert.deepEqual(uploaded, [...uploaded].sort((a, b) => a - b), "upload progress never goes back");

        const downloaded: number[] = [];
        const destination = join(dir, "down", `${size}.bin`);
        await store.getFile(`files/${size}.bin`, destination, { onProgress: (done) => downloaded.push(done) });
        const back = await readFile(destination);
        assert.equal(sha256(back), sha256(bytes), `the download is byte-identical (${size})`);
        assert.equal(downloaded.at(-1) ?? 0, size, `download progress ends at the size (${size})`);
      }
      assert.deepEqual((await readdir(join(dir, "down"))).sort(), ["0.bin", "1.bin", "3145745.bin"], "no temporary file left beside the downloads");
    });

    it("lists in key order, by prefix, whether or not the prefix is a folder", async (t) => {
      const store = await makeStore(t);
      const keys = [
        "proj/output/r1/frames/frame_0002.png",
        "proj/output/r1/frames/frame_0001.png",
        "proj/output/r10/manifest.json",
        "proj/output/r1/manifest.json",
        "proj/scene.blend",
        "other/x",
      ];
      for (const key of keys) await store.putBytes(key, key);
      const list = async (prefix: string) => (await collect(store.list(prefix))).map((object) => object.key);

      assert.deepEqual(await list("proj/output/r1/"), [
        "proj/output/r1/frames/frame_0001.png",
        "proj/output/r1/frames/frame_0002.png",
        "proj/output/r1/manifest.json",
      ]);
      assert.deepEqual(await list("proj/output/r1"), [
        "proj/output/r1/frames/frame_0001.png",
        "proj/output/r1/frames/frame_0002.png",
        "proj/output/r1/manifest.json",
        "proj/output/r10/manifest.json",
      ], "a prefix that is not a folder matches r1/ and r10/");
      assert.deepEqual(await list("proj/sc"), ["proj/scene.blend"]);
      assert.deepEqual(await list(""), [...keys].sort(), "the empty prefix lists everything");
      assert.deepEqual(await list("nothing/"), []);
      const sizes = await collect(store.list("other/"));
      assert.deepEqual(sizes, [{ key: "other/x", size: "other/x".length }]);
    });

    it(
      "lists in byte order of the whole key, also where a folder name is a prefix of a file name ('-' and '.' sort before '/')",
      async (t) => {
        const store = await makeStore(t);
        const keys = ["out/frames/a.png", "out/frames.zip", "out/frames-b", "out/frames0"];
        for (const key of keys) await store.putBytes(key, "x");
        const listed = (await collect(store.list("out/"))).map((object) => object.key);
        assert.deepEqual(listed, ["out/frames-b", "out/frames.zip", "out/frames/a.png", "out/frames0"]);
      },
    );

    it("lists more than 1,000 objects completely and in order", async (t) => {
      const store = await makeStore(t);
      const keys = Array.from({ length: 1_100 }, (_, index) => `many/item-${String(index).padStart(5, "0")}.txt`);
      await inBatches(keys, 32, (key) => store.putBytes(key, "x"));
      await store.putBytes("many-not-included", "y");
      const listed = await collect(store.list("many/"));
      assert.equal(listed.length, 1_100);
      assert.deepEqual(listed.map((object) => object.key), keys);
      assert.ok(listed.every((object) => object.size === 1));
    });

    it("stats a missing key as undefined, deletes, and deleting twice is harmless", async (t) => {
      const store = await makeStore(t);
      assert.equal(await store.stat("none/here"), undefined);
      await store.putBytes("gone/soon", "bytes");
      await store.delete("gone/soon");
      assert.equal(await store.stat("gone/soon"), undefined);
      assert.deepEqual(await collect(store.list("gone/")), []);
      await store.delete("gone/soon");
      await assert.rejects(store.getBytes("gone/soon"), { code: "ENOENT" });
    });

    it("getFile is atomic: a failed download leaves nothing at the destination and keeps an older file whole", async (t) => {
      const store = await makeStore(t);
      const dir = await tempDir(t);
      const destination = join(dir, "out", "scene.blend");
      await assert.rejects(store.getFile("missing.blend", destination), { code: "ENOENT" });
      await assert.rejects(readFile(destination), { code: "ENOENT" }, "nothing at the destination");

      await store.putBytes("scene.blend", randomBytes(100_000));
      await assert.rejects(store.getFile("scene.blend", destination, { signal: AbortSignal.abort() }), { name: "AbortError" });
      await assert.rejects(readFile(destination), { code: "ENOENT" }, "an aborted download leaves nothing at the destination");

      await writeFile(destination, "older version");
      await assert.rejects(store.getFile("missing.blend", destination), { code: "ENOENT" });
      assert.equal(await readFile(destination, "utf8"), "older version", "a failed download does not touch the file already there");
    });

    it("refuses keys that could escape the store or are ambiguous", async (t) => {
      const store = await makeStore(t);
      const dir = await tempDir(t);
      await writeFile(join(dir, "f"), "x");
      for (const key of ["../x", "/abs", "a//b", "a/../../b", "a/./b", ""]) {
        await assert.rejects(store.putBytes(key, "x"), UserInputError, `putBytes ${JSON.stringify(key)}`);
        await assert.rejects(store.putFile(key, join(dir, "f")), UserInputError, `putFile ${JSON.stringify(key)}`);
        await assert.rejects(store.getBytes(key), UserInputError, `getBytes ${JSON.stringify(key)}`);
        await assert.rejects(store.getFile(key, join(dir, "g")), UserInputError, `getFile ${JSON.stringify(key)}`);
        await assert.rejects(store.stat(key), UserInputError, `stat ${JSON.stringify(key)}`);
        await assert.rejects(store.delete(key), UserInputError, `delete ${JSON.stringify(key)}`);
      }
      await assert.rejects(collect(store.list("../")), UserInputError);
      await assert.rejects(collect(store.list("/abs/")), UserInputError);
    });

    it("round-trips any valid key and any bytes (property)", async (t) => {
      const store = await makeStore(t);
      const segment = fc.stringMatching(/^[A-Za-z0-9_][A-Za-z0-9_. -]{0,11}$/).filter((s) => s !== "." && s !== ".." && !s.endsWith(" "));
      let run = 0;
      await fc.assert(
        fc.asyncProperty(fc.array(segment, { minLength: 1, maxLength: 4 }), fc.uint8Array({ maxLength: 2_000 }), async (segments, data) => {
          // A folder per run: on a file system "a" and "a/b" cannot both exist, on S3 they can.
          const key = `prop/${run++}/${segments.join("/")}`;
          await store.putBytes(key, data);
          assert.ok((await store.getBytes(key)).equals(Buffer.from(data)));
          assert.deepEqual(await store.stat(key), { key, size: data.length });
          await store.delete(key);
        }),
        { numRuns: 25 },
      );
    });

    it("links to the object so it can be fetched without credentials", async (t) => {
      const store = await makeStore(t);
      const bytes = randomBytes(5_000);
      await store.putBytes("share/frame 0001.png", bytes);
      const before = Date.now();
      const link = await store.linkFor("share/frame 0001.png", 3_600);
      assert.ok((await fetchLink(link.url)).equals(bytes));
      // A link that expires says when, and never later than asked.
      if (link.expiresAt) assert.ok(link.expiresAt.getTime() <= before + 3_600_000 + 2_000 && link.expiresAt.getTime() > before, `${link.expiresAt.toISOString()}`);
      assert.match(store.describe("share/frame 0001.png"), /share.frame 0001\.png$/);
    });
  });
}
