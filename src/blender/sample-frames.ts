/**
 * Renders a few frames of a render at its settings, in one Blender start,
 * to measure how long a frame takes on this machine (for `brender estimate`).
 * Uses the render action's own script (render_frames.py), so the sample
 * renders exactly as the real render would: same overrides, same device,
 * same file output.
 */
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { availableParallelism } from "node:os";
import { frameFileStem } from "../domain/layout.ts";
import type { RenderJobPayload } from "../domain/render-payload.ts";
import type { FrameSample } from "../domain/cost/render-time.ts";
import { JobFailedError } from "../errors.ts";
import { BPY_SCRIPTS, describeExit, runBlender } from "./runner.ts";
import { parseBlenderLine } from "./output-parser.ts";

/** Frames sampled: enough to see a range's light and heavy parts, few enough to answer in a few frames' time. */
export const SAMPLE_FRAMES = 3;

/** Up to `count` frames spread evenly over the list: its first, its last and evenly between. */
export function spreadFrames(frames: readonly number[], count = SAMPLE_FRAMES): number[] {
  if (frames.length <= count) return [...frames];
  if (count === 1) return [frames[Math.floor(frames.length / 2)]!];
  const picked = new Set<number>();
  for (let i = 0; i < count; i++) picked.add(frames[Math.round((i * (frames.length - 1)) / (count - 1))]!);
  return [...picked];
}

export type SampleResult = FrameSample & { readonly frames: readonly number[] };

/**
 * Renders `frames` of `blendPath` with the payload's settings into a
 * temporary folder (removed afterwards) and returns each frame's seconds and
 * Blender's start-up time (spawn to the first frame starting).
 */
export async function sampleFrames(
  blendPath: string,
  payload: RenderJobPayload,
  frames: readonly number[],
  options: { readonly signal?: AbortSignal; readonly env?: NodeJS.ProcessEnv } = {},
): Promise<SampleResult> {
  const folder = await mkdtemp(join(tmpdir(), "brender-estimate-"));
  try {
    const jobFile = join(folder, "job.json");
    await writeFile(
      jobFile,
      JSON.stringify({
        scene: payload.scene,
        viewLayer: payload.viewLayer,
        camera: payload.camera,
        gpu: payload.gpu,
        overrides: payload.render ?? null,
        compositorFolder: join(folder, "compositor"),
        frames: frames.map((frame) => ({ frame, partialBase: join(folder, "partial", frameFileStem(frame)), finalFolder: join(folder, "frames") })),
      }),
    );
    const started = performance.now();
    let firstFrameAt: number | undefined;
    const seconds: number[] = [];
    let frameError: string | undefined;
    const exit = await runBlender(
      ["-b", blendPath, "--factory-startup", "-noaudio", "--python-exit-code", "3", "--python", join(BPY_SCRIPTS, "render_frames.py"), "--", jobFile],
      {
        executable: options.env?.BLENDER_EXECUTABLE,
        env: options.env,
        signal: options.signal,
        onLine: (line) => {
          const parsed = parseBlenderLine(line);
          if (parsed.kind !== "marker") return;
          const marker = parsed.payload as { type?: unknown; seconds?: unknown; reason?: unknown; message?: unknown };
          if (marker.type === "frame_started" && firstFrameAt === undefined) firstFrameAt = performance.now();
          if (marker.type === "frame_finished" && typeof marker.seconds === "number") seconds.push(marker.seconds);
          if (marker.type === "frame_failed" || marker.type === "settings_error") frameError = String(marker.reason ?? marker.message);
        },
      },
    );
    if (exit.exitCode !== 0 || seconds.length !== frames.length) {
      throw new JobFailedError(`The sample render failed: ${frameError ?? describeExit(exit)}`);
    }
    return {
      frames,
      secondsPerFrame: seconds,
      startupSeconds: ((firstFrameAt ?? started) - started) / 1000,
      cores: availableParallelism(),
    };
  } finally {
    await rm(folder, { recursive: true, force: true });
  }
}
