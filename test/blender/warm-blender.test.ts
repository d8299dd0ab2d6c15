import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { readFileSync } from "node:fs";
import { readdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";
import { BPY_SCRIPTS } from "../../src/blender/runner.ts";
import { claimWarmBlender, discardWarmBlender, sameBlenderEnvironment, startWarmBlender, type WarmRequest } from "../../src/blender/warm-blender.ts";
import type { RunBlenderOptions } from "../../src/blender/runner.ts";
import { makeScene, pixels, tempDir } from "../helpers/blender.ts";
import { childProcesses } from "../helpers/processes.ts";
import { until } from "../helpers/wait.ts";

const run = promisify(execFile);
const BLENDER = process.env.BLENDER_EXECUTABLE || "blender";
const SCRIPT = join(BPY_SCRIPTS, "render_frames.py");

/** The job render_frames.py reads (see src/worker/actions/render.ts). */
async function jobFile(dir: string, frames: number[], extra: Record<string, unknown> = {}): Promise<string> {
  const output = join(dir, "output");
  const job = {
    gpu: false, requireGpu: false, overrides: null, compositorFolder: join(output, "compositor"),
    frames: frames.map((frame) => ({ frame, partialBase: join(output, ".partial", `frame_${String(frame).padStart(4, "0")}`), finalFolder: join(output, "frames") })),
    ...extra,
  };
  const file = join(dir, `job-${frames.join("-")}-${Object.keys(extra).join("-")}.json`);
  await writeFile(file, JSON.stringify(job));
  return file;
}

/** This process's Blenders waiting in warm_start.py. */
const warmBlenders = () => childProcesses(process.pid, "warm_start.py");
const gone = (what: string, condition: () => boolean) => until(async () => condition(), Boolean, what);

const env = { ...process.env, BLENDER_EXECUTABLE: BLENDER };

/** Runs `request` in the waiting Blender when it fits `options`; undefined when none fits. */
async function runInWarmBlender(request: WarmRequest, options: RunBlenderOptions) {
  return (await claimWarmBlender(options))?.run(request);
}

describe("warm Blender (real Blender)", () => {
  it("renders the file it is told, pixel-identical to blender -b FILE -a, and reports like a Blender started for it", async (t) => {
    const dir = await tempDir(t);
    const blend = await makeScene(join(dir, "scene.blend"), { frames: [1, 3], resolution: [48, 27], samples: 4 }, BLENDER);
    await run(BLENDER, ["-b", blend, "-o", join(dir, "direct", "frame_####"), "-a"]);
    startWarmBlender(env);
    assert.equal(warmBlenders().length, 1);
    const lines: string[] = [];
    const exit = await runInWarmBlender({ blendFile: blend, script: SCRIPT, args: [await jobFile(dir, [1, 2, 3])] }, {
      env: { ...env, JOB_ACTION_TYPE: "render", AWS_BATCH_JOB_ARRAY_INDEX: "0", BRENDER_JOB_PAYLOAD: "{}" }, logFile: join(dir, "blender.log"), onLine: (line) => lines.push(line),
    });
    assert.ok(exit, "the job's variables do not matter to Blender: the warm one is used");
    assert.equal(exit.exitCode, 0, exit.tail.join("\n"));
    assert.ok(lines.some((line) => line.includes('"type": "render_settings"')), "render_frames.py ran");
    assert.match(readFileSync(join(dir, "blender.log"), "utf8"), /^Blender \d+\.\d+/m, "what it printed while waiting is in the log");
    assert.deepEqual((await readdir(join(dir, "output", "frames"))).sort(), ["frame_0001.png", "frame_0002.png", "frame_0003.png"]);
    for (const frame of [1, 2, 3]) {
      const name = `frame_000${frame}.png`;
      assert.ok((await pixels(join(dir, "output", "frames", name))).data.equals((await pixels(join(dir, "direct", name))).data), `frame ${frame} differs from blender -a`);
    }
  });

  it("fails a bad setting with the script's exit code, as a Blender started for the file would", async (t) => {
    const dir = await tempDir(t);
    const blend = await makeScene(join(dir, "scene.blend"), { frames: [1, 1], resolution: [16, 16], samples: 1 }, BLENDER);
    startWarmBlender(env);
    const lines: string[] = [];
    const job = await jobFile(dir, [1], { camera: "NoSuchCamera" });
    const warm = await runInWarmBlender({ blendFile: blend, script: SCRIPT, args: [job] }, { env, onLine: (line) => lines.push(line) });
    const direct = await run(BLENDER, ["-b", blend, "--factory-startup", "-noaudio", "--python-exit-code", "3", "--python", SCRIPT, "--", job]).catch((error: { code: number }) => error);
    assert.equal(warm?.exitCode, 3);
    assert.equal((direct as { code: number }).code, 3);
    assert.ok(lines.some((line) => line.includes("settings_error") && line.includes("NoSuchCamera")));
  });

  it("is not used, and ends, when Blender's environment or executable differs from the job's", async () => {
    startWarmBlender(env);
    const [pid] = warmBlenders();
    assert.ok(pid);
    const other = await runInWarmBlender({ blendFile: "/nonexistent.blend", script: SCRIPT, args: [] }, { env: { ...env, OCIO: "/elsewhere/config.ocio" } });
    assert.equal(other, undefined);
    await gone("the unused warm Blender to end", () => warmBlenders().length === 0);

    startWarmBlender(env);
    assert.equal(await runInWarmBlender({ blendFile: "/nonexistent.blend", script: SCRIPT, args: [] }, { env, executable: "/bin/true" }), undefined);
    assert.equal(await runInWarmBlender({ blendFile: "/nonexistent.blend", script: SCRIPT, args: [] }, { env }), undefined, "taken once only");
    await gone("the second warm Blender to end", () => warmBlenders().length === 0);

    startWarmBlender(env);
    discardWarmBlender();
    await gone("a discarded warm Blender to end", () => warmBlenders().length === 0);
  });

  it("compares environments on what Blender reads, not on the job's own variables", () => {
    const base = { PATH: "/usr/bin", HOME: "/home/a" };
    assert.ok(sameBlenderEnvironment(base, { ...base, JOB_ACTION_TYPE: "render", AWS_BATCH_JOB_ARRAY_INDEX: "2", BRENDER_JOB_PAYLOAD: "{}", EFS_BLENDER_FOLDER_PATH: "/w", BLENDER_EXECUTABLE: "/usr/bin/blender" }));
    assert.ok(!sameBlenderEnvironment(base, { ...base, OCIO: "/x.ocio" }));
    assert.ok(!sameBlenderEnvironment(base, { ...base, HOME: "/home/b" }));
    assert.ok(!sameBlenderEnvironment(base, { PATH: "/usr/bin" }));
  });
});
