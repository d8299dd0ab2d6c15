import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { request as httpRequest } from "node:http";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import sharp from "sharp";
import yazl from "yazl";
import { makeScene } from "../helpers/blender.ts";
import { collectEvents, renderForm, startTestServer, waitForEnd, type ServerEvent } from "./harness.ts";

/** A GET with the path sent exactly as written (fetch would resolve the dots away). */
function rawGet(base: string, path: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const request = httpRequest(base + "/", { path, method: "GET" }, (response) => {
      response.resume();
      resolve(response.statusCode ?? 0);
    });
    request.on("error", reject);
    request.end();
  });
}

async function zipFolder(folder: string, files: readonly string[]): Promise<Buffer> {
  const zip = new yazl.ZipFile();
  for (const file of files) zip.addFile(join(folder, file), file);
  zip.end();
  const chunks: Buffer[] = [];
  for await (const chunk of zip.outputStream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

const ended = (events: ServerEvent[]) => events.some((e) => e.event === "render" && (e.data.status === "SUCCEEDED" || e.data.status === "FAILED"));

describe("rendering through the HTTP API (real Blender)", () => {
  it("submits a .blend, follows it by GET and by SSE to SUCCEEDED, and serves its frames and zip", async (t) => {
    const server = await startTestServer(t);
    const blend = await makeScene(join(server.home, "shot.blend"), { frames: [1, 2], resolution: [16, 16], samples: 1 });
    // Every render's events, from before the submission.
    const allEvents = collectEvents(`${server.base}/api/events`, ended, 60_000);
    await new Promise((resolve) => setTimeout(resolve, 200));
    const submit = await server.api("/api/renders", { method: "POST", body: await renderForm(blend, "shot.blend", { frames: "1-2", samples: 1 }) });
    assert.equal(submit.status, 202, await submit.clone().text());
    const { renderId } = (await submit.json()) as { renderId: string };
    const oneRender = collectEvents(`${server.base}/api/events?render=${renderId}`, ended, 60_000);

    const detail = (await waitForEnd(server, renderId)) as {
      status: string; project: string; progress: { framesDone: number; framesTotal: number; failedFrames: unknown[] };
      manifest: { status: string } | null; outputs: { name: string; size: number; url: string }[]; jobs: { action: string; status: string }[];
    };
    assert.equal(detail.status, "SUCCEEDED");
    assert.equal(detail.project, "shot");
    assert.deepEqual([detail.progress.framesDone, detail.progress.framesTotal, detail.progress.failedFrames], [2, 2, []]);
    assert.equal(detail.manifest?.status, "succeeded");
    assert.deepEqual(detail.jobs.map((job) => [job.action, job.status]), [["copy_efs", "SUCCEEDED"], ["render", "SUCCEEDED"], ["upload_render_output", "SUCCEEDED"]]);
    const names = detail.outputs.map((output) => output.name);
    for (const name of ["frames/frame_0001.png", "frames/frame_0002.png", "output.zip", "thumbnail.jpg", "manifest.json"]) assert.ok(names.includes(name), `${name} in ${names}`);

    for (const events of [await allEvents, await oneRender]) {
      const frames = events.filter((e) => e.event === "frame").map((e) => e.data);
      assert.deepEqual(frames.map((f) => f.frame).sort(), [1, 2]);
      assert.deepEqual(frames.map((f) => f.url).sort(), [1, 2].map((f) => `/api/renders/${renderId}/outputs/frames/frame_000${f}.png`));
      const renders = events.filter((e) => e.event === "render");
      assert.equal(renders.at(-1)!.data.status, "SUCCEEDED");
      assert.ok(events.findIndex((e) => e.event === "frame") < events.indexOf(renders.at(-1)!), "frames come before the terminal render event");
      assert.ok(events.every((e) => e.data.renderId === renderId));
      const lastProgress = events.filter((e) => e.event === "progress").at(-1)!.data;
      assert.deepEqual([lastProgress.framesDone, lastProgress.framesTotal], [2, 2]);
    }

    // The frame URL an event gave streams the PNG.
    const frame = await server.api(`/api/renders/${renderId}/outputs/frames/frame_0002.png`);
    assert.equal(frame.status, 200);
    assert.equal(frame.headers.get("content-type"), "image/png");
    const png = Buffer.from(await frame.arrayBuffer());
    assert.deepEqual(png.subarray(0, 8), Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]));
    const meta = await sharp(png).metadata();
    assert.deepEqual([meta.width, meta.height], [16, 16]);
    const zip = await server.api(`/api/renders/${renderId}/outputs/output.zip?download=1`);
    assert.equal(zip.status, 200);
    assert.equal(zip.headers.get("content-type"), "application/zip");
    assert.match(zip.headers.get("content-disposition") ?? "", /attachment; filename="output.zip"/);
    const zipBytes = Buffer.from(await zip.arrayBuffer());
    assert.equal(zipBytes.subarray(0, 4).toString("latin1"), "PK\x03\x04");
    assert.equal(zipBytes.length, detail.outputs.find((o) => o.name === "output.zip")!.size);
    const thumbnail = await server.api(`/api/renders/${renderId}/outputs/thumbnail.jpg`);
    assert.equal(thumbnail.headers.get("content-type"), "image/jpeg");

    assert.equal((await server.api(`/api/renders/${renderId}/outputs/frames/frame_0009.png`)).status, 404);
    for (const path of ["../../../farm.sqlite", "frames/../../../../farm.sqlite", "%2e%2e/%2e%2e/farm.sqlite", "frames/..%2F..%2Fmanifest.json"]) {
      const status = await rawGet(server.base, `/api/renders/${renderId}/outputs/${path}`);
      assert.ok(status === 400 || status === 404, `${path} answered ${status}`);
    }

    const list = (await (await server.api("/api/renders")).json()) as { renderId: string; status: string; backend: string; framesDone?: number; framesTotal?: number }[];
    assert.deepEqual(list.map((row) => [row.renderId, row.status, row.backend, row.framesDone, row.framesTotal]), [[renderId, "SUCCEEDED", "local", 2, 2]]);
    const outputs = (await (await server.api(`/api/renders/${renderId}/outputs`)).json()) as { name: string }[];
    assert.deepEqual(outputs.map((o) => o.name), names);
    const logs = await server.api(`/api/renders/${renderId}/logs`);
    assert.match(logs.headers.get("content-type") ?? "", /^text\/plain/);
    const logText = await logs.text();
    for (const action of ["copy_efs", "render", "upload_render_output"]) assert.match(logText, new RegExp(`==> ${action}, attempt 1 `));
    const farms = (await (await server.api("/api/farms")).json()) as { local: { renders: { active: number; total: number } } };
    assert.deepEqual(farms.local.renders, { active: 0, total: 1 });
  });

  it("renders a zipped project folder with settings.blend, and an earlier upload by uploadId", async (t) => {
    const server = await startTestServer(t);
    const project = join(server.home, "spring");
    await mkdir(join(project, "textures"), { recursive: true });
    await mkdir(join(project, "shots"), { recursive: true });
    await sharp({ create: { width: 8, height: 8, channels: 3, background: { r: 0, g: 255, b: 0 } } }).png().toFile(join(project, "textures", "green.png"));
    await makeScene(join(project, "shots", "shot.blend"), { frames: [1, 2], resolution: [16, 16], samples: 1, texture: join(project, "textures", "green.png") });
    const zipPath = join(server.home, "spring.zip");
    await writeFile(zipPath, await zipFolder(project, ["shots/shot.blend", "textures/green.png"]));

    const unknownBlend = await server.api("/api/renders", { method: "POST", body: await renderForm(zipPath, "spring.zip", { blend: "shots/nope.blend" }) });
    assert.equal(unknownBlend.status, 400);
    assert.deepEqual(await unknownBlend.json(), { error: 'settings.blend "shots/nope.blend" is not a .blend in spring.zip; it holds "shots/shot.blend".', field: "settings.blend" });

    const submit = await server.api("/api/renders", { method: "POST", body: await renderForm(zipPath, "spring.zip", { blend: "shots/shot.blend", frames: "2" }) });
    assert.equal(submit.status, 202, await submit.clone().text());
    const { renderId } = (await submit.json()) as { renderId: string };

    // Meanwhile: inspect a .blend, then render it by its uploadId (no second upload).
    const inspected = (await (await server.api("/api/inspect", { method: "POST", body: await renderForm(join(project, "shots", "shot.blend"), "again.blend") })).json()) as { uploadId: string };
    const byId = await server.api("/api/renders", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ uploadId: inspected.uploadId, settings: { frames: "1", project: "again-shot" } }),
    });
    assert.equal(byId.status, 202, await byId.clone().text());
    const second = ((await byId.json()) as { renderId: string }).renderId;

    const detail = (await waitForEnd(server, renderId)) as { status: string; project: string; outputs: { name: string }[] };
    assert.equal(detail.status, "SUCCEEDED");
    assert.equal(detail.project, "spring");
    assert.ok(detail.outputs.some((o) => o.name === "frames/frame_0002.png"));
    // The texture came along in the zip: the floor is green, not Blender's pink "missing" color.
    const frame = Buffer.from(await (await server.api(`/api/renders/${renderId}/outputs/frames/frame_0002.png`)).arrayBuffer());
    const stats = await sharp(frame).stats();
    assert.ok(stats.channels[1]!.mean > stats.channels[0]!.mean, `green over red: ${stats.channels.map((c) => c.mean)}`);

    const again = (await waitForEnd(server, second)) as { status: string; project: string };
    assert.deepEqual([again.status, again.project], ["SUCCEEDED", "again-shot"]);
    assert.ok((await readFile(join(server.home, "uploads", inspected.uploadId, "upload.json"), "utf8")).includes("again.blend"));
  });
});
