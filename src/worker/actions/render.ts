import { readdir, writeFile, mkdir } from "node:fs/promises";
import { availableParallelism } from "node:os";
import { join } from "node:path";
import { runBlender, BPY_SCRIPTS, describeExit, PYTHON_ERROR_EXIT_CODE } from "../../blender/runner.ts";
import { claimWarmBlender, discardWarmBlender } from "../../blender/warm-blender.ts";
import { parseBlenderLine } from "../../blender/output-parser.ts";
import {
  arraySizeFor, compressFrames, expandFrames, formatFrameSet, framesForChild, parseFrameSet,
} from "../../domain/frames.ts";
import { newerFileWarning } from "../../domain/blender-release.ts";
import { chooseRenderProcesses, dealFrames } from "../../domain/render-processes.ts";
import { eventFileName, frameFileStem, frameOfFileName, outputLayout, outputPrefix } from "../../domain/layout.ts";
import { progressEventSchema, type ProgressEventBody } from "../../domain/progress-events.ts";
import type { RenderJobPayload } from "../../domain/render-payload.ts";
import { JobFailedError, UserInputError } from "../../errors.ts";
import { eventSink, type EmitEvent } from "../events.ts";
import { hostInfo } from "../host-info.ts";
import { withPublishedEvents } from "../publish-events.ts";
import { framePublisher } from "../frame-publisher.ts";
import { clearPrework, previewPrework, type PreviewPrework } from "../preview-prework.ts";
import { arrayIndex, renderFolders, requirePayload, type ActionContext } from "../context.ts";
import { assertBlendFileReadable } from "./files.ts";
import { dependencyMapOf } from "./dependency-map.ts";
import type { CostCapGuard } from "../cost-cap-guard.ts";
import { COST_CAP_VARIABLE } from "../../domain/cost/running-cap.ts";

/** What render_frames.py reads (written next to the events, one file per child). */
type BpyRenderJob = {
  scene?: string;
  viewLayer?: string;
  camera?: string;
  gpu: boolean;
  /** Fail rather than fall back to the CPU when no GPU is usable. */
  requireGpu: boolean;
  overrides: RenderJobPayload["render"] | null;
  compositorFolder: string;
  /** The packing map uploaded with the project, when there is one (see dependency-map.ts). */
  dependencyMap?: { file: string; projectRoot: string };
  frames: { frame: number; partialBase: string; finalFolder: string }[];
};

/** Exit codes of render_frames.py (see its docstring): a settings error is its Python error. */
const SETTINGS_FAILED = PYTHON_ERROR_EXIT_CODE;

/**
 * The `render` action: renders this array child's share of the selected
 * frames with real Blender. Frames already present (from an earlier attempt)
 * are kept, not rendered again. Fails when Blender fails or any frame of the
 * share is missing afterwards.
 */
export async function render(context: ActionContext): Promise<void> {
  const payload = await requirePayload(context.env, "render");
  const index = arrayIndex(context.env);
  const { layout } = renderFolders(context, payload);
  await withPublishedEvents(context, publishTarget(layout.events, payload, index), () => renderChild(context, payload, index));
}

/** Where a child's events file is and whose render it belongs to (for withPublishedEvents). */
export function publishTarget(eventsFolder: string, payload: RenderJobPayload, child: number) {
  return { eventsFolder, projectName: payload.project.name, renderId: payload.renderId, child };
}

