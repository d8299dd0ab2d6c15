import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdir, readdir, access } from "node:fs/promises";
import { join } from "node:path";
import sharp from "sharp";
import { renderManifestSchema } from "../../src/domain/render-manifest.ts";
import { payloadFor, workerHarness } from "./harness.ts";

const exists = (path: string) => access(path).then(() => true, () => false);

async function writeFrames(folder: string, frames: readonly number[]): Promise<void> {
  await mkdir(folder, { recursive: true });
  for (const frame of frames) {
    await sharp({ create: { width: 16, height: 16, channels: 3, background: "#336699" } }).png().toFile(join(folder, `frame_${String(frame).padStart(4, "0")}.png`));
  }
}

describe("upload_render_output run again after an interrupted run", () => {
  it("finds the render already published: SUCCEEDED, manifest untouched, no second e-mail", async (t) => {
    const { store, work, outbox, runJob } = await workerHarness(t);
    const payload = payloadFor("done", { frames: "1-3", notify: { email: "artist@example.com" } });
    await writeFrames(join(work, "done", "output", "frames"), [1, 2, 3]);
    assert.equal((await runJob("upload_render_output", payload)).code, 0);
    const manifest = (await store.getBytes("proj/output/done/manifest.json")).toString();
    assert.equal(await exists(join(work, "done")), false);

    const again = await runJob("upload_render_output", payload);
    assert.equal(again.code, 0, again.stderr);
    assert.equal((await store.getBytes("proj/output/done/manifest.json")).toString(), manifest, "the manifest is not rewritten");
    assert.equal((await readdir(outbox)).length, 1, "one e-mail only");
  });

  it("with frames in the store but no work folder, publishes what the store holds", async (t) => {
    const { store, work, outbox, runJob } = await workerHarness(t);
    const payload = payloadFor("orphan", { frames: "1-3", notify: { email: "artist@example.com" } });
    const frames = join(work, "staging");
    await writeFrames(frames, [1, 2, 3]);
    for (const frame of ["frame_0001.png", "frame_0002.png", "frame_0003.png"]) await store.putFile(`proj/output/orphan/frames/${frame}`, join(frames, frame));

    const result = await runJob("upload_render_output", payload);
    assert.equal(result.code, 0, result.stderr);
    const manifest = renderManifestSchema.parse(JSON.parse((await store.getBytes("proj/output/orphan/manifest.json")).toString()));
    assert.equal(manifest.status, "succeeded");
    assert.equal(manifest.frames.renderedCount, 3);
    assert.ok(manifest.outputs.zip && manifest.outputs.thumbnail);
    assert.equal((await readdir(outbox)).length, 1);
    assert.equal(await exists(join(work, "orphan")), false);
  });

  it("never reports fewer frames than the store holds when the work folder lost some", async (t) => {
    const { store, work, runJob } = await workerHarness(t);
    const payload = payloadFor("half", { frames: "1-4" });
    const staging = join(work, "staging");
    await writeFrames(staging, [1, 2]);
    for (const frame of ["frame_0001.png", "frame_0002.png"]) await store.putFile(`proj/output/half/frames/${frame}`, join(staging, frame));
    await writeFrames(join(work, "half", "output", "frames"), [3, 4]);

    const result = await runJob("upload_render_output", payload);
    assert.equal(result.code, 0, result.stderr);
    const manifest = renderManifestSchema.parse(JSON.parse((await store.getBytes("proj/output/half/manifest.json")).toString()));
    assert.deepEqual([manifest.status, manifest.frames.rendered, manifest.frames.renderedCount], ["succeeded", "1-4", 4]);
  });
});
