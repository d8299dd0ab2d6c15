import assert from "node:assert/strict";
import { execFile, spawn } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import sharp from "sharp";

const run = promisify(execFile);
export const REPO = new URL("../..", import.meta.url).pathname.replace(/\/$/, "");
export const BIN = join(REPO, "bin", "brender");
const MAKE_SCENE = join(REPO, "src", "blender", "bpy", "make_demo_scene.py");

/** Options of make_demo_scene.py (see its docstring). Tests keep scenes tiny so they render in a blink. */
export type SceneOptions = {
  frames?: [number, number];
  resolution?: [number, number];
  samples?: number;
  engine?: string;
  denoise?: boolean;
  texture?: string;
  extra_cameras?: number;
  extra_scene?: string;
  compress?: boolean;
  file_output?: boolean;
  file_output_slot?: string;
  nested_file_output?: string;
};

/** Makes a test scene with `blender` (a path; default the host's): the file is saved by that Blender. */
export async function makeScene(output: string, options: SceneOptions = {}, blender = "blender"): Promise<string> {
  const settings = { output, resolution: [64, 36], samples: 4, frames: [1, 6], ...options };
  await run(blender, ["-b", "--factory-startup", "-noaudio", "--python-exit-code", "1", "--python", MAKE_SCENE, "--", JSON.stringify(settings)]);
  return output;
}

export type TestBlender = { readonly path: string; readonly version: string };

/**
 * The Blenders the Blender-facing tests run against: the host's (`blender` on PATH) and each one
 * listed in BRENDER_TEST_BLENDERS (paths separated by ':'; scripts/test-blenders.sh sets it up).
 */
export async function testBlenders(): Promise<TestBlender[]> {
  const paths = ["blender", ...(process.env.BRENDER_TEST_BLENDERS ?? "").split(":").map((path) => path.trim()).filter(Boolean)];
  return Promise.all(
    paths.map(async (path) => {
      const { stdout } = await run(path, ["--version"]);
      const version = /Blender (\d+\.\d+\.\d+)/.exec(stdout)?.[1];
      if (!version) throw new Error(`${path} (from BRENDER_TEST_BLENDERS) does not answer --version like Blender: fix the list`);
      return { path, version };
    }),
  );
}

export async function tempDir(t: { after: (fn: () => Promise<void>) => void }, name = "brender-test-"): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), name));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

export type CliResult = { code: number | null; stdout: string; stderr: string };

/** Runs bin/brender (the built CLI) and collects its output; never throws on a non-zero exit. */
export function brender(args: readonly string[], env: NodeJS.ProcessEnv = {}, options: { input?: string } = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(BIN, args, { env: { ...process.env, ...env }, stdio: ["pipe", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(options.input ?? "");
  });
}

/** Raw RGBA pixels of an image, for exact comparisons. */
export async function pixels(file: string): Promise<{ width: number; height: number; data: Buffer }> {
  const { data, info } = await sharp(file).ensureAlpha().raw().toBuffer({ resolveWithObject: true });
  return { width: info.width, height: info.height, data };
}

/** Mean RGB of an image. */
export async function meanColor(file: string): Promise<[number, number, number]> {
  const stats = await sharp(file).stats();
  return [stats.channels[0]!.mean, stats.channels[1]!.mean, stats.channels[2]!.mean];
}

/**
 * Asserts that a frame of a makeScene({texture: green.png}) scene shows the
 * green floor, not Blender's pink "missing texture". The margin is 1.25, not
 * more: Blender 4+'s AgX view transform desaturates pure green to about 1.5x
 * red, where 3.4's Filmic gives 2.6x.
 */
export async function assertGreenTexture(file: string): Promise<void> {
  const [red, green, blue] = await meanColor(file);
  assert.ok(green > 1.25 * red && green > 1.25 * blue, `green texture found in ${file} (mean RGB ${red.toFixed(0)}, ${green.toFixed(0)}, ${blue.toFixed(0)})`);
}

/** The JSON event lines a worker printed. */
export function events(stdout: string): Array<Record<string, unknown> & { type: string }> {
  return stdout
    .split("\n")
    .filter((line) => line.startsWith("{"))
    .map((line) => JSON.parse(line) as Record<string, unknown> & { type: string })
    .filter((event) => typeof event.type === "string");
}
