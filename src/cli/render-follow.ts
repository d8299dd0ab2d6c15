import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import type { ProjectUploadSummary } from "../backends/local/farm.ts";
import { costLine } from "../domain/cost/cost-words.ts";
import { frameCount, parseFrameSet } from "../domain/frames.ts";
import { outputPrefix } from "../domain/layout.ts";
import type { RenderManifest } from "../domain/render-manifest.ts";
import type { RenderJobPayload } from "../domain/render-payload.ts";
import type { RenderBackend, WatchSnapshot } from "../renders/backend.ts";
import { costView } from "../renders/views.ts";
import type { ObjectStore } from "../storage/object-store.ts";
import { formatProgressLine, formatSeconds } from "./render-watch.ts";
import { traceMark } from "./trace.ts";

/** How a render ended (or stands) for the summary: RUNNING when the watch stopped before it ended. */
export type RenderOutcome = { readonly status: string; readonly reason?: string; readonly manifest?: RenderManifest };

/**
 * Follows a render in the terminal until it ends, on whichever backend it
 * runs, showing live progress (one rewritten line on a terminal, a line per
 * change otherwise, nothing with `quiet`). When this process runs the jobs
 * (the local farm), it runs them meanwhile; Ctrl-C then terminates the render.
 */
export async function watchRender(backend: RenderBackend, renderId: string, options: { quiet: boolean; started: number; runJobs: boolean }): Promise<RenderOutcome> {
  const watcher = await backend.watcher(renderId);
  let snapshot = await watcher.poll();
  const controller = new AbortController();
  const interrupt = () => {
    backend.interrupt?.(renderId);
    process.stderr.write("\nbrender: terminating the render (Ctrl-C again to quit at once)\n");
    process.once("SIGINT", () => controller.abort());
  };
  const stop = new AbortController();
  if (snapshot.state.terminal) stop.abort();
  // A job that ends may end the render: look at once rather than at the next tick.
  let jobEnded: (() => void) | undefined;
  let endedSincePoll = false;
  const onJobEnded = () => {
    endedSincePoll = true;
    jobEnded?.();
  };
  const runner = options.runJobs && backend.runJobs ? backend.runJobs({ stop: stop.signal, signal: controller.signal, onJobEnded }) : undefined;
  if (runner) process.once("SIGINT", interrupt);
  let runnerDone = false;
  void runner?.finally(() => (runnerDone = true)).catch(() => undefined);
  const tty = process.stderr.isTTY === true;
  const seenWarnings = new Set<string>();
  const seenFailures = new Set<number>();
  let lastLine = "";
  try {
    for (;;) {
      if (!options.quiet) lastLine = show(snapshot, options.started, tty, lastLine, seenWarnings, seenFailures);
      if (snapshot.state.terminal || runnerDone) break;
      // Wake at once when the runner is done or a job ended, not at the next tick.
      let timer: NodeJS.Timeout | undefined;
      if (!endedSincePoll) {
        await Promise.race([
          new Promise<void>((resolve) => {
            timer = setTimeout(resolve, backend.pollMs);
            jobEnded = resolve;
          }),
          runner?.catch(() => undefined),
        ].filter(Boolean));
      }
      clearTimeout(timer);
      jobEnded = undefined;
      endedSincePoll = false;
      snapshot = await watcher.poll();
      if (snapshot.state.terminal) stop.abort();
    }
    await runner;
  } finally {
    if (runner) process.removeListener("SIGINT", interrupt);
  }
  if (!options.quiet && tty) process.stderr.write("\n");
  const { state, manifest } = snapshot;
  return { status: state.terminal ? state.status : "RUNNING", ...(state.reason ? { reason: state.reason } : {}), ...(manifest ? { manifest } : {}) };
}

/** Prints what changed: new warnings and failed frames, and the progress line. Returns the line's key. */
function show(snapshot: WatchSnapshot, started: number, tty: boolean, lastLine: string, seenWarnings: Set<string>, seenFailures: Set<number>): string {
  const { progress } = snapshot;
  for (const warning of progress.warnings) if (!seenWarnings.has(warning)) {
    seenWarnings.add(warning);
    process.stderr.write(`${tty ? "\r\x1b[K" : ""}warning: ${warning}\n`);
  }
  for (const [frame, reason] of progress.failedFrames) if (!seenFailures.has(frame)) {
    seenFailures.add(frame);
    process.stderr.write(`${tty ? "\r\x1b[K" : ""}frame ${frame} failed: ${reason}\n`);
  }
  const line = formatProgressLine(progress, snapshot.jobs, (performance.now() - started) / 1000);
  // Off a terminal, print only when the frame count or stage changes, not every tick.
  const key = tty ? line : line.replace(/ · \d+(m\d+s|s|h\d+m)$/, "").replace(/ · ETA [^·]+/, "").replace(/ \d+\/\d+ samples/, "");
  if (key !== lastLine) process.stderr.write(tty ? `\r\x1b[K${line}` : `${line}\n`);
  return key;
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
  outcome: RenderOutcome,
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
    ...costView(payload.estimate, manifest),
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
      ...(summary.cost && costLine(summary.cost) ? [`  cost: ${costLine(summary.cost)}`] : []),
    ];
    process.stdout.write(`${lines.join("\n")}\n`);
  }
  return outcome.status === "SUCCEEDED" ? 0 : 1;
}

/** Watches a render to its end and prints the summary; the exit code is the summary's. */
export async function watchAndSummarize(
  backend: RenderBackend,
  renderId: string,
  options: {
    json: boolean; started: number; runJobs: boolean; upload?: ProjectUploadSummary; warnings?: readonly string[];
    blender?: { readonly path: string; readonly version: string };
  },
): Promise<number> {
  const outcome = await watchRender(backend, renderId, { quiet: options.json, started: options.started, runJobs: options.runJobs });
  traceMark("watch_ended");
  const { objects } = await backend.outputStore(renderId);
  return printOutcome(objects, await backend.payload(renderId), outcome, (performance.now() - options.started) / 1000, options.json, options.upload, options.warnings, options.blender);
}