async function renderChild(context: ActionContext, payload: RenderJobPayload, index: number): Promise<void> {
  const share = childShare(payload, index, context.env.AWS_BATCH_JOB_ARRAY_SIZE);
  const { layout, blendFile, output } = renderFolders(context, payload);
  const folders = outputLayout(output);
  const emit = eventSink(join(layout.events, eventFileName(index)), context.stdout);
  const started = performance.now();
  const seconds = () => Math.round((performance.now() - started) / 10) / 100;

  const host = await hostInfo(context.processEnv);
  emit({
    type: "child_started", child: index, frames: share.length ? formatFrameSet(compressFrames(share)) : "", frameCount: share.length,
    ...attemptOf(context.processEnv.AWS_BATCH_JOB_ATTEMPT), ...(Object.keys(host).length > 0 ? { host } : {}),
  });
  const header = await assertBlendFileReadable(blendFile);
  await mkdir(folders.frames, { recursive: true });

  const prework = await startPrework(context, payload, share, join(layout.root, "prework"));
  const done = await renderedFrames(folders.frames);
  for (const frame of share) {
    const file = done.get(frame);
    if (file) {
      emit({ type: "frame_finished", frame, file: join(folders.frames, file), reused: true });
      prework?.frameReady(frame, join(folders.frames, file));
    }
  }
  const todo = share.filter((frame) => !done.has(frame));
  if (todo.length === 0) {
    emit({ type: "child_finished", child: index, status: "succeeded", framesDone: share.length, seconds: seconds() });
    return;
  }
  const guard = await loadCostCapGuard(context);
  const capStop = new AbortController();
  const stopPeriodic = guard?.every(guard.periodicMs);
  try {
    // Past the cap already (other children spent it): no Blender start at all.
    const passedAtStart = await guard?.check(true);
    if (passedAtStart) capFailure(passedAtStart, share.length - todo.length);

    await mkdir(join(layout.root, "jobs"), { recursive: true });
    const job: Omit<BpyRenderJob, "frames"> = {
      scene: payload.scene,
      viewLayer: payload.viewLayer,
      camera: payload.camera,
      gpu: payload.gpu,
      requireGpu: payload.gpu && context.env.BRENDER_REQUIRE_GPU,
      overrides: payload.render ?? null,
      compositorFolder: folders.compositor,
      ...(await dependencyMapOf(layout.project)),
    };
    const split = chooseRenderProcesses({
      cores: availableParallelism(), frames: todo.length, gpu: payload.gpu, processes: context.env.BRENDER_RENDER_PROCESSES,
    });
    if (split.processes > 1) {
      context.log.info(split, `rendering with ${split.processes} Blenders of ${split.threads} threads each`);
      // Each Blender gets its share of the threads at its start (-t): one started ahead has them all, and would only hold memory.
      discardWarmBlender();
    }
    let blenderReported = false;
    const onBlender = (blender: string) => {
      if (blenderReported) return;
      blenderReported = true;
      const warning = newerFileWarning(header.version, blender);
      if (warning) emit({ type: "warning", message: warning });
    };
    const publisher = framePublisher({
      store: context.store, outputFolder: output, prefix: outputPrefix(payload.project.name, payload.renderId),
      emit, warn: (message) => context.log.warn(message), signal: context.signal,
    });
    const runs = await Promise.all(dealFrames(todo, split.processes).map(async (frames, slot) => {
      // One Blender keeps the names it always had; several get a suffix each.
      const name = split.processes > 1 ? `render-${index}.${slot}` : `render-${index}`;
      const jobFile = join(layout.root, "jobs", `${name}.json`);
      const bpyJob: BpyRenderJob = {
        ...job,
        frames: frames.map((frame) => ({ frame, partialBase: join(folders.partial, frameFileStem(frame)), finalFolder: folders.frames })),
      };
      await writeFile(jobFile, JSON.stringify(bpyJob));
      let startedAhead = false;
      const tracker = blenderOutputTracker((event) => {
        if (event.type === "frame_finished") {
          publisher.publish(event.file);
          prework?.frameReady(event.frame, event.file);
        }
        if (event.type === "render_settings") {
          if (slot > 0) return; // every Blender reports the same settings; the first speaks for all
          prework?.start(event.fps, event.format);
          const device = event.device === "GPU" ? `GPU (${event.gpuBackend ?? "unknown backend"})` : "CPU";
          context.log.info({ device, engine: event.engine, ...(startedAhead ? { blenderStartedAhead: true } : {}) }, `rendering on the ${device}`);
        }
        emit(event);
        // After each frame: the spend so far against the cap; past it, every Blender is stopped and the render terminated.
        if (guard && event.type === "frame_finished") {
          void guard.check().then((reason) => reason && capStop.abort());
        }
      }, onBlender);
      const script = join(BPY_SCRIPTS, "render_frames.py");
      const options = {
        executable: context.env.BLENDER_EXECUTABLE,
        env: context.processEnv,
        logFile: join(layout.logs, `${name}.log`),
        signal: AbortSignal.any([context.signal, capStop.signal]),
        onLine: tracker.onLine,
      };
      // A Blender started ahead by the spare worker (warm-blender.ts) when one runs all the frames, else a new one.
      const warmBlender = split.processes === 1 ? await claimWarmBlender(options) : undefined;
      startedAhead = warmBlender !== undefined;
      const exit = await (warmBlender?.run({ blendFile, script, args: [jobFile] })
        ?? runBlender(
          ["-b", blendFile, "--factory-startup", "-noaudio", ...(split.threads ? ["-t", String(split.threads)] : []),
            "--python-exit-code", String(SETTINGS_FAILED), "--python", script, "--", jobFile],
          options,
        ));
      return { exit, tracker };
    }));

    await Promise.all([publisher.finish(), prework?.finish()]);
    const rendered = await renderedFrames(folders.frames);
    const missing = share.filter((frame) => !rendered.has(frame));
    // A check still under way decides whether the missing frames were stopped by the cap.
    const stoppedAtCap = guard ? await guard.check() : undefined;
    // Blender's CPU time: each Blender reports its own; the child's is their sum.
    const cpu = cpuOfRuns(runs.map((run) => run.tracker.cpu));
    if (stoppedAtCap && missing.length > 0) capFailure(stoppedAtCap, share.length - missing.length, cpu);
    if (runs.every((run) => run.exit.exitCode === 0) && missing.length === 0) {
      emit({ type: "child_finished", child: index, status: "succeeded", framesDone: share.length, seconds: seconds(), ...cpu });
      return;
    }
    // The Blender that failed explains the failure; when none did, the first one says what is missing.
    const failed = runs.find((run) => run.exit.exitCode !== 0) ?? runs[0]!;
    const reason = failureReason(failed.exit, failed.tracker, missing);
    emit({ type: "child_finished", child: index, status: "failed", framesDone: share.length - missing.length, seconds: seconds(), reason, ...cpu });
    throw new JobFailedError(reason);
  } finally {
    stopPeriodic?.();
    guard?.close();
  }

  /** Fails the child with the cap's reason (and Blender's CPU time when it ran); the frames so far stay for the publisher. */
  function capFailure(reason: string, framesDone: number, cpu: { cpuSeconds?: number } = {}): never {
    emit({ type: "child_finished", child: index, status: "failed", framesDone, seconds: seconds(), reason, ...cpu });
    throw new JobFailedError(reason);
  }
}

