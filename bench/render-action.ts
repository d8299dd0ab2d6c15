/**
 * The render action against plain Blender, in paired alternating runs.
 *
 * Makes a scene (default: 6 frames, 480x270, Cycles, 64 samples: about 2 s a
 * frame on a quiet 2-core machine) and renders it, round after round, with
 * `blender -b FILE -o … -a` and with `brender worker` running the render
 * action (one child, all frames), alternating which goes first. Each round
 * gives a ratio; the median of the ratios is the figure to compare, because
 * on a shared machine the load moves between rounds more than within one.
 * Every round also checks the frames are pixel-identical to plain Blender's.
 *
 * Run: npm run build && node bench/render-action.ts [--frames 6] [--samples 64]
 *        [--size 480x270] [--rounds 3] [--bin PATH]… [--cpus 0,1] [--json]
 * `--upload` also runs the upload job after each render action and reports
 * it: the tail after the last frame (zip, thumbnail, preview video, manifest).
 * `--bin` compares several builds (another worktree's bin/brender); `--cpus`
 * pins every process to those CPUs with taskset, to see how the render
 * scales with cores on a bigger machine. `--processes 1,2` runs each build
 * once per count of Blenders at once (BRENDER_RENDER_PROCESSES; default: the
 * action chooses from the cores).
 */
import { execFile } from "node:child_process";
import { copyFile, cp, mkdir, mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs, promisify } from "node:util";
import { BIN, makeScene, pixels } from "../test/helpers/blender.ts";

const run = promisify(execFile);
const { values: args } = parseArgs({
  options: {
    frames: { type: "string", default: "6" },
    samples: { type: "string", default: "64" },
    size: { type: "string", default: "480x270" },
    rounds: { type: "string", default: "3" },
    bin: { type: "string", multiple: true },
    cpus: { type: "string" },
    json: { type: "boolean", default: false },
    upload: { type: "boolean", default: false },
    processes: { type: "string" },
  },
});
const frames = Number(args.frames);
const rounds = Number(args.rounds);
const [width, height] = args.size.split("x").map(Number) as [number, number];
/** What runs the render action: a build, and how many Blenders it may run at once (unset: its own choice). */
type Variant = { readonly bin: string; readonly processes?: string };
const variants: Variant[] = (args.bin?.length ? args.bin : [BIN]).flatMap((bin) =>
  args.processes ? args.processes.split(",").map((processes) => ({ bin, processes })) : [{ bin }]);
const variantName = (variant: Variant) => `${variant.bin.split("/").slice(-3, -2)[0] ?? variant.bin}${variant.processes ? ` x${variant.processes}` : ""}`;
const pin = (command: string, commandArgs: string[]): [string, string[]] =>
  args.cpus ? ["taskset", ["-c", args.cpus, command, ...commandArgs]] : [command, commandArgs];

type Timing = { wall: number; cpu: number };

/** Wall time, and the CPU time (user + system) of the whole process tree, from GNU time. */
async function timed(command: string, commandArgs: string[], env?: NodeJS.ProcessEnv): Promise<Timing> {
  const started = performance.now();
  const [program, programArgs] = pin(command, commandArgs);
  const { stderr } = await run("/usr/bin/time", ["-f", "@@cpu %U %S", program, ...programArgs], { env, maxBuffer: 256 * 1024 * 1024 });
  const [user, system] = /@@cpu (\S+) (\S+)/.exec(stderr)!.slice(1).map(Number) as [number, number];
  return { wall: (performance.now() - started) / 1000, cpu: user + system };
}

async function samePixels(a: string, b: string): Promise<boolean> {
  const names = (await readdir(a)).sort();
  const others = (await readdir(b)).sort();
  if (names.length !== frames || others.length !== frames) return false;
  for (let index = 0; index < names.length; index++) {
    if (!(await pixels(join(a, names[index]!))).data.equals((await pixels(join(b, others[index]!))).data)) return false;
  }
  return true;
}

const median = (values: readonly number[]) => [...values].sort((x, y) => x - y)[Math.floor((values.length - 1) / 2)]!;

