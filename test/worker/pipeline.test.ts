import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { promisify } from "node:util";
import { mkdir, readdir, readFile, writeFile, access } from "node:fs/promises";
import { join } from "node:path";
import sharp from "sharp";
import { renderManifestSchema } from "../../src/domain/render-manifest.ts";
import { buildTarGz } from "../helpers/archives.ts";
import { simpleParser } from "../helpers/mail.ts";
import { events, makeScene, meanColor, tempDir } from "../helpers/blender.ts";
import { payloadFor, workerHarness } from "./harness.ts";

const run = promisify(execFile);
const exists = (path: string) => access(path).then(() => true, () => false);

describe("copy, upload and clean-up actions (real Blender)", () => {
  it("renders a folder project whose texture sits in a sibling folder", async (t) => {
    const { store, work, runJob } = await workerHarness(t);
    const dir = await tempDir(t);
    await mkdir(join(dir, "textures"));
    await mkdir(join(dir, "shots"));
    await sharp({ create: { width: 8, height: 8, channels: 3, background: { r: 0, g: 255, b: 0 } } }).png().toFile(join(dir, "textures", "green.png"));
    await makeScene(join(dir, "shots", "shot.blend"), { texture: join(dir, "textures", "green.png") });
    for (const file of ["textures/green.png", "shots/shot.blend"]) await store.putFile(`proj/src/${file}`, join(dir, file));
    const payload = payloadFor("folder", { project: { name: "proj", blendFile: "shots/shot.blend" }, type: "still", frames: "1" });

    const copy = await runJob("copy_efs", payload, { BUCKET_KEY: "proj/src/" });
    assert.equal(copy.code, 0, copy.stderr);
    assert.ok(await exists(join(work, "folder", "project", "textures", "green.png")));
    const result = await runJob("render", payload);
    assert.equal(result.code, 0, result.stderr);
    const [r, g, b] = await meanColor(join(work, "folder", "output", "frames", "frame_0001.png"));
    assert.ok(g > r * 1.5 && g > b * 1.5, `the green floor texture was found (mean rgb ${r.toFixed(0)},${g.toFixed(0)},${b.toFixed(0)}; missing textures render pink)`);
  });

  it("unpacks a .tar.gz project, and refuses a hostile archive without writing outside", async (t) => {
    const { store, work, runJob } = await workerHarness(t);
    const dir = await tempDir(t);
    const blend = await readFile(await makeScene(join(dir, "scene.blend")));
    await store.putBytes("proj/good.tar.gz", buildTarGz([{ path: "scene.blend", content: blend }, { path: "tex/", type: "directory" }]));
    const good = await runJob("copy_efs", payloadFor("tarball"), { BUCKET_KEY: "proj/good.tar.gz" });
    assert.equal(good.code, 0, good.stderr);
    assert.ok((await readFile(join(work, "tarball", "project", "scene.blend"))).equals(blend));

    await store.putBytes("proj/evil.tar.gz", buildTarGz([{ path: "scene.blend", content: blend }, { path: "../../escaped.txt", content: "pwned" }]));
    const evil = await runJob("copy_efs", payloadFor("evil"), { BUCKET_KEY: "proj/evil.tar.gz" });
    assert.equal(evil.code, 1);
    assert.match(evil.stderr, /Refused to unpack evil\.tar\.gz: entry "\.\.\/\.\.\/escaped\.txt" would land outside the project folder/);
    assert.equal(await exists(join(work, "escaped.txt")), false);
    assert.equal(await exists(join(work, "evil", "project")), false);
  });

  it("says which object is missing when the project is not in the store", async (t) => {
    const { runJob } = await workerHarness(t);
    const result = await runJob("copy_efs", payloadFor("nothing"), { BUCKET_KEY: "proj/nothing.blend" });
    assert.equal(result.code, 1);
    assert.match(result.stderr, /The project object "proj\/nothing\.blend" is not in the object store/);
  });

  it("uploads frames, zip, thumbnail, preview video and manifest under a unique prefix, e-mails, and cleans the work folder", async (t) => {
    const { store, work, outbox, runJob } = await workerHarness(t);
    const dir = await tempDir(t);
    await store.putFile("proj/scene.blend", await makeScene(join(dir, "scene.blend"), { frames: [1, 4] }));
    const payload = payloadFor("uploaded", { frames: "1-4", notify: { email: "artist@example.com" } });
    for (const [action, env] of [["copy_efs", { BUCKET_KEY: "proj/scene.blend" }], ["render", {}], ["upload_render_output", {}]] as const) {
      const result = await runJob(action, payload, env);
      assert.equal(result.code, 0, `${action}: ${result.stderr}`);
    }
    const keys: string[] = [];
    for await (const object of store.list("proj/output/uploaded/")) keys.push(object.key.slice("proj/output/uploaded/".length));
    assert.deepEqual(keys.sort(), ["frames/frame_0001.png", "frames/frame_0002.png", "frames/frame_0003.png", "frames/frame_0004.png", "manifest.json", "output.zip", "preview.mp4", "thumbnail.jpg"]);

    const manifest = renderManifestSchema.parse(JSON.parse((await store.getBytes("proj/output/uploaded/manifest.json")).toString()));
    assert.equal(manifest.status, "succeeded");
    assert.deepEqual([manifest.frames.expected, manifest.frames.rendered, manifest.frames.missing], ["1-4", "1-4", []]);
    assert.ok(manifest.renderSeconds > 0);
    assert.equal(manifest.device, "CPU", "the manifest says what rendered");
    const frameOne = manifest.files.find((file) => file.key.endsWith("frames/frame_0001.png"))!;
    assert.equal(frameOne.sha256, createHash("sha256").update(await store.getBytes(frameOne.key)).digest("hex"));

    const thumbnail = await sharp(await store.getBytes("proj/output/uploaded/thumbnail.jpg")).metadata();
    assert.deepEqual([thumbnail.format, thumbnail.width, thumbnail.height], ["jpeg", 64, 36]);
    const unzip = join(dir, "unzipped");
    await writeFile(join(dir, "output.zip"), await store.getBytes("proj/output/uploaded/output.zip"));
    await run("python3", ["-m", "zipfile", "-e", join(dir, "output.zip"), unzip]);
    assert.deepEqual((await readdir(join(unzip, "frames"))).length, 4);
    const probe = await run("ffprobe", ["-v", "error", "-count_frames", "-show_entries", "stream=nb_read_frames,codec_name", "-of", "csv=p=0", store.describe("proj/output/uploaded/preview.mp4")]);
    assert.equal(probe.stdout.trim(), "h264,4");

    const mails = await readdir(outbox);
    assert.equal(mails.length, 1);
    const mail = await simpleParser(await readFile(join(outbox, mails[0]!)));
    assert.equal(mail.subject, 'Brender: "proj" rendered 4/4 frames');
    assert.match(mail.text ?? "", /output\.zip/);
    assert.equal(await exists(join(work, "uploaded")), false, "the render's work folder is cleaned");
  });

  it("uploads what exists and sends a failure e-mail when frames are missing, exit 1", async (t) => {
    const { store, outbox, work, runJob } = await workerHarness(t);
    const dir = await tempDir(t);
    const payload = payloadFor("partial", { frames: "1-3", notify: { email: "artist@example.com" } });
    const frames = join(work, "partial", "output", "frames");
    await mkdir(frames, { recursive: true });
    await sharp({ create: { width: 16, height: 16, channels: 3, background: "#336699" } }).png().toFile(join(frames, "frame_0001.png"));
    await writeFile(join(work, "partial", "scratch-note.txt"), "kept in work only").catch(() => undefined);
    void dir;

    const result = await runJob("upload_render_output", payload);
    assert.equal(result.code, 1);
    assert.match(result.stderr, /Render partial is incomplete: 2 of 3 frames were not rendered: 2-3/);
    const manifest = renderManifestSchema.parse(JSON.parse((await store.getBytes("proj/output/partial/manifest.json")).toString()));
    assert.equal(manifest.status, "failed");
    assert.deepEqual(manifest.frames.missing, [2, 3]);
    assert.ok(await store.stat("proj/output/partial/frames/frame_0001.png"));
    const mails = await readdir(outbox);
    assert.equal(mails.length, 1);
    assert.match(mails[0]!, /partial-failed\.eml$/);
    const mail = await simpleParser(await readFile(join(outbox, mails[0]!)));
    assert.match(mail.subject ?? "", /FAILED/);
    assert.match(mail.text ?? "", /2-3/);
  });

  it("copy_efs brings back the frames an earlier run of the render uploaded (retry renders only the rest)", async (t) => {
    const { store, work, runJob } = await workerHarness(t);
    const dir = await tempDir(t);
    await store.putFile("proj/scene.blend", await makeScene(join(dir, "scene.blend"), { frames: [1, 3], resolution: [16, 16], samples: 1 }));
    await store.putBytes("proj/output/again/frames/frame_0002.png", await sharp({ create: { width: 16, height: 16, channels: 3, background: "#ff0000" } }).png().toBuffer());
    const payload = payloadFor("again", { frames: "1-3" });
    const copy = await runJob("copy_efs", payload, { BUCKET_KEY: "proj/scene.blend" });
    assert.equal(copy.code, 0, copy.stderr);
    const render = await runJob("render", payload);
    assert.equal(render.code, 0, render.stderr);
    const finished = events(render.stdout).filter((event) => event.type === "frame_finished");
    const byFrame = finished.map((event) => [event.frame as number, event.reused ?? false] as const).sort((a, b) => a[0] - b[0]);
    assert.deepEqual(byFrame, [[1, false], [2, true], [3, false]]);
    const [r, g] = await meanColor(join(work, "again", "output", "frames", "frame_0002.png"));
    assert.ok(r > 250 && g < 5, "the uploaded frame 2 is kept, not rendered again");

    // The earlier run's manifest timed frame 2; the retry's manifest keeps that time beside its own.
    await store.putBytes("proj/output/again/manifest.json", JSON.stringify({
      schemaVersion: 1, renderId: "again", project: "proj", blendFile: "scene.blend", type: "animation", status: "failed",
      frames: { expected: "1-3", expectedCount: 3, rendered: "2", renderedCount: 1, missing: [1, 3] },
      files: [], outputs: { prefix: "proj/output/again/" }, warnings: [], finishedAt: "2026-01-01T00:00:00.000Z", renderSeconds: 7.5,
      frameTimes: [{ frame: 2, seconds: 7.5 }, { frame: 9, seconds: 1 }],
    }));
    const upload = await runJob("upload_render_output", payload);
    assert.equal(upload.code, 0, upload.stderr);
    const manifest = renderManifestSchema.parse(JSON.parse((await store.getBytes("proj/output/again/manifest.json")).toString()));
    assert.deepEqual(manifest.frameTimes?.map((time) => time.frame), [1, 2, 3]);
    assert.equal(manifest.frameTimes?.find((time) => time.frame === 2)?.seconds, 7.5);
  });

  it("names the failed upstream job in the failure report", async (t) => {
    const { store, outbox, runJob } = await workerHarness(t);
    const payload = payloadFor("upstream", { frames: "1-2", notify: { email: "artist@example.com" } });
    const result = await runJob("upload_render_output", payload, { BRENDER_UPSTREAM_FAILURE: "upstream-copy: The project object is missing" });
    assert.equal(result.code, 1);
    const manifest = renderManifestSchema.parse(JSON.parse((await store.getBytes("proj/output/upstream/manifest.json")).toString()));
    assert.equal(manifest.reason, "upstream-copy: The project object is missing");
    const mail = await simpleParser(await readFile(join(outbox, (await readdir(outbox))[0]!)));
    assert.match(mail.text ?? "", /upstream-copy: The project object is missing/);
  });

  it("runs a custom Python script with the documented variables; its exit code is the job's", async (t) => {
    const { store, work, runJob } = await workerHarness(t);
    const dir = await tempDir(t);
    await mkdir(join(dir, "p"));
    await makeScene(join(dir, "p", "scene.blend"));
    await writeFile(join(dir, "p", "job.py"), [
      "import bpy, os, json, sys",
      "out = os.environ['BRENDER_FRAMES_FOLDER']",
      "info = {k: os.environ.get(k) for k in ['EFS_BLENDER_FILE_PATH', 'AWS_BATCH_JOB_ARRAY_INDEX', 'USE_GPU', 'USE_EEVEE', 'SHOT', 'BRENDER_FRAMES']}",
      "info['scene'] = bpy.context.scene.name",
      "open(os.path.join(out, 'info.json'), 'w').write(json.dumps(info))",
      "sys.exit(int(os.environ.get('EXIT_WITH', '0')))",
    ].join("\n"));
    for (const file of ["scene.blend", "job.py"]) await store.putFile(`proj/py/${file}`, join(dir, "p", file));
    const payload = payloadFor("python", { type: "python", frames: "1-4", split: { arraySize: 2 }, python: { script: "job.py", env: { SHOT: "010" } } });
    assert.equal((await runJob("copy_efs", payload, { BUCKET_KEY: "proj/py/" })).code, 0);
    const ok = await runJob("custom_render_python", payload, { AWS_BATCH_JOB_ARRAY_INDEX: "1" });
    assert.equal(ok.code, 0, ok.stderr);
    const info = JSON.parse(await readFile(join(work, "python", "output", "frames", "info.json"), "utf8"));
    assert.deepEqual(info, {
      EFS_BLENDER_FILE_PATH: join(work, "python", "project", "scene.blend"),
      AWS_BATCH_JOB_ARRAY_INDEX: "1", USE_GPU: "False", USE_EEVEE: "False", SHOT: "010", BRENDER_FRAMES: "3-4", scene: "Demo",
    });
    const failing = { ...payload, python: { script: "job.py", env: { EXIT_WITH: "5" } } };
    const failed = await runJob("custom_render_python", failing);
    assert.equal(failed.code, 1);
    assert.match(failed.stderr, /The Python script job\.py failed: Blender exited with code 5/);
    assert.equal(events(failed.stdout).at(-1)?.status, "failed");
  });

  it("remove_efs empties one render's folder, or the whole work folder", async (t) => {
    const { work, runJob } = await workerHarness(t);
    for (const id of ["one", "two"]) await mkdir(join(work, id, "output"), { recursive: true });
    assert.equal((await runJob("remove_efs", payloadFor("one"))).code, 0);
    assert.deepEqual(await readdir(work), ["two"]);
    assert.equal((await runJob("remove_efs", undefined)).code, 0);
    assert.deepEqual(await readdir(work), []);
    assert.ok(await exists(work), "the work folder itself stays (it is a mount point on AWS)");
  });
});
