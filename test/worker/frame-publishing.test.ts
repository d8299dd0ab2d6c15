import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { execFile } from "node:child_process";
import { readFile, rm, stat, writeFile } from "node:fs/promises";
import { promisify } from "node:util";
import { join } from "node:path";
import { renderManifestSchema } from "../../src/domain/render-manifest.ts";
import { zipEntryNames } from "../helpers/archives.ts";
import { events, makeScene, tempDir } from "../helpers/blender.ts";
import { payloadFor, workerHarness } from "./harness.ts";

const run = promisify(execFile);
const sha256 = async (file: string) => createHash("sha256").update(await readFile(file)).digest("hex");
const frameNames = (frames: number[]) => frames.map((frame) => `frame_${String(frame).padStart(4, "0")}.png`);

describe("frames published while the render runs (real Blender)", () => {
  it("copies each frame to the store as it finishes; the upload copies none of them again, and a re-rendered frame replaces its copy once", async (t) => {
    const { store, work, runJob } = await workerHarness(t);
    const dir = await tempDir(t);
    await store.putFile("proj/scene.blend", await makeScene(join(dir, "scene.blend"), { frames: [1, 4], resolution: [160, 90], samples: 16 }));
    const payload = payloadFor("published", { frames: "1-4" });
    assert.equal((await runJob("copy_efs", payload, { BUCKET_KEY: "proj/scene.blend" })).code, 0);

    const child = await runJob("render", payload);
    assert.equal(child.code, 0, child.stderr);
    const reported = events(child.stdout);
    const published = reported.filter((event) => event.type === "file_published");
    assert.deepEqual(published.map((event) => event.key), frameNames([1, 2, 3, 4]).map((name) => `proj/output/published/frames/${name}`));
    // Frame 1 is in the store while the last frame renders (a copy takes milliseconds, a frame here much
    // longer), and every copy is made before the child ends.
    const position = (type: string, frame?: number) => reported.findIndex((event) => event.type === type && (frame === undefined || event.frame === frame));
    assert.ok(reported.findIndex((event) => event.type === "file_published") < position("frame_finished", 4));
    assert.ok(reported.lastIndexOf(published.at(-1)!) < position("child_finished"));
    const frames = join(work, "published", "output", "frames");
    for (const name of frameNames([1, 2, 3, 4])) {
      assert.equal(await sha256(store.describe(`proj/output/published/frames/${name}`)), await sha256(join(frames, name)));
    }

    // A retried child re-renders a frame it lost: its copy in the store is replaced.
    await rm(join(frames, "frame_0003.png"));
    const retry = await runJob("render", payload);
    assert.equal(retry.code, 0, retry.stderr);
    assert.deepEqual(events(retry.stdout).filter((event) => event.type === "file_published").map((event) => event.key), ["proj/output/published/frames/frame_0003.png"]);
    // A frame changed after its copy (not through a child) is not trusted: the upload copies it.
    const changed = join(frames, "frame_0004.png");
    await writeFile(changed, Buffer.concat([await readFile(changed), Buffer.from("changed")]));
    const inode = async (name: string) => (await stat(store.describe(`proj/output/published/frames/${name}`))).ino;
    const before = await Promise.all(frameNames([1, 2, 3, 4]).map(inode));
    const localSums = await Promise.all(frameNames([1, 2, 3, 4]).map((name) => sha256(join(frames, name))));

    const upload = await runJob("upload_render_output", payload);
    assert.equal(upload.code, 0, upload.stderr);
    const after = await Promise.all(frameNames([1, 2, 3, 4]).map(inode));
    assert.deepEqual(after.slice(0, 3), before.slice(0, 3), "frames published by the render are not copied again");
    assert.notEqual(after[3], before[3], "the changed frame is copied again");
    const manifest = renderManifestSchema.parse(JSON.parse((await store.getBytes("proj/output/published/manifest.json")).toString()));
    assert.deepEqual(
      manifest.files.filter((file) => file.key.includes("/frames/")).map((file) => file.sha256),
      localSums,
      "the manifest lists each frame's content as it is in the store",
    );
    for (const [index, name] of frameNames([1, 2, 3, 4]).entries()) {
      assert.equal(await sha256(store.describe(`proj/output/published/frames/${name}`)), localSums[index]);
    }
    const zip = join(dir, "output.zip");
    await store.getFile("proj/output/published/output.zip", zip);
    assert.deepEqual((await zipEntryNames(zip)).sort(), frameNames([1, 2, 3, 4]).map((name) => `frames/${name}`), "each frame once in the zip");
  });

  it("encodes the preview video while rendering; the upload publishes that video, or makes a new one when a frame changed since", async (t) => {
    const { store, work, runJob } = await workerHarness(t);
    const dir = await tempDir(t);
    await store.putFile("proj/scene.blend", await makeScene(join(dir, "scene.blend"), { frames: [1, 5] }));
    const payload = payloadFor("early-video", { frames: "1-5" });
    assert.equal((await runJob("copy_efs", payload, { BUCKET_KEY: "proj/scene.blend" })).code, 0);
    assert.equal((await runJob("render", payload)).code, 0);
    const prework = join(work, "early-video", "prework", "preview.mp4");
    const probe = async (file: string) =>
      (await run("ffprobe", ["-v", "error", "-count_frames", "-show_entries", "stream=nb_read_frames,width", "-of", "csv=p=0", file])).stdout.trim();
    assert.equal(await probe(prework), "64,5", "the render child's video holds every frame");
    const made = await sha256(prework);

    assert.equal((await runJob("upload_render_output", payload)).code, 0);
    assert.equal(await sha256(store.describe("proj/output/early-video/preview.mp4")), made, "the upload published the render child's video");

    // Same render again, but a frame changes after the child's video was made: the upload makes a fresh one.
    const again = payloadFor("stale-video", { frames: "1-5" });
    assert.equal((await runJob("copy_efs", again, { BUCKET_KEY: "proj/scene.blend" })).code, 0);
    assert.equal((await runJob("render", again)).code, 0);
    const stale = await sha256(join(work, "stale-video", "prework", "preview.mp4"));
    const frames = join(work, "stale-video", "output", "frames");
    await writeFile(join(frames, "frame_0003.png"), await readFile(join(frames, "frame_0001.png")));
    assert.equal((await runJob("upload_render_output", again)).code, 0);
    const published = store.describe("proj/output/stale-video/preview.mp4");
    assert.notEqual(await sha256(published), stale, "a video made from the frames as they are now");
    assert.equal(await probe(published), "64,5");
  });
});
