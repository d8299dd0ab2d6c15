import { spawn, type ChildProcess } from "node:child_process";
import { createWriteStream, type WriteStream } from "node:fs";
import { mkdir } from "node:fs/promises";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { UserInputError } from "../errors.ts";
import { LineSplitter } from "./output-parser.ts";

/** The folder holding our bpy scripts (copied next to the compiled code by the build). */
export const BPY_SCRIPTS = join(dirname(fileURLToPath(import.meta.url)), "bpy");

/** Blender to run: BLENDER_EXECUTABLE (the seed's variable), else `blender` on PATH. */
export function blenderExecutable(env: NodeJS.ProcessEnv = process.env): string {
  return env.BLENDER_EXECUTABLE?.trim() || "blender";
}

export type BlenderExit = {
  readonly exitCode: number | null;
  readonly signal: NodeJS.Signals | null;
  /** The last lines Blender printed, for error messages. */
  readonly tail: readonly string[];
  readonly seconds: number;
};

export type RunBlenderOptions = {
  readonly executable?: string;
  readonly env?: NodeJS.ProcessEnv;
  readonly cwd?: string;
  /** Called for every line Blender prints (stdout and stderr). */
  readonly onLine?: (line: string) => void;
  /** Appends Blender's whole output here. */
  readonly logFile?: string;
  /** Aborting kills Blender's whole process tree (TERM, then KILL after `killGraceMs`). */
  readonly signal?: AbortSignal;
  readonly killGraceMs?: number;
};

const TAIL_LINES = 40;

/** The exit code we ask Blender for when a --python script raises (--python-exit-code). */
export const PYTHON_ERROR_EXIT_CODE = 3;

/**
 * How long Blender gets to exit after SIGTERM before SIGKILL. Shorter than the
 * grace the local runner gives the worker (5 s) and the 30 s AWS Batch (ECS)
 * gives the container: a Blender that ignores SIGTERM is always killed by its
 * worker before the worker itself can be killed and leave it running.
 */
export const BLENDER_KILL_GRACE_MS = 3000;

/**
 * Runs Blender in the background mode with the given arguments and resolves
 * when it exits (never rejects for a non-zero exit: callers decide what a
 * failure means). Blender runs in its own process group so that terminating
 * a job also ends anything Blender started.
 */
export async function runBlender(args: readonly string[], options: RunBlenderOptions = {}): Promise<BlenderExit> {
  const executable = options.executable ?? blenderExecutable(options.env);
  return superviseBlender(
    () => spawn(executable, args, { cwd: options.cwd, env: options.env ?? process.env, stdio: ["ignore", "pipe", "pipe"], detached: true }),
    executable,
    options,
  );
}

/**
 * Follows a Blender process as runBlender does: its output to `onLine` and
 * the log, the abort to its process group, its exit. `start` makes the
 * process (spawns it, or hands over one already running, see warm-blender.ts);
 * `earlier` is what it printed before it was handed over.
 */
export async function superviseBlender(
  start: () => ChildProcess,
  executable: string,
  options: RunBlenderOptions,
  earlier: readonly Buffer[] = [],
): Promise<BlenderExit> {
  const log = options.logFile ? await openLog(options.logFile) : undefined;
  const started = performance.now();
  const tail: string[] = [];
  const splitter = new LineSplitter();
  const handleLines = (lines: string[]) => {
    for (const line of lines) {
      tail.push(line);
      if (tail.length > TAIL_LINES) tail.shift();
      options.onLine?.(line);
    }
  };

  try {
    return await new Promise<BlenderExit>((resolve, reject) => {
      const child = start();
      const onChunk = (chunk: Buffer) => {
        log?.write(chunk);
        handleLines(splitter.push(chunk.toString("utf8")));
      };
      for (const chunk of earlier) onChunk(chunk);
      child.stdout!.on("data", onChunk);
      child.stderr!.on("data", onChunk);

      let killTimer: NodeJS.Timeout | undefined;
      const killTree = () => {
        signalGroup(child.pid, "SIGTERM");
        killTimer = setTimeout(() => signalGroup(child.pid, "SIGKILL"), options.killGraceMs ?? BLENDER_KILL_GRACE_MS);
        killTimer.unref();
      };
      if (options.signal?.aborted) killTree();
      options.signal?.addEventListener("abort", killTree, { once: true });

      child.on("error", (error: NodeJS.ErrnoException) => {
        options.signal?.removeEventListener("abort", killTree);
        if (error.code === "ENOENT") {
          reject(new UserInputError(
            `Blender was not found ("${executable}"). Install it (Debian: apt-get install blender) or set BLENDER_EXECUTABLE to its path.`,
          ));
        } else {
          reject(error);
        }
      });
      child.on("close", (exitCode, signal) => {
        options.signal?.removeEventListener("abort", killTree);
        if (killTimer) clearTimeout(killTimer);
        // Blender may have left children of its own; they belong to the job too.
        signalGroup(child.pid, "SIGKILL");
        handleLines(splitter.end());
        resolve({ exitCode, signal, tail, seconds: (performance.now() - started) / 1000 });
      });
    });
  } finally {
    await closeLog(log);
  }
}

/** Describes how Blender ended, for error messages. */
export function describeExit(exit: BlenderExit): string {
  if (exit.signal) return `Blender was killed by ${exit.signal}${exit.signal === "SIGKILL" ? " (out of memory, or terminated)" : ""}`;
  if (exit.exitCode === 0) return "Blender exited normally";
  return `Blender exited with code ${exit.exitCode}`;
}

function signalGroup(pid: number | undefined, signal: NodeJS.Signals): void {
  if (pid === undefined) return;
  try {
    process.kill(-pid, signal);
  } catch {
    // The group is already gone.
  }
}

async function openLog(path: string): Promise<WriteStream> {
  await mkdir(dirname(path), { recursive: true });
  return createWriteStream(path, { flags: "a" });
}

async function closeLog(log: WriteStream | undefined): Promise<void> {
  if (!log) return;
  await new Promise<void>((resolve) => log.end(resolve));
}
