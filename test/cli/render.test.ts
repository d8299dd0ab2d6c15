import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { execFile, spawn } from "node:child_process";
import { promisify } from "node:util";
import { copyFile, mkdir, readdir, readFile, truncate, access } from "node:fs/promises";
import { join } from "node:path";
import sharp from "sharp";
import { assertGreenTexture, brender, makeScene, pixels, tempDir, BIN, REPO } from "../helpers/blender.ts";
import { simpleParser } from "../helpers/mail.ts";

const run = promisify(execFile);
const exists = (path: string) => access(path).then(() => true, () => false);
const CRASHING_BLENDER = join(REPO, "test", "helpers", "crashing-blender.py");

type Summary = {
  renderId: string; status: string; reason?: string;
  frames: { total: number; done: number; failed: number[] };
  warnings: string[];
  outputs?: { location: string; frames: string; zip?: string; thumbnail?: string; preview?: string };
};

async function renderJson(args: string[], env: Record<string, string>): Promise<{ code: number | null; summary: Summary; stderr: string }> {
  const result = await brender(["render", ...args, "--json"], env);
  assert.ok(result.stdout.trim().startsWith("{"), `expected a JSON summary, got: ${result.stdout}\n${result.stderr}`);
  return { code: result.code, summary: JSON.parse(result.stdout) as Summary, stderr: result.stderr };
}

async function frameNames(summary: Summary): Promise<string[]> {
  return (await readdir(summary.outputs!.frames)).sort();
}

