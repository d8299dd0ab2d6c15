import { access, mkdir } from "node:fs/promises";
import { join } from "node:path";
import { pino } from "pino";
import { BPY_SCRIPTS, describeExit, runBlender } from "../../blender/runner.ts";
import { brenderPaths } from "../../config.ts";
import { newRenderId } from "../../domain/ids.ts";
import { outputPrefix } from "../../domain/layout.ts";
import { parseRenderPayload } from "../../domain/render-payload.ts";
import { compileRenderPlan } from "../../domain/render-plan.ts";
import { renderManifestSchema } from "../../domain/render-manifest.ts";
import { JobFailedError } from "../../errors.ts";
import { runPlanInProcess } from "../../pipeline/run-in-process.ts";
import { openObjectStore } from "../../storage/open-store.ts";
import { progressPrinter } from "../progress-printer.ts";
import { terminationSignal } from "../run-command.ts";


const DEMO_PROJECT = "demo";

/** Makes the demo scene when missing and renders it through the whole pipeline on this machine. */
export async function runDemo(options: { frames: string; arraySize: string }): Promise<number> {
  const signal = terminationSignal();
  const paths = brenderPaths();
  const blend = join(paths.home, "demo", "demo.blend");
  await ensureDemoScene(blend, signal);

  const payload = parseRenderPayload({
    schemaVersion: 1,
    renderId: newRenderId(),
    project: { name: DEMO_PROJECT, blendFile: "demo.blend" },
    type: "animation",
    frames: options.frames,
    split: { arraySize: Number(options.arraySize) },
  });
  const store = openObjectStore();
  const bucketKey = `${DEMO_PROJECT}/projects/${payload.renderId}/demo.blend`;
  await store.putFile(bucketKey, blend);

  process.stdout.write(`Rendering ${blend} frames ${payload.frames} (render ${payload.renderId})\n`);
  const started = performance.now();
  const results = await runPlanInProcess(compileRenderPlan(payload, { bucketKey }), process.env, {
    stdout: progressPrinter((text) => process.stdout.write(text)),
    signal,
    log: pino({ level: "silent" }),
  });
  const prefix = outputPrefix(payload.project.name, payload.renderId);
  const manifestBytes = await store.getBytes(`${prefix}manifest.json`).catch(() => undefined);
  if (!manifestBytes) {
    throw new JobFailedError(`The demo render failed before its outputs were uploaded (jobs: ${results.map((r) => `${r.job}${r.child === undefined ? "" : `[${r.child}]`}=${r.exitCode}`).join(", ")}). Logs are in ${paths.work}/${payload.renderId}/logs.`);
  }
  const manifest = renderManifestSchema.parse(JSON.parse(manifestBytes.toString("utf8")));
  const seconds = ((performance.now() - started) / 1000).toFixed(1);
  process.stdout.write(
    [
      "",
      `${manifest.status === "succeeded" ? "Done" : "FAILED"}: ${manifest.frames.renderedCount}/${manifest.frames.expectedCount} frames in ${seconds} s${manifest.reason ? ` (${manifest.reason})` : ""}`,
      `Outputs: ${store.describe(prefix)}`,
      ...[manifest.outputs.zip, manifest.outputs.thumbnail, manifest.outputs.preview]
        .filter((key): key is string => key !== undefined)
        .map((key) => `  ${store.describe(key)}`),
      "",
    ].join("\n"),
  );
  return manifest.status === "succeeded" ? 0 : 1;
}

async function ensureDemoScene(blend: string, signal: AbortSignal): Promise<void> {
  if (await access(blend).then(() => true, () => false)) return;
  await mkdir(join(blend, ".."), { recursive: true });
  process.stdout.write(`Making the demo scene at ${blend}\n`);
  const exit = await runBlender(
    ["-b", "--factory-startup", "-noaudio", "--python-exit-code", "1", "--python", join(BPY_SCRIPTS, "make_demo_scene.py"), "--", JSON.stringify({ output: blend })],
    { signal },
  );
  if (exit.exitCode !== 0) throw new JobFailedError(`Could not make the demo scene: ${describeExit(exit)}: ${exit.tail.slice(-3).join(" | ")}`);
}
