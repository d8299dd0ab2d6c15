import { once } from "node:events";
import { copyFile, mkdir, mkdtemp, readFile, rename, rm, stat, symlink } from "node:fs/promises";
import { availableParallelism, tmpdir } from "node:os";
import path from "node:path";
import { JobFailedError, UserInputError } from "../errors.ts";
import { probeVideoStream, runFfmpeg, startFfmpeg } from "./ffmpeg.ts";
import { decodeToDisplayPng, ffmpegImageExtension, planFrameDecoding, type FrameDecoding } from "./decode.ts";

/** Blender's FFmpeg output quality presets. */
export type VideoQuality = "LOWEST" | "VERYLOW" | "LOW" | "MEDIUM" | "HIGH" | "PERC_LOSSLESS" | "LOSSLESS";
/** Blender's FFmpeg encoding speed presets. */
export type EncodingSpeed = "REALTIME" | "GOOD" | "BEST";
/** Blender's FFmpeg containers that hold H.264. */
export type VideoContainer = "MPEG4" | "QUICKTIME" | "MKV" | "AVI";

export interface PreviewVideoOptions {
  /** Frames per second of the video; one rendered frame is one video frame. */
  fps: number;
  /** Default MEDIUM. */
  quality?: VideoQuality;
  /** Default GOOD. */
  encodingSpeed?: EncodingSpeed;
  /** Default MPEG4. */
  container?: VideoContainer;
  /** Wider frames are scaled down to this width, keeping their aspect. Default 1280. */
  maxWidth?: number;
}

export interface PreviewVideo {
  /** The video written: the requested path with the container's extension. */
  file: string;
  frames: number;
  width: number;
  height: number;
}

const DEFAULT_MAX_WIDTH = 1280;

/** x264 constant rate factor per quality: lower is better and bigger. */
const CRF: Record<VideoQuality, number> = {
  LOWEST: 35,
  VERYLOW: 30,
  LOW: 26,
  MEDIUM: 23,
  HIGH: 18,
  PERC_LOSSLESS: 10,
  LOSSLESS: 0,
};

const X264_PRESET: Record<EncodingSpeed, string> = {
  REALTIME: "ultrafast",
  GOOD: "medium",
  BEST: "slow",
};

const CONTAINERS: Record<VideoContainer, { extension: string; muxer: string; faststart: boolean }> = {
  MPEG4: { extension: ".mp4", muxer: "mp4", faststart: true },
  QUICKTIME: { extension: ".mov", muxer: "mov", faststart: true },
  MKV: { extension: ".mkv", muxer: "matroska", faststart: false },
  AVI: { extension: ".avi", muxer: "avi", faststart: false },
};

/** Transparent areas of frames show this neutral dark grey (the video has no alpha), as thumbnails do. */
const BACKGROUND = "0x404040";

/** The file extension (with its dot) of a container, e.g. ".mp4" for MPEG4. */
export function videoExtension(container: VideoContainer): string {
  return containerSettings(container).extension;
}

function containerSettings(container: VideoContainer): { extension: string; muxer: string; faststart: boolean } {
  const settings = (CONTAINERS as Partial<Record<string, (typeof CONTAINERS)[VideoContainer]>>)[container];
  if (settings === undefined) {
    throw new UserInputError(`video container "${container}" is not supported; use one of ${Object.keys(CONTAINERS).join(", ")}`);
  }
  return settings;
}

/** `output` with its extension (if any) replaced by the container's. */
export function previewVideoPath(output: string, container: VideoContainer): string {
  const parsed = path.parse(output);
  return path.join(parsed.dir, parsed.name + videoExtension(container));
}

/** The libx264 rate-control and preset arguments for a quality and speed. */
export function x264Arguments(quality: VideoQuality, encodingSpeed: EncodingSpeed): string[] {
  const crf = (CRF as Partial<Record<string, number>>)[quality];
  if (crf === undefined) throw new UserInputError(`video quality "${quality}" is not supported; use one of ${Object.keys(CRF).join(", ")}`);
  const preset = (X264_PRESET as Partial<Record<string, string>>)[encodingSpeed];
  if (preset === undefined) {
    throw new UserInputError(`encoding speed "${encodingSpeed}" is not supported; use one of ${Object.keys(X264_PRESET).join(", ")}`);
  }
  // -qp 0 is x264's true lossless mode; -crf 0 is only lossless in 8-bit builds.
  const rate = crf === 0 ? ["-qp", "0"] : ["-crf", String(crf)];
  return ["-c:v", "libx264", "-preset", preset, ...rate];
}

