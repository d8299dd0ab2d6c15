import { access, mkdir } from "node:fs/promises";
import { dirname, join } from "node:path";
import { BPY_SCRIPTS, describeExit, runBlender } from "../../blender/runner.ts";
import { brenderPaths } from "../../config.ts";
import { JobFailedError } from "../../errors.ts";
import { terminationSignal } from "../run-command.ts";
import { runRender } from "./render-run.ts";

/** Makes the demo scene when missing, then renders it like `brender render` would. */
export async function runDemo(options: { frames: string; arraySize: string; json?: boolean }): Promise<number> {
  const blend = join(brenderPaths().home, "demo", "demo.blend");
  await ensureDemoScene(blend, terminationSignal());
  return runRender(blend, { frames: options.frames, arraySize: options.arraySize, attempts: "1", priority: "0", json: options.json, backend: "local", queue: "spot-cpu" });
}

async function ensureDemoScene(blend: string, signal: AbortSignal): Promise<void> {
  if (await access(blend).then(() => true, () => false)) return;
  await mkdir(dirname(blend), { recursive: true });
  process.stderr.write(`Making the demo scene at ${blend}\n`);
  const exit = await runBlender(
    ["-b", "--factory-startup", "-noaudio", "--python-exit-code", "1", "--python", join(BPY_SCRIPTS, "make_demo_scene.py"), "--", JSON.stringify({ output: blend })],
    { signal },
  );
  if (exit.exitCode !== 0) throw new JobFailedError(`Could not make the demo scene: ${describeExit(exit)}: ${exit.tail.slice(-3).join(" | ")}`);
}
