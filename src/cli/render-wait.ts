import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { frameCount, parseFrameSet } from "../domain/frames.ts";
import { outputPrefix } from "../domain/layout.ts";
import type { RenderJobPayload } from "../domain/render-payload.ts";
import { parseRenderPayloadJson } from "../domain/render-payload.ts";
import { isTerminal } from "../backends/local/job-state.ts";
import { renderJobs, type LocalFarm, type ProjectUploadSummary } from "../backends/local/farm.ts";
import type { ObjectStore } from "../storage/object-store.ts";
import { runLocalFarm } from "../backends/local/runner.ts";
import { UserInputError } from "../errors.ts";
import { applyEvent, emptyProgress, EventFollower, formatProgressLine, renderOutcome, formatSeconds, type RenderOutcome } from "./render-watch.ts";

const REFRESH_MS = 500;

/** The payload a render was submitted with (kept in its copy job's environment). */
export function submittedPayload(farm: LocalFarm, renderId: string): RenderJobPayload {
  const copy = renderJobs(farm, renderId).find((job) => job.action === "copy_efs");
  const text = copy?.environment.BRENDER_JOB_PAYLOAD;
  if (!text) throw new UserInputError(`No render "${renderId}" on this machine; 'brender jobs' lists them.`);
  return parseRenderPayloadJson(text);
}

/**
 * Runs the farm in this process until the render's jobs have ended, showing
 * live progress (one rewritten line on a terminal, a line per change
 * otherwise, nothing with `quiet`). Ctrl-C terminates the render.
 */
export async function runAndWatch(farm: LocalFarm, payload: RenderJobPayload, options: { quiet: boolean; runFarm: boolean }): Promise<RenderOutcome> {
  const started = performance.now();
  const controller = new AbortController();
  const interrupt = () => {
    for (const job of renderJobs(farm, payload.renderId)) if (!isTerminal(job.status)) farm.jobs.terminate(job.id, "Terminated by user (Ctrl-C)");
    process.stderr.write("\nbrender: terminating the render (Ctrl-C again to quit at once)\n");
    process.once("SIGINT", () => controller.abort());
  };
  process.once("SIGINT", interrupt);
  const done = () => renderJobs(farm, payload.renderId).every((job) => isTerminal(job.status));
  const runner = options.runFarm
    ? runLocalFarm({ store: farm.jobs, logDir: farm.logDir, stopWhen: done, signal: controller.signal })
    : waitUntil(done, controller.signal);
  const display = watchProgress(farm, payload, started, options.quiet, runner);
  try {
    await runner;
    await display;
  } finally {
    process.removeListener("SIGINT", interrupt);
  }
  return renderOutcome(farm, payload);
}

async function waitUntil(done: () => boolean, signal: AbortSignal): Promise<void> {
  while (!done() && !signal.aborted) await new Promise((resolve) => setTimeout(resolve, REFRESH_MS));
}

async function watchProgress(farm: LocalFarm, payload: RenderJobPayload, started: number, quiet: boolean, until: Promise<void>): Promise<void> {
  const total = payload.type === "python" ? 0 : frameCount(parseFrameSet(payload.frames));
  const progress = emptyProgress(total);
  const follower = new EventFollower(farm.paths.work, payload.renderId);
  const tty = process.stderr.isTTY === true;
  let finished = false;
  void until.finally(() => (finished = true));
  let lastLine = "";
  const seenWarnings = new Set<string>();
  const seenFailures = new Set<number>();
  const write = (line: string) => process.stderr.write(tty ? `\r\x1b[K${line}` : `${line}\n`);
  while (!finished) {
    await follower.poll((child, event) => applyEvent(progress, child, event));
    if (!quiet) {
      for (const warning of progress.warnings) if (!seenWarnings.has(warning)) {
        seenWarnings.add(warning);
        process.stderr.write(`${tty ? "\r\x1b[K" : ""}warning: ${warning}\n`);
      }
      for (const [frame, reason] of progress.failedFrames) if (!seenFailures.has(frame)) {
        seenFailures.add(frame);
        process.stderr.write(`${tty ? "\r\x1b[K" : ""}frame ${frame} failed: ${reason}\n`);
      }
      const line = formatProgressLine(progress, renderJobs(farm, payload.renderId), (performance.now() - started) / 1000);
      // Off a terminal, print only when the frame count or stage changes, not every tick.
      const key = tty ? line : line.replace(/ · \d+(m\d+s|s|h\d+m)$/, "").replace(/ · ETA [^·]+/, "").replace(/ \d+\/\d+ samples/, "");
      if (key !== lastLine) {
        write(line);
        lastLine = key;
      }
    }
    // Wake at once when the farm is done, not at the next tick.
    await Promise.race([new Promise((resolve) => setTimeout(resolve, REFRESH_MS)), until.catch(() => undefined)]);
  }
  if (!quiet && tty) process.stderr.write("\n");
}