/**
 * The frame rate as ffmpeg's exact rational: NTSC-style rates (Blender's
 * fps / fps_base with base 1.001, e.g. 29.97) become n*1000/1001.
 */
export function frameRateArgument(fps: number): string {
  if (!Number.isFinite(fps) || fps <= 0) throw new UserInputError(`frame rate "${fps}" is not a positive number; use e.g. 24`);
  if (Number.isInteger(fps)) return `${fps}/1`;
  const ntsc = fps * 1.001;
  if (Math.abs(ntsc - Math.round(ntsc)) < 1e-3) return `${Math.round(ntsc) * 1000}/1001`;
  return `${Math.round(fps * 1000)}/1000`;
}

/**
 * The filter graph: scale down to at most `maxWidth` (even width and height,
 * as yuv420p needs; never up), flatten transparency onto grey, convert to yuv420p.
 */
export function previewFilterGraph(maxWidth: number): string {
  const widthLimit = Math.max(2, maxWidth - (maxWidth % 2));
  const scale = `scale=w=max(2\\,min(trunc(iw/2)*2\\,${widthLimit})):h=-2:flags=lanczos`;
  return (
    `[0:v]${scale},setsar=1,format=rgba,split[fg][canvas];` +
    `[canvas]drawbox=c=${BACKGROUND}@1:t=fill,format=rgb24[bg];` +
    `[bg][fg]overlay=format=auto,format=yuv420p[out]`
  );
}

/**
 * Encodes rendered frames, in the given order and one video frame each (gaps in
 * their numbering do not matter), into an H.264 yuv420p preview video. The
 * output path's extension is replaced by the container's; the path written is
 * returned in `file`.
 */
export async function makePreviewVideo(
  frames: readonly string[],
  output: string,
  options: PreviewVideoOptions,
): Promise<PreviewVideo> {
  if (frames.length === 0) throw new UserInputError("no frames to make a preview video from; render at least one frame first");
  const encoding = encodingFor(output, options);
  await mkdir(path.dirname(path.resolve(encoding.file)), { recursive: true });
  const partial = `${encoding.file}.partial`;
  const tempDir = await mkdtemp(path.join(tmpdir(), "brender-preview-"));
  try {
    const input = await stageFrames(frames, tempDir);
    await runFfmpeg([
      "-xerror", // a damaged frame fails the video instead of silently dropping out of it
      ...input.decoderArgs,
      "-f", "image2",
      "-framerate", encoding.rate,
      "-start_number", "0",
      "-i", input.pattern,
      ...encoding.outputArgs,
      partial,
    ]);
    return await finishVideo(partial, encoding.file, frames.length);
  } finally {
    await rm(partial, { force: true });
    await rm(tempDir, { recursive: true, force: true });
  }
}

/**
 * What a streamed video's finish reports. No size: probing it would start
 * ffprobe after the last frame, on the render's critical path, only to read
 * back the size the frames already had; ffmpeg's exit status (with -xerror)
 * and a non-empty file are the check.
 */
export type StreamedPreviewVideo = Pick<PreviewVideo, "file">;

/** A preview video encoded while its PNG frames are still being rendered (see startPreviewVideo). */
export type PreviewVideoStream = {
  /** Sends the next frame (a PNG file) to the encoder, in video order. */
  addFrame(file: string): Promise<void>;
  /** Ends the input and waits for the finished video. */
  finish(): Promise<StreamedPreviewVideo>;
  /** Stops the encoder and removes what it wrote. */
  abort(): Promise<void>;
};

/**
 * makePreviewVideo for frames that arrive one by one: ffmpeg reads PNGs
 * through a pipe as each is added, so when the last frame is rendered only
 * its encoding and the container's finishing are left. PNG frames only
 * (other formats need the staging makePreviewVideo does).
 */
export function startPreviewVideo(output: string, options: PreviewVideoOptions): PreviewVideoStream {
  const encoding = encodingFor(output, options);
  const partial = `${encoding.file}.partial`;
  const started = mkdir(path.dirname(path.resolve(encoding.file)), { recursive: true }).then(() =>
    startFfmpeg(["-xerror", "-f", "image2pipe", "-framerate", encoding.rate, "-c:v", "png", "-i", "-", ...encoding.outputArgs, partial]));
  return {
    async addFrame(file) {
      const ffmpeg = await started;
      const bytes = await readFile(file);
      if (!ffmpeg.input.write(bytes)) await once(ffmpeg.input, "drain");
    },
    async finish() {
      const ffmpeg = await started;
      try {
        ffmpeg.input.end();
        await ffmpeg.done;
        if ((await stat(partial)).size === 0) throw new JobFailedError(`ffmpeg wrote an empty preview video ("${partial}")`);
        await rename(partial, encoding.file);
        return { file: encoding.file };
      } finally {
        await rm(partial, { force: true });
      }
    },
    async abort() {
      const ffmpeg = await started.catch(() => undefined);
      ffmpeg?.kill();
      await ffmpeg?.done.catch(() => undefined);
      await rm(partial, { force: true });
    },
  };
}

