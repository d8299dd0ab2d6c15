import { readFile, rm, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { z } from "zod";
import type { RenderJobPayload } from "../domain/render-payload.ts";
import { startPreviewVideo, type PreviewVideoOptions, type PreviewVideoStream } from "../media/preview-video.ts";

/**
 * The preview video, encoded by the render child while it renders, so that
 * after the last frame the upload job only checks it and copies it. Only a
 * child that renders every frame of the render (one child, the usual case on
 * one machine) can, and only for PNG frames; otherwise, or when anything goes
 * wrong here, the upload job makes the video itself as before.
 */

const recordSchema = z.object({
  video: z.string(),
  options: z.object({ fps: z.number(), quality: z.string(), encodingSpeed: z.string(), container: z.string() }),
  /** Each frame in the video as it was when read: a frame rendered again since makes the video stale. */
  frames: z.array(z.object({ file: z.string(), size: z.number(), mtimeMs: z.number() })),
});

const RECORD = "preview.json";

export type PreviewPrework = {
  /** Called when the render's settings are known (its fps, the frames' format). */
  start(fps: number, format: string): void;
  /** A frame is finished (rendered now, or kept from an earlier attempt). */
  frameReady(frame: number, file: string): void;
  /** Finishes the video when it holds every frame, else drops it. Never rejects. */
  finish(): Promise<void>;
};

export function previewPrework(options: {
  /** Where the video and its record go (the render's work folder, which the upload job reads). */
  readonly folder: string;
  /** Every frame of the render, in video order. */
  readonly frames: readonly number[];
  readonly video: RenderJobPayload["video"];
  readonly fps?: number;
  readonly warn: (message: string) => void;
}): PreviewPrework {
  const ready = new Map<number, string>();
  const fed: { file: string; size: number; mtimeMs: number }[] = [];
  let stream: PreviewVideoStream | undefined;
  let videoOptions: Required<Omit<PreviewVideoOptions, "maxWidth">> | undefined;
  let feeding = Promise.resolve();
  let failed = false;
  let encoded: Promise<void> | undefined;
  const fallBack = (error: unknown) => options.warn(`The preview video could not be made while rendering (the upload job will): ${(error as Error).message}`);

  // Called once every frame is in: ffmpeg finishes while Blender quits and the last frame is published.
  const encode = async (video: PreviewVideoStream, encoding: NonNullable<typeof videoOptions>) => {
    try {
      const { file } = await video.finish();
      await writeFile(join(options.folder, RECORD), JSON.stringify({ video: file, options: encoding, frames: fed }));
    } catch (error) {
      fallBack(error);
    }
  };

  const feed = () => {
    feeding = feeding.then(async () => {
      while (stream && !failed && fed.length < options.frames.length) {
        const file = ready.get(options.frames[fed.length]!);
        if (file === undefined) return;
        try {
          const { size, mtimeMs } = await stat(file);
          await stream.addFrame(file);
          fed.push({ file, size, mtimeMs });
        } catch (error) {
          failed = true;
          fallBack(error);
        }
      }
      if (stream && videoOptions && !failed && fed.length === options.frames.length) encoded ??= encode(stream, videoOptions);
    });
  };

  return {
    start(fps, format) {
      if (stream || format !== "PNG") return;
      videoOptions = {
        fps: options.fps ?? fps, quality: options.video.quality, encodingSpeed: options.video.encodingSpeed, container: options.video.container,
      };
      stream = startPreviewVideo(join(options.folder, "preview"), videoOptions);
      feed();
    },
    frameReady(frame, file) {
      ready.set(frame, file);
      feed();
    },
    async finish() {
      await feeding;
      if (encoded) await encoded;
      else await stream?.abort();
    },
  };
}

/**
 * The video a render child made, when it holds exactly `frames` as they are
 * now and was made with `options`; undefined otherwise (the caller makes it).
 */
export async function preworkVideo(folder: string, frames: readonly string[], options: PreviewVideoOptions): Promise<string | undefined> {
  const text = await readFile(join(folder, RECORD), "utf8").catch(() => undefined);
  if (text === undefined) return undefined;
  let parsed;
  try {
    parsed = recordSchema.safeParse(JSON.parse(text));
  } catch {
    return undefined;
  }
  if (!parsed.success) return undefined;
  const record = parsed.data;
  const same = record.options.fps === options.fps && record.options.quality === (options.quality ?? "MEDIUM")
    && record.options.encodingSpeed === (options.encodingSpeed ?? "GOOD") && record.options.container === (options.container ?? "MPEG4")
    && record.frames.length === frames.length && record.frames.every((frame, index) => frame.file === frames[index]);
  if (!same) return undefined;
  for (const frame of record.frames) {
    const now = await stat(frame.file).catch(() => undefined);
    if (!now || now.size !== frame.size || now.mtimeMs !== frame.mtimeMs) return undefined;
  }
  return (await stat(record.video).catch(() => undefined))?.isFile() ? record.video : undefined;
}

/** Removes the record of a video an earlier attempt made, before a child starts a new one (the video is overwritten). */
export async function clearPrework(folder: string): Promise<void> {
  await rm(join(folder, RECORD), { force: true });
}