describe("brender render (local farm, real Blender)", () => {
  it("renders an animation split across 3 children: every frame, pixel-identical to a direct render", async (t) => {
    const home = await tempDir(t);
    const blend = await makeScene(join(home, "shot.blend"), { frames: [1, 6] });
    await run("blender", ["-b", blend, "-o", join(home, "direct", "frame_####"), "-a"]);
    // One Blender per child (more cores would split a child's frames among several), so the warm one can serve.
    const { code, summary } = await renderJson([blend, "--array-size", "3"], { BRENDER_HOME: home, BRENDER_RENDER_PROCESSES: "1" });
    assert.equal(code, 0);
    assert.equal(summary.status, "SUCCEEDED");
    assert.deepEqual(summary.frames, { total: 6, done: 6, failed: [] });
    assert.deepEqual(await frameNames(summary), [1, 2, 3, 4, 5, 6].map((f) => `frame_000${f}.png`));
    for (const frame of [1, 2, 3, 4, 5, 6]) {
      const ours = await pixels(join(summary.outputs!.frames, `frame_000${frame}.png`));
      const direct = await pixels(join(home, "direct", `frame_000${frame}.png`));
      assert.ok(ours.data.equals(direct.data), `frame ${frame}`);
    }
    assert.ok(summary.outputs!.zip && summary.outputs!.preview && summary.outputs!.thumbnail);
    // brender render starts a Blender ahead of the first child, and of each next one (src/blender/warm-blender.ts):
    // some of the frames above came from one (all, when the children run one after another).
    const logs = (await readdir(join(home, "logs"), { recursive: true })).filter((name) => name.endsWith(".log"));
    const texts = await Promise.all(logs.map((name) => readFile(join(home, "logs", name), "utf8")));
    assert.ok(texts.some((text) => text.includes('"blenderStartedAhead":true')), "a child rendered in a Blender started ahead");
  });

  it("--frames 1-12:5 renders exactly frames 1, 6 and 11", async (t) => {
    const home = await tempDir(t);
    const blend = await makeScene(join(home, "shot.blend"), { frames: [1, 12], resolution: [16, 16], samples: 1 });
    const { code, summary } = await renderJson([blend, "--frames", "1-12:5", "--chunk-size", "2"], { BRENDER_HOME: home });
    assert.equal(code, 0);
    assert.deepEqual(await frameNames(summary), ["frame_0001.png", "frame_0006.png", "frame_0011.png"]);
  });

  it("applies --scene, --camera, --resolution and --percentage", async (t) => {
    const home = await tempDir(t);
    const blend = await makeScene(join(home, "shot.blend"), { extra_cameras: 1, extra_scene: "Small" });
    const small = await renderJson([blend, "--scene", "Small", "--frames", "1"], { BRENDER_HOME: home });
    assert.equal(small.code, 0);
    const smallFrame = await sharp(join(small.summary.outputs!.frames, "frame_0001.png")).metadata();
    assert.deepEqual([smallFrame.width, smallFrame.height], [32, 18]);
    const side = await renderJson([blend, "--camera", "SideCamera1", "--frames", "1", "--resolution", "40x30", "--percentage", "50"], { BRENDER_HOME: home });
    assert.equal(side.code, 0);
    const sideFrame = await sharp(join(side.summary.outputs!.frames, "frame_0001.png")).metadata();
    assert.deepEqual([sideFrame.width, sideFrame.height], [20, 15]);
  });

  it("renders a project folder with --blend, finding a texture in a sibling folder", async (t) => {
    const home = await tempDir(t);
    const project = join(home, "project");
    await mkdir(join(project, "textures"), { recursive: true });
    await mkdir(join(project, "shots"), { recursive: true });
    await sharp({ create: { width: 8, height: 8, channels: 3, background: { r: 0, g: 255, b: 0 } } }).png().toFile(join(project, "textures", "green.png"));
    await makeScene(join(project, "shots", "shot.blend"), { texture: join(project, "textures", "green.png") });
    const { code, summary } = await renderJson([project, "--blend", "shots/shot.blend", "--frames", "1"], { BRENDER_HOME: home });
    assert.equal(code, 0);
    await assertGreenTexture(join(summary.outputs!.frames, "frame_0001.png"));
  });

  it("runs a --python script from the project with --env variables, and warns when --gpu finds no GPU", async (t) => {
    const home = await tempDir(t);
    const project = join(home, "project");
    await makeScene(join(home, "scene.blend"), { frames: [1, 2], resolution: [16, 16], samples: 1 });
    await mkdir(join(project, "tools"), { recursive: true });
    await copyFile(join(home, "scene.blend"), join(project, "scene.blend"));
    await (await import("node:fs/promises")).writeFile(join(project, "tools", "job.py"), [
      "import bpy, os",
      "scene = bpy.context.scene",
      "scene.render.resolution_x, scene.render.resolution_y = int(os.environ['WIDTH']), 8",
      "for frame in range(1, 3):",
      "    scene.frame_set(frame)",
      "    scene.render.filepath = os.path.join(os.environ['BRENDER_FRAMES_FOLDER'], 'frame_%04d' % frame)",
      "    bpy.ops.render.render(write_still=True)",
    ].join("\n"));
    const scripted = await renderJson([project, "--blend", "scene.blend", "--python", "tools/job.py", "--env", "WIDTH=24", "--frames", "1-2"], { BRENDER_HOME: home });
    assert.equal(scripted.code, 0, scripted.stderr);
    assert.deepEqual(await frameNames(scripted.summary), ["frame_0001.png", "frame_0002.png"]);
    assert.equal((await sharp(join(scripted.summary.outputs!.frames, "frame_0002.png")).metadata()).width, 24);

    const gpu = await renderJson([join(home, "scene.blend"), "--gpu", "--frames", "1"], { BRENDER_HOME: home });
    assert.equal(gpu.code, 0);
    assert.deepEqual(gpu.summary.warnings, ["GPU rendering was asked for, but this machine has no CUDA/OptiX/HIP/oneAPI/Metal device; rendered on the CPU."]);
  });

  it("refuses a corrupt file or an unknown camera with exit 2 and submits nothing", async (t) => {
    const home = await tempDir(t);
    const blend = await makeScene(join(home, "shot.blend"));
    const cut = join(home, "cut.blend");
    await copyFile(blend, cut);
    await truncate(cut, 30_000);
    const corrupt = await brender(["render", cut], { BRENDER_HOME: home });
    assert.equal(corrupt.code, 2);
    assert.match(corrupt.stderr, /cut\.blend.*truncated/);
    const camera = await brender(["render", blend, "--camera", "Nope"], { BRENDER_HOME: home });
    assert.equal(camera.code, 2);
    assert.match(camera.stderr, /--camera "Nope" is not in .*cameras are "MainCamera"/);
    const jobs = await brender(["jobs", "--json"], { BRENDER_HOME: home });
    assert.deepEqual(JSON.parse(jobs.stdout), []);
    assert.equal(await exists(join(home, "bucket")), false, "nothing was uploaded");
  });

  it("retries a child whose Blender crashes, then fails naming the frame, e-mails the failure, exits 1; retry renders only the missing frames", async (t) => {
    const home = await tempDir(t);
    const blend = await makeScene(join(home, "shot.blend"), { frames: [1, 4], resolution: [16, 16], samples: 1 });
    const crashing = { BRENDER_HOME: home, BLENDER_EXECUTABLE: CRASHING_BLENDER, CRASH_AT_FRAME: "3" };
    const failed = await renderJson([blend, "--attempts", "2", "--notify", "artist@example.com"], crashing);
    assert.equal(failed.code, 1);
    assert.equal(failed.summary.status, "FAILED");
    assert.match(failed.summary.reason ?? "", /frame 3/);
    assert.deepEqual(failed.summary.frames.failed, [3, 4]);
    const status = JSON.parse((await brender(["status", failed.summary.renderId, "--json"], { BRENDER_HOME: home })).stdout);
    const renderJob = status.jobs.find((job: { action: string }) => job.action === "render");
    assert.match(renderJob.reason, /Attempt 2\/2 failed: .*SIGSEGV.*frame 3/);
    const mails = await readdir(join(home, "outbox"));
    assert.equal(mails.length, 1);
    const mail = await simpleParser(await readFile(join(home, "outbox", mails[0]!)));
    assert.match(mail.subject ?? "", /FAILED/);
    // The crashed attempts' CPU time counts: each reported it with every frame it finished.
    const failedCpu = status.cost.actual.cpuHours as number;
    assert.ok(failedCpu > 0, JSON.stringify(status.cost));

    const retried = await brender(["retry", failed.summary.renderId, "--json"], { BRENDER_HOME: home });
    assert.equal(retried.code, 0, retried.stderr);
    const summary = JSON.parse(retried.stdout) as Summary & { cost: { actual: { cpuHours: number; method: string } } };
    assert.deepEqual(summary.frames, { total: 4, done: 4, failed: [] });
    // The retry's CPU time is added to the failed run's.
    assert.ok(summary.cost.actual.cpuHours > failedCpu, `${summary.cost.actual.cpuHours} after the retry, ${failedCpu} before`);
    assert.match(summary.cost.actual.method, /earlier runs/);
    const logs = await brender(["logs", summary.renderId], { BRENDER_HOME: home });
    const lastRender = logs.stdout.slice(logs.stdout.lastIndexOf("==> render"));
    assert.match(lastRender, /"frame":1,"file":"[^"]+","reused":true/);
    assert.match(lastRender, /"frame":2,"file":"[^"]+","reused":true/);
    assert.doesNotMatch(lastRender, /"frame":1,"file":"[^"]+","seconds"/, "frame 1 was not rendered again");
  });

  it("cancels a running render: Blender is killed and the render ends FAILED", async (t) => {
    const home = await tempDir(t);
    const blend = await makeScene(join(home, "shot.blend"), { frames: [1, 200], resolution: [320, 180], samples: 64 });
    const submitted = await brender(["render", blend, "--detach"], { BRENDER_HOME: home });
    assert.equal(submitted.code, 0, submitted.stderr);
    const renderId = submitted.stdout.trim();
    await waitFor(async () => /render\s+RUNNING/.test((await brender(["status", renderId], { BRENDER_HOME: home })).stdout), 60_000);
    await waitFor(async () => (await blenderProcesses(renderId)) > 0, 30_000);

    // A second render waits behind the first (the render takes the whole machine); cancelling it runs nothing of it.
    const queued = (await brender(["render", blend, "--frames", "1-2", "--detach"], { BRENDER_HOME: home })).stdout.trim();
    assert.match((await brender(["status", queued], { BRENDER_HOME: home })).stdout, /copy_efs\s+(SUBMITTED|PENDING|RUNNABLE)/, "the machine is busy with the first render");
    const cancelQueued = await brender(["cancel", queued], { BRENDER_HOME: home });
    assert.match(cancelQueued.stdout, /[1-9]\d* queued job\(s\) cancelled, 0 running job\(s\) terminating/);

    const cancel = await brender(["cancel", renderId], { BRENDER_HOME: home });
    assert.equal(cancel.code, 0, cancel.stderr);
    assert.match(cancel.stdout, /running job\(s\) terminating/);
    await waitFor(async () => (await brender(["status", renderId, "--json"], { BRENDER_HOME: home })).code === 1 && (await blenderProcesses(renderId)) === 0, 30_000);
    const status = JSON.parse((await brender(["status", renderId, "--json"], { BRENDER_HOME: home })).stdout);
    assert.equal(status.status, "FAILED");
    assert.match(JSON.stringify(status.jobs), /Cancelled by user/);
    await waitFor(async () => (await brender(["status", queued, "--json"], { BRENDER_HOME: home })).code === 1, 30_000);
    const queuedStatus = JSON.parse((await brender(["status", queued, "--json"], { BRENDER_HOME: home })).stdout);
    assert.equal(queuedStatus.status, "FAILED");
    assert.equal(queuedStatus.jobs.find((job: { action: string }) => job.action === "render").reason, "Cancelled by user");
    assert.equal(queuedStatus.manifest.frames.renderedCount, 0, "nothing of the cancelled render ran");
  });

  it("survives kill -9 of the rendering CLI: a new runner finishes the job and keeps the frames already rendered", async (t) => {
    const home = await tempDir(t);
    const blend = await makeScene(join(home, "shot.blend"), { frames: [1, 8], resolution: [160, 90], samples: 16 });
    const cli = spawn(BIN, ["render", blend], { env: { ...process.env, BRENDER_HOME: home }, stdio: "ignore" });
    let renderId = "";
    await waitFor(async () => {
      const list = JSON.parse((await brender(["jobs", "--json"], { BRENDER_HOME: home })).stdout || "[]") as { renderId: string }[];
      renderId = list[0]?.renderId ?? "";
      if (!renderId) return false;
      const frames = await readdir(join(home, "work", renderId, "output", "frames")).catch(() => []);
      return frames.length >= 2;
    }, 60_000);
    cli.kill("SIGKILL");
    await waitFor(async () => (await blenderProcesses(renderId)) === 0, 15_000);
    const done = (await readdir(join(home, "work", renderId, "output", "frames"))).length;

    const runner = await brender(["runner", "--until-idle"], { BRENDER_HOME: home });
    assert.equal(runner.code, 0, runner.stderr);
    const status = JSON.parse((await brender(["status", renderId, "--json"], { BRENDER_HOME: home })).stdout);
    assert.equal(status.status, "SUCCEEDED");
    assert.equal(status.manifest.frames.renderedCount, 8);
    const logs = (await brender(["logs", renderId], { BRENDER_HOME: home })).stdout;
    const reused = logs.match(/"reused":true/g)?.length ?? 0;
    assert.ok(reused >= done, `the ${done} frames rendered before the kill were kept (${reused} reused)`);
  });

  it("shows progress and a summary for people; status --watch and logs --follow follow a detached render", async (t) => {
    const home = await tempDir(t);
    const blend = await makeScene(join(home, "shot.blend"), { frames: [1, 3], resolution: [16, 16], samples: 1 });
    const human = await brender(["render", blend], { BRENDER_HOME: home });
    assert.equal(human.code, 0, human.stderr);
    assert.match(human.stderr, /^render r-\S+: shot, frames 1-3$/m);
    assert.match(human.stderr, /^3\/3 frames · /m);
    assert.match(human.stdout, /^Done: render r-\S+, 3\/3 frames in \d+s\n  outputs: .*\/bucket\/shot\/output\/r-/);

    const detached = (await brender(["render", blend, "--detach"], { BRENDER_HOME: home })).stdout.trim();
    const [watched, followed] = await Promise.all([
      brender(["status", detached, "--watch", "--json"], { BRENDER_HOME: home }),
      brender(["logs", detached, "--follow"], { BRENDER_HOME: home }),
    ]);
    assert.equal(watched.code, 0, watched.stderr);
    assert.equal(JSON.parse(watched.stdout).status, "SUCCEEDED");
    assert.equal(followed.code, 0);
    for (const job of ["copy_efs", "render", "upload_render_output"]) assert.match(followed.stdout, new RegExp(`==> ${job}, attempt 1`));
    assert.match(followed.stdout, /"type":"frame_finished","frame":3/);
  });

  it("downloads a render's outputs into a folder", async (t) => {
    const home = await tempDir(t);
    const blend = await makeScene(join(home, "shot.blend"), { frames: [1, 2], resolution: [16, 16], samples: 1 });
    const { summary } = await renderJson([blend], { BRENDER_HOME: home });
    const result = await brender(["download", summary.renderId.slice(0, 12), join(home, "got")], { BRENDER_HOME: home });
    assert.equal(result.code, 0, result.stderr);
    assert.deepEqual((await readdir(join(home, "got"))).sort(), ["frames", "manifest.json", "output.zip", "preview.mp4", "thumbnail.jpg"]);
    const links = await brender(["link", summary.renderId, "--expires", "2h", "--json"], { BRENDER_HOME: home });
    assert.equal(links.code, 0, links.stderr);
    const linked = JSON.parse(links.stdout) as { expiresSeconds: number; links: Record<string, string> };
    assert.equal(linked.expiresSeconds, 7200);
    assert.deepEqual(Object.keys(linked.links).sort(), ["manifest.json", "output.zip", "preview.mp4", "thumbnail.jpg"]);
    assert.ok((await readFile(new URL(linked.links["output.zip"]!))).equals(await readFile(join(home, "got", "output.zip"))));
    const tooLong = await brender(["link", summary.renderId, "--expires", "8d"], { BRENDER_HOME: home });
    assert.equal(tooLong.code, 2);
    assert.match(tooLong.stderr, /--expires "8d" must be between 5 minutes and 7 days/);
    const unknown = await brender(["download", "r-nope", join(home, "x")], { BRENDER_HOME: home });
    assert.equal(unknown.code, 2);
    assert.match(unknown.stderr, /No render "r-nope" on this machine/);
  });
});

async function waitFor(check: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await new Promise((resolve) => setTimeout(resolve, 300));
  }
  throw new Error(`condition not met within ${timeoutMs} ms`);
}

/** Blender processes working for this render (their job file path holds the render id). */
async function blenderProcesses(renderId: string): Promise<number> {
  const result = await run("pgrep", ["-f", `blender.*${renderId}`]).catch(() => ({ stdout: "" }));
  return result.stdout.trim().split("\n").filter(Boolean).length;
}
