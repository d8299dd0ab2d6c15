import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { readdir, readFile, writeFile, mkdir } from "node:fs/promises";
import { join } from "node:path";
import { FsObjectStore } from "../../src/storage/fs-store.ts";
import { UserInputError } from "../../src/errors.ts";
import { tempDir } from "../helpers/blender.ts";

describe("FsObjectStore", () => {
  it("puts a file and reports its size and SHA-256, gets it back, and lists by prefix in key order", async (t) => {
    const dir = await tempDir(t);
    const store = new FsObjectStore(join(dir, "bucket"));
    const source = join(dir, "frame.png");
    const bytes = Buffer.from("not really a png, but bytes all the same");
    await writeFile(source, bytes);

    const put = await store.putFile("proj/output/r1/frames/frame_0002.png", source);
    assert.deepEqual(put, { key: "proj/output/r1/frames/frame_0002.png", size: bytes.length, sha256: createHash("sha256").update(bytes).digest("hex") });
    await store.putBytes("proj/output/r1/frames/frame_0001.png", "one");
    await store.putBytes("proj/output/r10/manifest.json", "{}");
    await store.putBytes("other/x", "x");

    const keys = [];
    for await (const object of store.list("proj/output/r1/")) keys.push(object.key);
    assert.deepEqual(keys, ["proj/output/r1/frames/frame_0001.png", "proj/output/r1/frames/frame_0002.png"]);
    const partialPrefix = [];
    for await (const object of store.list("proj/output/r1")) partialPrefix.push(object.key);
    assert.equal(partialPrefix.length, 3, "a prefix that is not a folder matches r1/ and r10/");

    await store.getFile("proj/output/r1/frames/frame_0002.png", join(dir, "down", "f.png"));
    assert.ok((await readFile(join(dir, "down", "f.png"))).equals(bytes));
    assert.deepEqual(await readdir(join(dir, "down")), ["f.png"], "no temporary file left beside the download");
    assert.deepEqual(await store.stat("proj/output/r1/frames/frame_0001.png"), { key: "proj/output/r1/frames/frame_0001.png", size: 3 });
    assert.equal(await store.stat("proj/none"), undefined);
    await store.delete("other/x");
    assert.equal(await store.stat("other/x"), undefined);
  });

  it("never lists an object still being written", async (t) => {
    const dir = await tempDir(t);
    const store = new FsObjectStore(dir);
    await mkdir(join(dir, "p"), { recursive: true });
    await writeFile(join(dir, "p", "big.bin.1234abcd.brender-partial"), "half");
    await store.putBytes("p/done.bin", "whole");
    const keys = [];
    for await (const object of store.list("p/")) keys.push(object.key);
    assert.deepEqual(keys, ["p/done.bin"]);
  });

  it("refuses keys that could escape the store", async (t) => {
    const store = new FsObjectStore(await tempDir(t));
    for (const key of ["../x", "/abs", "a//b", "a/./b", "a\\b", ""]) {
      await assert.rejects(store.putBytes(key, "x"), UserInputError, key);
    }
  });
});
