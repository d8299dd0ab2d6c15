import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import sharp from "sharp";
import { outputLayout, workLayout } from "../../src/domain/layout.ts";
import type { RenderJobPayloadInput } from "../../src/domain/render-payload.ts";
import { FsObjectStore } from "../../src/storage/fs-store.ts";
import { brender, tempDir, type CliResult } from "../helpers/blender.ts";

/** A private BRENDER_HOME with its object store, and a way to run worker jobs in it. */
export async function workerHarness(t: { after: (fn: () => Promise<void>) => void }) {
  const home = await tempDir(t);
  const store = new FsObjectStore(join(home, "bucket"));
  await mkdir(join(home, "work"), { recursive: true });
  const baseEnv = { BRENDER_HOME: home, BRENDER_LOG_LEVEL: "error" };

  /** Runs `bin/brender worker` for one job (or one array child). */
  function runJob(action: string, payload: RenderJobPayloadInput | undefined, env: Record<string, string> = {}): Promise<CliResult> {
    return brender(["worker"], {
      ...baseEnv,
      JOB_ACTION_TYPE: action,
      ...(payload ? { BRENDER_JOB_PAYLOAD: JSON.stringify(payload) } : {}),
      ...env,
    });
  }

  return { home, store, work: join(home, "work"), outbox: join(home, "outbox"), runJob };
}

export function payloadFor(renderId: string, overrides: Partial<RenderJobPayloadInput> = {}): RenderJobPayloadInput {
  return {
    schemaVersion: 1,
    renderId,
    project: { name: "proj", blendFile: "scene.blend" },
    type: "animation",
    frames: "1-6",
    ...overrides,
  };
}

/** Frames `frames` of `renderId` in the work folder `work`, as the render job leaves them (small PNGs). */
export async function writeRenderedFrames(work: string, renderId: string, frames: readonly number[]): Promise<void> {
  const folder = outputLayout(workLayout(work, renderId).output).frames;
  await mkdir(folder, { recursive: true });
  for (const frame of frames) {
    await sharp({ create: { width: 16, height: 9, channels: 3, background: { r: 200, g: 40 * frame, b: 10 } } })
      .png()
      .toFile(join(folder, `frame_${String(frame).padStart(4, "0")}.png`));
  }
}
