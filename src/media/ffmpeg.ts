import { spawn } from "node:child_process";
import type { Writable } from "node:stream";
import { JobFailedError, UserInputError } from "../errors.ts";

/** The two programs of the FFmpeg suite that Brender drives. */
export type MediaTool = "ffmpeg" | "ffprobe";

/** Bytes of stderr kept while a process runs: enough for the last error lines, bounded for chatty runs. */
const STDERR_KEEP_CHARS = 16_000;
/** Lines of stderr quoted in the error message. */
const MESSAGE_TAIL_LINES = 6;

/** An ffmpeg/ffprobe run that failed; `stderrTail` holds the last lines it printed. */
export class FfmpegError extends JobFailedError {
  readonly tool: MediaTool;
  readonly stderrTail: string;
  /** The process's own exit code (null when killed by a signal); `exitCode` is Brender's CLI exit code. */
  readonly toolExitCode: number | null;
  constructor(tool: MediaTool, toolExitCode: number | null, signal: string | null, stderrTail: string) {
    const how = toolExitCode === null ? `was killed by ${signal ?? "a signal"}` : `failed with exit code ${toolExitCode}`;
    const quoted = oneLine(stderrTail);
    super(`${tool} ${how}: ${quoted === "" ? "(it printed nothing on stderr)" : quoted}`);
    this.tool = tool;
    this.toolExitCode = toolExitCode;
    this.stderrTail = stderrTail;
  }
}

/** The last few non-empty lines of a process's stderr, joined on one line for an error message. */
function oneLine(stderrTail: string): string {
  return stderrTail
    .split(/\r?\n|\r/)
    .map((line) => line.trim())
    .filter((line) => line !== "")
    .slice(-MESSAGE_TAIL_LINES)
    .join(" | ");
}

/** The last lines of `text`, at most `maxChars` characters, starting on a line boundary when possible. */
export function tailOf(text: string, maxChars: number): string {
  if (text.length <= maxChars) return text;
  const cut = text.slice(text.length - maxChars);
  const firstBreak = cut.indexOf("\n");
  return firstBreak >= 0 && firstBreak < cut.length - 1 ? cut.slice(firstBreak + 1) : cut;
}

/**
 * Runs ffmpeg or ffprobe (found on PATH) with an argument array (no shell) and
 * resolves with everything it wrote on stdout. A non-zero exit rejects with an
 * FfmpegError quoting the stderr tail; a missing program rejects with a
 * UserInputError saying how to install it.
 */
export function runMediaTool(tool: MediaTool, args: readonly string[]): Promise<{ stdout: Buffer; stderr: string }> {
  return spawnMediaTool(tool, args, "ignore").done;
}

function spawnMediaTool(tool: MediaTool, args: readonly string[], stdin: "ignore" | "pipe") {
  const child = spawn(tool, [...args], { stdio: [stdin, "pipe", "pipe"] });
  const done = new Promise<{ stdout: Buffer; stderr: string }>((resolve, reject) => {
    const stdoutChunks: Buffer[] = [];
    let stderr = "";
    child.stdout!.on("data", (chunk: Buffer) => stdoutChunks.push(chunk));
    child.stderr!.setEncoding("utf8");
    child.stderr!.on("data", (chunk: string) => {
      stderr = tailOf(stderr + chunk, STDERR_KEEP_CHARS);
    });
    child.on("error", (error: NodeJS.ErrnoException) => {
      if (error.code === "ENOENT") {
        reject(new UserInputError(`${tool} was not found on PATH; install it (Debian: apt-get install ffmpeg)`, { cause: error }));
      } else {
        reject(new JobFailedError(`could not start ${tool}: ${error.message}`, { cause: error }));
      }
    });
    child.on("close", (code, signal) => {
      if (code === 0) resolve({ stdout: Buffer.concat(stdoutChunks), stderr });
      else reject(new FfmpegError(tool, code, signal, stderr));
    });
  });
  return { child, done };
}

/** A running ffmpeg that reads its input from `input` (its stdin); `done` settles as runFfmpeg's promise does. */
export type RunningFfmpeg = { readonly input: Writable; readonly done: Promise<unknown>; kill(): void };

/** Starts ffmpeg quietly (errors only, overwriting outputs) with its stdin open for input ("-i -"). */
export function startFfmpeg(args: readonly string[]): RunningFfmpeg {
  const { child, done } = spawnMediaTool("ffmpeg", ["-hide_banner", "-loglevel", "error", "-y", ...args], "pipe");
  // A write after ffmpeg failed would throw EPIPE from the stream; `done` reports the failure instead.
  child.stdin!.on("error", () => {});
  done.catch(() => {});
  return { input: child.stdin!, done, kill: () => child.kill("SIGKILL") };
}

/**
 * Runs ffmpeg quietly (errors only, never reading stdin, overwriting outputs)
 * and resolves with its stdout, which is non-empty only when an output is "-".
 */
export async function runFfmpeg(args: readonly string[]): Promise<Buffer> {
  const { stdout } = await runMediaTool("ffmpeg", ["-hide_banner", "-nostdin", "-loglevel", "error", "-y", ...args]);
  return stdout;
}

/** Runs ffprobe quietly and resolves with its stdout as text. */
export async function runFfprobe(args: readonly string[]): Promise<string> {
  const { stdout } = await runMediaTool("ffprobe", ["-hide_banner", "-loglevel", "error", ...args]);
  return stdout.toString("utf8");
}

/** What ffprobe reports about the first video stream of a file. */
export interface VideoStreamInfo {
  codec: string;
  pixelFormat: string;
  width: number;
  height: number;
  /** As ffprobe gives it, e.g. "24/1" or "30000/1001". */
  frameRate: string;
  /** Only when asked for with `countFrames` (which decodes the whole stream). */
  frames?: number;
}

/** Probes the first video stream of `file` with ffprobe. */
export async function probeVideoStream(file: string, options: { countFrames?: boolean } = {}): Promise<VideoStreamInfo> {
  const args = ["-select_streams", "v:0", "-show_streams", "-of", "json"];
  if (options.countFrames === true) args.push("-count_frames");
  const text = await runFfprobe([...args, file]);
  return parseProbedVideoStream(text, file);
}

/** Picks the fields Brender uses out of `ffprobe -show_streams -of json` output. */
export function parseProbedVideoStream(json: string, file: string): VideoStreamInfo {
  const parsed: unknown = JSON.parse(json);
  const streams = (parsed as { streams?: unknown }).streams;
  const stream = Array.isArray(streams) ? (streams[0] as Record<string, unknown> | undefined) : undefined;
  if (stream === undefined) throw new JobFailedError(`ffprobe found no video stream in "${file}"; the file is not a video or is damaged`);
  const frames = Number(stream["nb_read_frames"]);
  return {
    codec: String(stream["codec_name"] ?? ""),
    pixelFormat: String(stream["pix_fmt"] ?? ""),
    width: Number(stream["width"] ?? 0),
    height: Number(stream["height"] ?? 0),
    frameRate: String(stream["r_frame_rate"] ?? ""),
    ...(Number.isFinite(frames) && stream["nb_read_frames"] !== undefined ? { frames } : {}),
  };
}
