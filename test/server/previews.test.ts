import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { readdir } from "node:fs/promises";
import { join } from "node:path";
import sharp from "sharp";
import { FramePreviews } from "../../src/server/frame-previews.ts";
import { makeScene, tempDir } from "../helpers/blender.ts";
import { renderForm, startTestServer, waitForEnd } from "./harness.ts";

describe("frame previews (real Blender)", () => {
  it("serves EXR frames as cached JPEG previews a browser can show, never upscaled", async (t) => {
    const server = await startTestServer(t);
    const blend = await makeScene(join(server.home, "exr.blend"), { frames: [1, 2], resolution: [64, 36], samples: 2 });
    const submit = await server.api("/api/renders", { method: "POST", body: await renderForm(blend, "exr.blend", { format: "OPEN_EXR" }) });
    assert.equal(submit.status, 202, await submit.clone().text());
    const { renderId } = (await submit.json()) as { renderId: string };
    const detail = (await waitForEnd(server, renderId)) as { status: string; reason?: string };
    assert.equal(detail.status, "SUCCEEDED", detail.reason);
    const frame = `/api/renders/${renderId}/outputs/frames/frame_0001.exr`;
    assert.equal((await server.api(frame)).headers.get("content-type"), "image/x-exr");

    const preview = await server.api(`${frame}?preview=256`);
    assert.equal(preview.status, 200);
    assert.equal(preview.headers.get("content-type"), "image/jpeg");
    const jpeg = Buffer.from(await preview.arrayBuffer());
    const info = await sharp(jpeg).metadata();
    assert.deepEqual([info.format, info.width, info.height], ["jpeg", 64, 36]);
    const stats = await sharp(jpeg).stats();
    assert.ok(stats.channels.slice(0, 3).every((channel) => channel.mean > 20), "the preview shows the scene, not black");

    const small = Buffer.from(await (await server.api(`${frame}?preview=128`)).arrayBuffer());
    assert.equal((await sharp(small).metadata()).width, 64, "never upscaled");
    // Made once per size, then served from the cache.
    const cached = await readdir(join(server.home, "cache", "previews", renderId, "256"));
    assert.equal(cached.length, 1);
    assert.ok(jpeg.equals(Buffer.from(await (await server.api(`${frame}?preview=256`)).arrayBuffer())));
  });

  it("refuses sizes it does not make, previews of non-images, and unknown outputs", async (t) => {
    const server = await startTestServer(t, { runFarm: false });
    const blend = await makeScene(join(server.home, "x.blend"), { frames: [1, 1], resolution: [16, 16], samples: 1 });
    const { renderId } = (await (await server.api("/api/renders", { method: "POST", body: await renderForm(blend, "x.blend", {}) })).json()) as { renderId: string };
    const bad = await server.api(`/api/renders/${renderId}/outputs/frames/frame_0001.png?preview=300`);
    assert.equal(bad.status, 400);
    assert.match(((await bad.json()) as { error: string }).error, /^preview "300" is not a preview size; use one of 128, 256, 512, 1024, 2048/);
    const zip = await server.api(`/api/renders/${renderId}/outputs/output.zip?preview=256`);
    assert.equal(zip.status, 400);
    assert.match(((await zip.json()) as { error: string }).error, /"output.zip" is not an image/);
    assert.equal((await server.api(`/api/renders/${renderId}/outputs/frames/frame_0001.png?preview=256`)).status, 404);
  });
});

describe("FramePreviews", () => {
  it("makes a preview once however many ask at once, and again when the source changes size", async (t) => {
    const dir = await tempDir(t);
    const source = join(dir, "frame.png");
    await sharp({ create: { width: 40, height: 20, channels: 3, background: { r: 200, g: 10, b: 10 } } }).png().toFile(source);
    const previews = new FramePreviews(join(dir, "cache"), 1);
    let opened = 0;
    const open = () => (opened++, { kind: "file" as const, path: source });
    const files = await Promise.all([1, 2, 3, 4].map(() => previews.preview("r-1", "frames/frame.png", 256, open, 100)));
    assert.equal(new Set(files).size, 1);
    assert.equal(opened, 1);
    assert.deepEqual([(await sharp(files[0]!).metadata()).width, opened], [40, 1]);
    await previews.preview("r-1", "frames/frame.png", 256, open, 100);
    assert.equal(opened, 1, "cached");
    await previews.preview("r-1", "frames/frame.png", 256, open, 101);
    assert.equal(opened, 2, "a re-rendered frame (another size) gets a new preview");
  });
});
