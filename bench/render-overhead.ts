/**
 * How much time does Brender add to Blender itself?
 *
 * Renders the same frames of the demo scene (about a second a frame on 2
 * cores) three ways: plain `blender -b FILE -a`; `brender worker` running only
 * the `render` action; and `brender render FILE` with default settings, the
 * whole pipeline (inspection, copy, render, upload with zip, thumbnail and
 * preview video). Prints wall times and ratios; asserts nothing.
 * Run: npm run build && node bench/render-overhead.ts [frames=24]
 */
import { execFile } from "node:child_process";
import { mkdtemp, rm, mkdir, copyFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { BIN, makeScene } from "../test/helpers/blender.ts";

const run = promisify(execFile);
const frames = Number(process.argv[2] ?? 24);

async function timed(work: () => Promise<unknown>): Promise<number> {
  const started = performance.now();
  await work();
  return (performance.now() - started) / 1000;
}

const dir = await mkdtemp(join(tmpdir(), "brender-bench-"));
try {
  const blend = await makeScene(join(dir, "scene.blend"), { frames: [1, frames], resolution: [320, 180], samples: 48 });
  const renderId = "bench-overhead";
  const project = join(dir, "work", renderId, "project");
  await mkdir(project, { recursive: true });
  await copyFile(blend, join(project, "scene.blend"));
  const env = { ...process.env, BRENDER_HOME: join(dir, "home"), BRENDER_LOG_LEVEL: "warn" };

  const plain = await timed(() => run("blender", ["-b", blend, "-o", join(dir, "plain", "frame_####"), "-a"]));
  const payload = { schemaVersion: 1, renderId, project: { name: "bench", blendFile: "scene.blend" }, type: "animation", frames: `1-${frames}` };
  const worker = await timed(() =>
    run(BIN, ["worker"], {
      env: { ...env, JOB_ACTION_TYPE: "render", EFS_BLENDER_FOLDER_PATH: join(dir, "work"), BRENDER_JOB_PAYLOAD: JSON.stringify(payload) },
      maxBuffer: 64 * 1024 * 1024,
    }),
  );
  const pipeline = await timed(() => run(BIN, ["render", blend, "--json"], { env, maxBuffer: 64 * 1024 * 1024 }));
  const line = (label: string, seconds: number) => `${label.padEnd(34)} ${seconds.toFixed(2)} s (${(seconds / frames).toFixed(2)} s/frame)`;
  console.log(`frames: ${frames} (320x180, 48 samples, Cycles CPU)`);
  console.log(line("blender -b -a", plain));
  console.log(line("brender worker (render action)", worker));
  console.log(line("brender render (whole pipeline)", pipeline));
  console.log(`ratio render action / blender:    ${(worker / plain).toFixed(3)}`);
  console.log(`ratio brender render / blender:   ${(pipeline / plain).toFixed(3)}   (target <= 1.10)`);
} finally {
  await rm(dir, { recursive: true, force: true });
}
