/**
 * How much time does Brender's render action add to Blender itself?
 *
 * Renders the same frames of the demo scene (about a second a frame on 2
 * cores) twice: with plain `blender -b FILE -a`, and with `brender worker`
 * running the `render` action (settings script, per-frame rendering, atomic
 * moves, progress events). Prints both wall times and their ratio; asserts
 * nothing. Run: npm run build && node bench/render-overhead.ts [frames]
 */
import { execFile } from "node:child_process";
import { mkdtemp, rm, mkdir, copyFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { BIN, makeScene } from "../test/helpers/blender.ts";

const run = promisify(execFile);
const frames = Number(process.argv[2] ?? 8);

async function timed(work: () => Promise<unknown>): Promise<number> {
  const started = performance.now();
  await work();
  return (performance.now() - started) / 1000;
}

const dir = await mkdtemp(join(tmpdir(), "brender-bench-"));
try {
  const blend = await makeScene(join(dir, "scene.blend"), { frames: [1, frames], resolution: [480, 270], samples: 48 });
  const renderId = "bench-overhead";
  const project = join(dir, "work", renderId, "project");
  await mkdir(project, { recursive: true });
  await copyFile(blend, join(project, "scene.blend"));

  const plain = await timed(() => run("blender", ["-b", blend, "-o", join(dir, "plain", "frame_####"), "-a"]));
  const payload = { schemaVersion: 1, renderId, project: { name: "bench", blendFile: "scene.blend" }, type: "animation", frames: `1-${frames}` };
  const brender = await timed(() =>
    run(BIN, ["worker"], {
      env: { ...process.env, JOB_ACTION_TYPE: "render", BRENDER_HOME: dir, EFS_BLENDER_FOLDER_PATH: join(dir, "work"), BRENDER_JOB_PAYLOAD: JSON.stringify(payload), BRENDER_LOG_LEVEL: "warn" },
      maxBuffer: 64 * 1024 * 1024,
    }),
  );
  console.log(`frames: ${frames} (480x270, 48 samples, Cycles CPU)`);
  console.log(`blender -b -a:          ${plain.toFixed(2)} s (${(plain / frames).toFixed(2)} s/frame)`);
  console.log(`brender worker render:  ${brender.toFixed(2)} s (${(brender / frames).toFixed(2)} s/frame)`);
  console.log(`ratio brender/blender:  ${(brender / plain).toFixed(3)}`);
} finally {
  await rm(dir, { recursive: true, force: true });
}