/** The try number AWS Batch (and the local farm) gives the container, when it is one. */
function attemptOf(variable: string | undefined): { attempt?: number } {
  const attempt = Number(variable);
  return Number.isInteger(attempt) && attempt >= 1 ? { attempt } : {};
}

/** The CPU seconds of several Blenders together; empty when none reported any. */
function cpuOfRuns(reports: readonly { cpuSeconds?: number }[]): { cpuSeconds?: number } {
  const reported = reports.flatMap((report) => (report.cpuSeconds !== undefined ? [report.cpuSeconds] : []));
  return reported.length > 0 ? { cpuSeconds: Math.round(reported.reduce((sum, seconds) => sum + seconds, 0) * 1000) / 1000 } : {};
}

/**
 * The cost cap's guard when the job has a cap (AWS only), else undefined. Loaded on demand: its AWS Batch
 * client would add a third of a second to every render child's start.
 */
async function loadCostCapGuard(context: ActionContext): Promise<(CostCapGuard & { periodicMs: number }) | undefined> {
  if (!context.processEnv[COST_CAP_VARIABLE]?.trim()) return undefined;
  const { costCapGuard, PERIODIC_CHECK_MS } = await import("../cost-cap-guard.ts");
  const guard = costCapGuard(context.processEnv, { log: context.log });
  return guard && Object.assign(guard, { periodicMs: PERIODIC_CHECK_MS });
}

/** The preview video made while rendering, when this child renders every frame of an animation (see preview-prework.ts). */
async function startPrework(context: ActionContext, payload: RenderJobPayload, share: readonly number[], folder: string): Promise<PreviewPrework | undefined> {
  const all = expandFrames(parseFrameSet(payload.frames));
  if (payload.type !== "animation" || !payload.video.enabled || share.length < 2 || share.length !== all.length) return undefined;
  await clearPrework(folder);
  return previewPrework({
    folder, frames: [...share].sort((a, b) => a - b), video: payload.video, fps: payload.render?.fps, warn: (message) => context.log.warn(message),
  });
}

/** This child's frames; checks the array size AWS Batch reports against the payload's split. */
export function childShare(payload: RenderJobPayload, index: number, reportedArraySize: number | undefined): number[] {
  const frames = expandFrames(parseFrameSet(payload.frames));
  const expectedSize = arraySizeFor(frames.length, payload.split);
  if (reportedArraySize !== undefined && reportedArraySize !== expectedSize && !(expectedSize === 1 && reportedArraySize <= 1)) {
    throw new UserInputError(
      `AWS_BATCH_JOB_ARRAY_SIZE=${reportedArraySize} does not match the payload, which splits ${frames.length} frames into ${expectedSize} children; submit the job with array size ${expectedSize}.`,
    );
  }
  if (index >= expectedSize) {
    throw new UserInputError(`AWS_BATCH_JOB_ARRAY_INDEX=${index} is out of range: this render has ${expectedSize} children (0 to ${expectedSize - 1}).`);
  }
  return framesForChild(frames, payload.split, index);
}