/** Starts a background farm process that works until no job is left, for `--detach`. */
export function startBackgroundRunner(): void {
  // This module runs from dist/cli/ (bin/brender), next to the CLI's main.js.
  const main = fileURLToPath(new URL("./main.js", import.meta.url));
  const child = spawn(process.execPath, [main, "runner", "--until-idle"], { detached: true, stdio: "ignore", env: process.env });
  child.unref();
}

/** The summary printed when a render ends; one JSON object with --json. */
export function printOutcome(
  objects: ObjectStore,
  payload: RenderJobPayload,
  outcome: Pick<RenderOutcome, "status" | "reason" | "manifest">,
  seconds: number,
  json: boolean,
  upload?: ProjectUploadSummary,
  /** Warnings found before the render started (missing external files, an odd frame range), kept in the JSON summary. */
  inputWarnings: readonly string[] = [],
  /** The Blender that rendered (local renders). */
  blender?: { readonly path: string; readonly version: string },
): number {
  const manifest = outcome.manifest;
  const prefix = outputPrefix(payload.project.name, payload.renderId);
  const total = manifest?.frames.expectedCount ?? (payload.type === "python" ? 0 : frameCount(parseFrameSet(payload.frames)));
  const outputs = manifest
    ? {
        location: objects.describe(prefix),
        frames: objects.describe(`${prefix}frames/`),
        ...(manifest.outputs.zip ? { zip: objects.describe(manifest.outputs.zip) } : {}),
        ...(manifest.outputs.thumbnail ? { thumbnail: objects.describe(manifest.outputs.thumbnail) } : {}),
        ...(manifest.outputs.preview ? { preview: objects.describe(manifest.outputs.preview) } : {}),
        manifest: objects.describe(`${prefix}manifest.json`),
      }
    : undefined;
  const summary = {
    renderId: payload.renderId,
    project: payload.project.name,
    status: outcome.status,
    ...(outcome.reason ? { reason: outcome.reason } : {}),
    frames: { total, done: manifest?.frames.renderedCount ?? 0, failed: manifest?.frames.missing ?? [] },
    warnings: [...(json ? inputWarnings : []), ...(manifest?.warnings ?? [])],
    ...(blender ? { blender } : {}),
    seconds: Math.round(seconds * 10) / 10,
    ...(upload ? { upload } : {}),
    ...(outputs ? { outputs } : {}),
  };
  if (json) {
    process.stdout.write(`${JSON.stringify(summary, null, 2)}\n`);
  } else {
    const lines = [
      `${outcome.status === "SUCCEEDED" ? "Done" : outcome.status}: render ${payload.renderId}, ${summary.frames.done}/${total} frames in ${formatSeconds(seconds)}`,
      ...(outcome.reason ? [`  reason: ${outcome.reason}`] : []),
      ...(summary.frames.failed.length ? [`  frames not rendered: ${summary.frames.failed.join(",")} (brender retry ${payload.renderId} renders only those)`] : []),
      ...summary.warnings.map((warning) => `  warning: ${warning}`),
      ...(outputs ? [`  outputs: ${outputs.location}`, ...[outputs.zip, outputs.thumbnail, outputs.preview].filter(Boolean).map((path) => `    ${path}`)] : []),
      ...(blender ? [`  rendered with Blender ${blender.version} (${blender.path})`] : []),
    ];
    process.stdout.write(`${lines.join("\n")}\n`);
  }
  return outcome.status === "SUCCEEDED" ? 0 : 1;
}