/** The checked options: the file to write, ffmpeg's frame rate, and every argument after the input. */
function encodingFor(output: string, options: PreviewVideoOptions): { file: string; rate: string; outputArgs: string[] } {
  const container = options.container ?? "MPEG4";
  const settings = containerSettings(container);
  const encoder = x264Arguments(options.quality ?? "MEDIUM", options.encodingSpeed ?? "GOOD");
  const rate = frameRateArgument(options.fps);
  const maxWidth = options.maxWidth ?? DEFAULT_MAX_WIDTH;
  if (!Number.isInteger(maxWidth) || maxWidth < 2) {
    throw new UserInputError(`preview width "${maxWidth}" is not a whole number of pixels of at least 2; use e.g. 1280`);
  }
  const outputArgs = [
    "-filter_complex", previewFilterGraph(maxWidth),
    "-map", "[out]",
    "-an",
    ...encoder,
    "-pix_fmt", "yuv420p",
    ...(settings.faststart ? ["-movflags", "+faststart"] : []),
    "-f", settings.muxer,
  ];
  return { file: previewVideoPath(output, container), rate, outputArgs };
}

async function finishVideo(partial: string, file: string, frames: number): Promise<PreviewVideo> {
  const stream = await probeVideoStream(partial);
  await rename(partial, file);
  return { file, frames, width: stream.width, height: stream.height };
}

/**
 * Makes the frames a numbered sequence (000000.ext, 000001.ext, …) in
 * `tempDir` for ffmpeg's image2 input, whatever their names and gaps. Frames
 * ffmpeg reads as they are get symlinks; others (HDR, Cineon, log DPX, or a
 * mix of formats) are converted to display PNGs.
 */
async function stageFrames(frames: readonly string[], tempDir: string): Promise<{ pattern: string; decoderArgs: readonly string[] }> {
  const plans: FrameDecoding[] = new Array<FrameDecoding>(frames.length);
  await forEachLimited(frames, async (frame, i) => {
    plans[i] = await planFrameDecoding(frame);
  });
  const first = plans[0];
  if (first === undefined) throw new Error("unreachable: frames is not empty");
  const firstArgs = decoderArgs(first);
  const readDirectly =
    first.reader !== "decoded" &&
    plans.every((plan) => plan.format === first.format && plan.reader !== "decoded" && sameArgs(decoderArgs(plan), firstArgs));
  const extension = readDirectly ? ffmpegImageExtension(first.format, frames[0] ?? "") : "png";
  const numbered = (i: number): string => path.join(tempDir, `${String(i).padStart(6, "0")}.${extension}`);

  await forEachLimited(frames, async (frame, i) => {
    const plan = plans[i];
    if (plan === undefined) throw new Error("unreachable: every frame has a plan");
    if (readDirectly) await linkOrCopy(path.resolve(frame), numbered(i));
    else await decodeToDisplayPng(frame, numbered(i), plan);
  });
  return { pattern: path.join(tempDir, `%06d.${extension}`), decoderArgs: readDirectly ? firstArgs : [] };
}

function decoderArgs(plan: FrameDecoding): readonly string[] {
  return plan.reader === "ffmpeg" ? plan.inputArgs : [];
}

function sameArgs(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((value, i) => value === b[i]);
}

async function linkOrCopy(target: string, linkPath: string): Promise<void> {
  try {
    await symlink(target, linkPath);
  } catch {
    // Filesystems or platforms without symlinks (e.g. Windows without the privilege): copy instead.
    await copyFile(target, linkPath);
  }
}

/** Runs `work` over `items` with bounded concurrency, so thousands of frames do not open thousands of files at once. */
async function forEachLimited<T>(items: readonly T[], work: (item: T, index: number) => Promise<void>): Promise<void> {
  const limit = Math.max(2, Math.min(8, availableParallelism()));
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const index = next++;
      await work(items[index] as T, index);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}
