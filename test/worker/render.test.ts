import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { mkdir, readdir, readFile, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { brender, events, makeScene, meanColor, pixels, tempDir, REPO } from "../helpers/blender.ts";
import { payloadFor, workerHarness } from "./harness.ts";

const run = promisify(execFile);
/** The direct renders compare against the Blender the worker runs (BLENDER_EXECUTABLE picks one of the test matrix's). */
const SAME_BLENDER = process.env.BLENDER_EXECUTABLE || "blender";

describe("render action (real Blender)", () => {
  it("renders an animation split across 3 children pixel-identical to a direct blender -b render", async (t) => {
    const { store, work, runJob } = await workerHarness(t);
    const dir = await tempDir(t);
    const blend = await makeScene(join(dir, "scene.blend"), { frames: [1, 6] });
    await run(SAME_BLENDER, ["-b", blend, "-o", join(dir, "direct", "frame_####"), "-F", "PNG", "-a"]);
    await store.putFile("proj/scene.blend", blend);
    const payload = payloadFor("split-three", { split: { arraySize: 3 } });

    const copy = await runJob("copy_efs", payload, { BUCKET_KEY: "proj/scene.blend" });
    assert.equal(copy.code, 0, copy.stderr);
    const shares: unknown[] = [];
    for (const index of [0, 1, 2]) {
      const child = await runJob("render", payload, { AWS_BATCH_JOB_ARRAY_INDEX: String(index), AWS_BATCH_JOB_ARRAY_SIZE: "3" });
      assert.equal(child.code, 0, child.stderr);
      const started = events(child.stdout).find((event) => event.type === "child_started");
      shares.push(started?.frames);
      const finished = events(child.stdout).filter((event) => event.type === "frame_finished").map((event) => event.frame);
      assert.equal(finished.length, 2);
      assert.ok(events(child.stdout).some((event) => event.type === "frame_progress"), "per-sample progress is reported");
    }
    assert.deepEqual(shares, ["1-2", "3-4", "5-6"]);

    const frames = join(work, "split-three", "output", "frames");
    assert.deepEqual((await readdir(frames)).sort(), [1, 2, 3, 4, 5, 6].map((f) => `frame_000${f}.png`));
    for (const frame of [1, 2, 3, 4, 5, 6]) {
      const ours = await pixels(join(frames, `frame_000${frame}.png`));
      const direct = await pixels(join(dir, "direct", `frame_000${frame}.png`));
      assert.equal(ours.width, 64);
      assert.ok(ours.data.equals(direct.data), `frame ${frame} differs from the direct render`);
    }
    assert.deepEqual(await readdir(join(work, "split-three", "output", ".partial")), [], "no partial frame is left");
  });

  it("renders one child's frames with several Blenders at once (-t threads each), pixel-identical to blender -a", async (t) => {
    const { store, work, runJob } = await workerHarness(t);
    const dir = await tempDir(t);
    const blend = await makeScene(join(dir, "scene.blend"), { frames: [1, 5] });
    await run(SAME_BLENDER, ["-b", blend, "-o", join(dir, "direct", "frame_####"), "-F", "PNG", "-a"]);
    await store.putFile("proj/scene.blend", blend);
    const payload = payloadFor("two-blenders", { frames: "1-5" });
    assert.equal((await runJob("copy_efs", payload, { BUCKET_KEY: "proj/scene.blend" })).code, 0);

    const child = await runJob("render", payload, { BRENDER_RENDER_PROCESSES: "2", BRENDER_LOG_LEVEL: "info" });
    assert.equal(child.code, 0, child.stderr);
    assert.match(child.stderr, /rendering with 2 Blenders of 1 threads each/);
    const finished = events(child.stdout).filter((event) => event.type === "frame_finished").map((event) => event.frame as number);
    assert.deepEqual(finished.sort(), [1, 2, 3, 4, 5]);
    assert.equal(events(child.stdout).filter((event) => event.type === "render_settings").length, 1, "one settings report for the child");
    // Each Blender has its own log, and was given its share of the threads.
    const logs = (await readdir(join(work, "two-blenders", "logs"))).sort();
    assert.deepEqual(logs, ["render-0.0.log", "render-0.1.log"]);
    const jobs = join(work, "two-blenders", "jobs");
    const dealt = await Promise.all(["render-0.0.json", "render-0.1.json"].map(async (name) =>
      (JSON.parse(await readFile(join(jobs, name), "utf8")) as { frames: { frame: number }[] }).frames.map((item) => item.frame)));
    assert.deepEqual(dealt, [[1, 3, 5], [2, 4]]);

    const frames = join(work, "two-blenders", "output", "frames");
    for (const frame of [1, 2, 3, 4, 5]) {
      const ours = await pixels(join(frames, `frame_000${frame}.png`));
      const direct = await pixels(join(dir, "direct", `frame_000${frame}.png`));
      assert.ok(ours.data.equals(direct.data), `frame ${frame} differs from the direct render`);
    }
  });

  it("respects the frame step across children: 1-12:5 renders exactly 1, 6 and 11", async (t) => {
    const { store, work, runJob } = await workerHarness(t);
    const dir = await tempDir(t);
    await store.putFile("proj/scene.blend", await makeScene(join(dir, "scene.blend"), { frames: [1, 12], resolution: [16, 16], samples: 1 }));
    const payload = payloadFor("stepped", { frames: "1-12:5", split: { arraySize: 2 } });
    assert.equal((await runJob("copy_efs", payload, { BUCKET_KEY: "proj/scene.blend" })).code, 0);
    const blenderTemp = join(dir, "tmp");
    await mkdir(blenderTemp);
    for (const index of ["0", "1"]) {
      const child = await runJob("render", payload, { AWS_BATCH_JOB_ARRAY_INDEX: index, TMPDIR: blenderTemp });
      assert.equal(child.code, 0, child.stderr);
    }
    assert.deepEqual((await readdir(join(work, "stepped", "output", "frames"))).sort(), ["frame_0001.png", "frame_0006.png", "frame_0011.png"]);
    // render_frames.py ends Blender itself after the last frame, and removes the session folder Blender's quit would have.
    assert.deepEqual((await readdir(blenderTemp)).filter((name) => name.startsWith("blender_")), [], "Blender's session temp folder is removed");
  });

  it("applies scene, camera and resolution overrides", async (t) => {
    const { store, work, runJob } = await workerHarness(t);
    const dir = await tempDir(t);
    const blend = await makeScene(join(dir, "scene.blend"), { extra_cameras: 1, extra_scene: "Small" });
    await store.putFile("proj/scene.blend", blend);
    const still = (renderId: string, extra: Record<string, unknown>) => payloadFor(renderId, { type: "still", frames: "2", ...extra });
    const cases = {
      plain: still("plain", {}),
      side: still("side", { camera: "SideCamera1" }),
      small: still("small", { scene: "Small" }),
      sized: still("sized", { mode: "override", render: { resolution: { x: 40, y: 30, percentage: 50 } } }),
    };
    for (const payload of Object.values(cases)) {
      assert.equal((await runJob("copy_efs", payload, { BUCKET_KEY: "proj/scene.blend" })).code, 0);
      const result = await runJob("render", payload);
      assert.equal(result.code, 0, result.stderr);
    }
    const frame = (id: string) => join(work, id, "output", "frames", "frame_0002.png");
    const plain = await pixels(frame("plain"));
    const side = await pixels(frame("side"));
    assert.equal(side.width, 64);
    assert.ok(!plain.data.equals(side.data), "another camera gives another picture");
    assert.deepEqual([(await pixels(frame("small"))).width, (await pixels(frame("small"))).height], [32, 18], "the Small scene's own resolution");
    const sized = await pixels(frame("sized"));
    assert.deepEqual([sized.width, sized.height], [20, 15]);
  });

  it("rejects an unknown camera with a message that lists the cameras, exit 1", async (t) => {
    const { store, runJob } = await workerHarness(t);
    const dir = await tempDir(t);
    await store.putFile("proj/scene.blend", await makeScene(join(dir, "scene.blend")));
    const payload = payloadFor("badcam", { type: "still", frames: "1", camera: "Nope" });
    assert.equal((await runJob("copy_efs", payload, { BUCKET_KEY: "proj/scene.blend" })).code, 0);
    const result = await runJob("render", payload);
    assert.equal(result.code, 1);
    assert.match(result.stderr, /camera 'Nope' is not in this file \(cameras: 'MainCamera'\)/);
  });

  it("fails loudly, before rendering, when the GPU is required (AWS GPU queue) and Blender finds none; without the requirement it warns and uses the CPU", async (t) => {
    const { store, work, runJob } = await workerHarness(t);
    const dir = await tempDir(t);
    await store.putFile("proj/scene.blend", await makeScene(join(dir, "scene.blend"), { engine: "CYCLES" }));
    const payload = payloadFor("gpu", { type: "still", frames: "1", gpu: true });
    assert.equal((await runJob("copy_efs", payload, { BUCKET_KEY: "proj/scene.blend" })).code, 0);
    const required = await runJob("render", payload, { BRENDER_REQUIRE_GPU: "1" });
    assert.equal(required.code, 1);
    assert.match(required.stderr, /a GPU was asked for on a GPU host, but Blender .* finds no usable OptiX or CUDA device/);
    assert.deepEqual(await readdir(join(work, "gpu", "output", "frames")).catch(() => []), [], "nothing rendered on the CPU");

    const fallback = await runJob("render", payload);
    assert.equal(fallback.code, 0, fallback.stderr);
    const settings = events(fallback.stdout).find((event) => event.type === "render_settings");
    assert.equal(settings?.device, "CPU");
    assert.ok(events(fallback.stdout).some((event) => event.type === "warning" && /rendered on the CPU/.test(String(event.message))));
  });

  it("renders a denoise-on file without the missing denoiser and warns", async (t) => {
    const { store, work, runJob } = await workerHarness(t);
    const dir = await tempDir(t);
    await store.putFile("proj/scene.blend", await makeScene(join(dir, "scene.blend"), { denoise: true }));
    const payload = payloadFor("denoise", { type: "still", frames: "1" });
    assert.equal((await runJob("copy_efs", payload, { BUCKET_KEY: "proj/scene.blend" })).code, 0);
    const result = await runJob("render", payload);
    assert.equal(result.code, 0, result.stderr);
    const warnings = events(result.stdout).filter((event) => event.type === "warning");
    assert.equal(warnings.length, 1);
    assert.match(String(warnings[0]!.message), /OpenImageDenoise.*rendered without denoising/);
    assert.ok((await stat(join(work, "denoise", "output", "frames", "frame_0001.png"))).size > 0);
  });

  it("redirects compositor File Output nodes into the render's output folder", async (t) => {
    const { store, work, runJob } = await workerHarness(t);
    const dir = await tempDir(t);
    await store.putFile("proj/scene.blend", await makeScene(join(dir, "scene.blend"), { file_output: true, resolution: [16, 16], samples: 1 }));
    const payload = payloadFor("compositor", { frames: "2-3" });
    assert.equal((await runJob("copy_efs", payload, { BUCKET_KEY: "proj/scene.blend" })).code, 0);
    const result = await runJob("render", payload);
    assert.equal(result.code, 0, result.stderr);
    const written = await readdir(join(work, "compositor", "output", "compositor", "Beauty_Copy"));
    assert.deepEqual(written.sort(), ["Image0002.png", "Image0003.png"]);
    assert.equal(await readdir(join(work, "compositor", "project")).then((names) => names.includes("file_output")), false, "nothing written next to the .blend");
  });

  it("renders with Eevee headless", async (t) => {
    const { store, work, runJob } = await workerHarness(t);
    const dir = await tempDir(t);
    await store.putFile("proj/scene.blend", await makeScene(join(dir, "scene.blend")));
    const payload = payloadFor("eevee", { type: "still", frames: "1", mode: "override", render: { engine: "BLENDER_EEVEE", eevee: { samples: 2 } } });
    assert.equal((await runJob("copy_efs", payload, { BUCKET_KEY: "proj/scene.blend" })).code, 0);
    const result = await runJob("render", payload, { DISPLAY: "" });
    assert.equal(result.code, 0, result.stderr);
    assert.equal(events(result.stdout).find((event) => event.type === "render_settings")?.engine, "BLENDER_EEVEE");
    const [r, g, b] = await meanColor(join(work, "eevee", "output", "frames", "frame_0001.png"));
    assert.ok(r + g + b > 30, "the Eevee frame is not black");
  });

  it("fails with the frame named when Blender crashes, keeps the finished frames, and resumes without re-rendering them", async (t) => {
    const { store, work, runJob } = await workerHarness(t);
    const dir = await tempDir(t);
    await store.putFile("proj/scene.blend", await makeScene(join(dir, "scene.blend"), { frames: [1, 4], resolution: [16, 16], samples: 1 }));
    const payload = payloadFor("crash", { frames: "1-4" });
    assert.equal((await runJob("copy_efs", payload, { BUCKET_KEY: "proj/scene.blend" })).code, 0);
    const crashed = await runJob("render", payload, {
      BLENDER_EXECUTABLE: join(REPO, "test", "helpers", "crashing-blender.py"),
      CRASH_AT_FRAME: "3",
    });
    assert.equal(crashed.code, 1);
    const failure = events(crashed.stdout).find((event) => event.type === "child_finished");
    assert.equal(failure?.status, "failed");
    assert.match(String(failure?.reason), /killed by SIGSEGV.*while rendering frame 3.*frames not rendered: 3-4/);
    const frames = join(work, "crash", "output", "frames");
    assert.deepEqual((await readdir(frames)).sort(), ["frame_0001.png", "frame_0002.png"]);

    const retried = await runJob("render", payload);
    assert.equal(retried.code, 0, retried.stderr);
    const finished = events(retried.stdout).filter((event) => event.type === "frame_finished");
    assert.deepEqual(finished.map((event) => [event.frame, event.reused ?? false]), [[1, true], [2, true], [3, false], [4, false]]);
  });

  it("refuses a truncated .blend before Blender renders a default scene instead", async (t) => {
    const { work, runJob } = await workerHarness(t);
    const dir = await tempDir(t);
    const blend = await makeScene(join(dir, "scene.blend"));
    const { truncate, copyFile } = await import("node:fs/promises");
    const project = join(work, "truncated", "project");
    await mkdir(project, { recursive: true });
    await copyFile(blend, join(project, "scene.blend"));
    await truncate(join(project, "scene.blend"), 5000);
    const result = await runJob("render", payloadFor("truncated", { type: "still", frames: "1" }));
    assert.equal(result.code, 2);
    assert.match(result.stderr, /scene\.blend.*truncated/);
  });

  it("checks the array index against the payload's split", async (t) => {
    const { runJob } = await workerHarness(t);
    const result = await runJob("render", payloadFor("outofrange", { split: { arraySize: 2 } }), { AWS_BATCH_JOB_ARRAY_INDEX: "5" });
    assert.equal(result.code, 2);
    assert.match(result.stderr, /AWS_BATCH_JOB_ARRAY_INDEX=5 is out of range: this render has 2 children/);
  });
});

describe("worker entry point", () => {
  it("names the variable when JOB_ACTION_TYPE is missing or wrong", async () => {
    const missing = await brender(["worker"], { JOB_ACTION_TYPE: "" });
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /JOB_ACTION_TYPE is not set; set it to one of copy_efs, render/);
    const wrong = await brender(["worker"], { JOB_ACTION_TYPE: "paint" });
    assert.equal(wrong.code, 2);
    assert.match(wrong.stderr, /JOB_ACTION_TYPE="paint" is not a job type/);
  });

  it("takes the job type and payload file from --action and --payload", async (t) => {
    const { home, work } = await workerHarness(t);
    await mkdir(join(work, "flagged", "output"), { recursive: true });
    const payloadFile = join(home, "payload.json");
    await writeFile(payloadFile, JSON.stringify(payloadFor("flagged")));
    const result = await brender(["worker", "--action", "remove_efs", "--payload", payloadFile], { BRENDER_HOME: home, JOB_ACTION_TYPE: "render" });
    assert.equal(result.code, 0, result.stderr);
    assert.deepEqual(await readdir(work), []);
  });

  it("reads projects from the folder BRENDER_STORAGE names, and refuses schemes it does not know", async (t) => {
    const { work, runJob } = await workerHarness(t);
    const elsewhere = await tempDir(t);
    await mkdir(join(elsewhere, "proj"));
    await writeFile(join(elsewhere, "proj", "scene.blend"), "stand-in bytes");
    const copy = await runJob("copy_efs", payloadFor("stored"), { BUCKET_KEY: "proj/scene.blend", BRENDER_STORAGE: elsewhere });
    assert.equal(copy.code, 0, copy.stderr);
    assert.equal(await readFile(join(work, "stored", "project", "scene.blend"), "utf8"), "stand-in bytes");
    const unknown = await runJob("copy_efs", payloadFor("stored"), { BUCKET_KEY: "proj/scene.blend", BRENDER_STORAGE: "ftp://host/x" });
    assert.equal(unknown.code, 2);
    assert.match(unknown.stderr, /BRENDER_STORAGE="ftp:\/\/host\/x" uses a storage scheme this version does not support/);
  });

  it("names the bad field of an invalid payload", async (t) => {
    const { runJob } = await workerHarness(t);
    const result = await runJob("render", { ...payloadFor("badpayload"), frames: "10-1" } as never);
    assert.equal(result.code, 2);
    assert.match(result.stderr, /frames: .*10-1/);
  });
});