/** Frames already complete in the frames folder, frame number to file name. */
export async function renderedFrames(framesFolder: string): Promise<Map<number, string>> {
  const files = await readdir(framesFolder).catch(() => [] as string[]);
  const frames = new Map<number, string>();
  for (const name of files) {
    const frame = frameOfFileName(name);
    if (frame !== undefined) frames.set(frame, name);
  }
  return frames;
}

type OutputTracker = {
  onLine: (line: string) => void;
  readonly currentFrame: number | undefined;
  readonly settingsError: string | undefined;
  readonly frameError: string | undefined;
  readonly errorLines: readonly string[];
  /** Blender's CPU seconds as it last reported them (with each finished frame); empty before the first. */
  readonly cpu: { cpuSeconds?: number };
};

/** Turns Blender's output into progress events and remembers what went wrong; `onBlender` hears which Blender renders. */
function blenderOutputTracker(emit: EmitEvent, onBlender: (version: string) => void): OutputTracker {
  let currentFrame: number | undefined;
  let lastSample = -1;
  let settingsError: string | undefined;
  let frameError: string | undefined;
  const errorLines: string[] = [];
  const cpu: { cpuSeconds?: number } = {};
  return {
    get currentFrame() { return currentFrame; },
    get settingsError() { return settingsError; },
    get frameError() { return frameError; },
    errorLines,
    cpu,
    onLine(line: string) {
      const parsed = parseBlenderLine(line);
      if (parsed.kind === "samples") {
        if (currentFrame !== undefined && parsed.sample !== lastSample) {
          lastSample = parsed.sample;
          emit({ type: "frame_progress", frame: currentFrame, sample: parsed.sample, samples: parsed.samples });
        }
      } else if (parsed.kind === "error") {
        errorLines.push(parsed.message);
        if (errorLines.length > 5) errorLines.shift();
      } else if (parsed.kind === "marker") {
        const marker = parsed.payload as { type?: unknown; message?: unknown };
        if (marker.type === "settings_error") {
          settingsError = String(marker.message);
          return;
        }
        // The script speaks the progress-event schema (without timestamps); anything else is a bug there.
        const event = progressEventSchema.safeParse({ ...marker, at: new Date().toISOString() });
        if (!event.success) {
          errorLines.push(`unreadable event from render_frames.py: ${line}`);
          return;
        }
        const { at: _at, ...body } = event.data;
        if (body.type === "frame_progress") {
          if (body.sample === lastSample) return; // Blender repeats a status line for other changes than the sample
          lastSample = body.sample;
        } else if (body.type === "frame_started") {
          currentFrame = body.frame;
          lastSample = -1;
        } else if (body.type === "frame_finished") {
          currentFrame = undefined;
          if (body.cpuSeconds !== undefined) cpu.cpuSeconds = Math.max(cpu.cpuSeconds ?? 0, body.cpuSeconds);
        } else if (body.type === "frame_failed") {
          frameError = body.reason;
        }
        emit(body as ProgressEventBody);
        if (body.type === "render_settings" && body.blender) onBlender(body.blender);
      }
    },
  };
}

function failureReason(exit: Awaited<ReturnType<typeof runBlender>>, tracker: OutputTracker, missing: readonly number[]): string {
  if (tracker.settingsError) return `The render settings could not be applied: ${tracker.settingsError}`;
  const missingText = missing.length ? `; frames not rendered: ${formatFrameSet(compressFrames(missing))}` : "";
  if (tracker.frameError) return `Frame ${tracker.currentFrame ?? missing[0]} failed: ${tracker.frameError}${missingText}`;
  if (exit.exitCode === 0 || exit.exitCode === null && exit.signal === null) {
    return `Blender finished but frames are missing${missingText}`;
  }
  const during = tracker.currentFrame !== undefined ? ` while rendering frame ${tracker.currentFrame}` : "";
  const errors = tracker.errorLines.length ? ` (${tracker.errorLines.join(" | ")})` : "";
  return `${describeExit(exit)}${during}${errors}${missingText}`;
}