const dir = await mkdtemp(join(tmpdir(), "brender-bench-action-"));
try {
  const blend = await makeScene(join(dir, "scene.blend"), { frames: [1, frames], resolution: [width, height], samples: Number(args.samples) });
  const plainTimes: Timing[] = [];
  const actionTimes: Timing[][] = variants.map(() => []);
  const uploadTimes: Timing[][] = variants.map(() => []);
  const identical: boolean[] = [];
  for (let round = 0; round < rounds; round++) {
    const plainOut = join(dir, `plain-${round}`);
    const outputs: string[] = [];
    const plain = () => timed("blender", ["-b", blend, "-o", join(plainOut, "frame_####"), "-a"]);
    const action = async (index: number) => {
      const renderId = `bench-${round}-${index}`;
      const variant = variants[index]!;
      const work = join(dir, "work");
      await mkdir(join(work, renderId, "project"), { recursive: true });
      await copyFile(blend, join(work, renderId, "project", "scene.blend"));
      const payload = { schemaVersion: 1, renderId, project: { name: "bench", blendFile: "scene.blend" }, type: "animation", frames: `1-${frames}` };
      const env = { ...process.env, BRENDER_HOME: join(dir, "home"), BRENDER_LOG_LEVEL: "warn", EFS_BLENDER_FOLDER_PATH: work, BRENDER_JOB_PAYLOAD: JSON.stringify(payload) };
      const seconds = await timed(variant.bin, ["worker"], {
        ...env, JOB_ACTION_TYPE: "render", ...(variant.processes ? { BRENDER_RENDER_PROCESSES: variant.processes } : {}),
      });
      outputs.push(join(work, renderId, "output", "frames"));
      if (args.upload) {
        // The upload cleans the work folder: keep the frames for the pixel check.
        await cp(join(work, renderId, "output", "frames"), join(dir, "kept", renderId), { recursive: true });
        outputs[outputs.length - 1] = join(dir, "kept", renderId);
        uploadTimes[index]!.push(await timed(variant.bin, ["worker"], { ...env, JOB_ACTION_TYPE: "upload_render_output" }));
      }
      return seconds;
    };
    // Alternate who goes first, so a load change within a round does not always favour the same side.
    const order = round % 2 === 0 ? ["plain", ...variants.keys()] : [...[...variants.keys()].reverse(), "plain"];
    let plainSeconds: Timing = { wall: 0, cpu: 0 };
    const these: Timing[] = [];
    for (const which of order) {
      if (which === "plain") plainSeconds = await plain();
      else these[which as number] = await action(which as number);
    }
    for (const output of outputs) identical.push(await samePixels(plainOut, output));
    plainTimes.push(plainSeconds);
    these.forEach((seconds, index) => actionTimes[index]!.push(seconds));
  }
  const result = {
    scene: `${frames} frames, ${width}x${height}, ${args.samples} samples, Cycles CPU${args.cpus ? `, CPUs ${args.cpus}` : ""}`,
    rounds,
    plain: { wall: median(plainTimes.map((t) => t.wall)), cpu: median(plainTimes.map((t) => t.cpu)) },
    actions: variants.map((variant, index) => {
      const times = actionTimes[index]!;
      const wallRatios = times.map((t, round) => t.wall / plainTimes[round]!.wall);
      const cpuRatios = times.map((t, round) => t.cpu / plainTimes[round]!.cpu);
      const uploads = uploadTimes[index]!;
      return {
        variant: variantName(variant), wall: median(times.map((t) => t.wall)), cpu: median(times.map((t) => t.cpu)),
        wallRatio: median(wallRatios), cpuRatio: median(cpuRatios), wallRatios, cpuRatios,
        ...(uploads.length ? { upload: { wall: median(uploads.map((t) => t.wall)), cpu: median(uploads.map((t) => t.cpu)), walls: uploads.map((t) => t.wall) } } : {}),
      };
    }),
    pixelIdentical: identical.every(Boolean),
  };
  if (args.json) {
    console.log(JSON.stringify(result));
  } else {
    console.log(`${result.scene}; ${rounds} paired rounds, medians`);
    const list = (ratios: number[]) => ratios.map((r) => r.toFixed(3)).join(", ");
    console.log(`blender -b -a                       wall ${result.plain.wall.toFixed(2)} s, CPU ${result.plain.cpu.toFixed(2)} s`);
    for (const action of result.actions) {
      console.log(`render action ${action.variant.padEnd(22)} wall ${action.wall.toFixed(2)} s, CPU ${action.cpu.toFixed(2)} s; ratios: wall ${action.wallRatio.toFixed(3)} (${list(action.wallRatios)}), CPU ${action.cpuRatio.toFixed(3)} (${list(action.cpuRatios)})`);
      if (action.upload) console.log(`  then the upload job (the tail)   wall ${action.upload.wall.toFixed(2)} s (${list(action.upload.walls)}), CPU ${action.upload.cpu.toFixed(2)} s`);
    }
    console.log(`frames pixel-identical to blender -a: ${result.pixelIdentical ? "yes" : "NO"}`);
  }
  if (!result.pixelIdentical) process.exitCode = 1;
} finally {
  await rm(dir, { recursive: true, force: true });
}
