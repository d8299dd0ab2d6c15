/**
 * The runner's spare worker: one `brender worker --job-on-stdin` process
 * started before there is a job for it (src/worker/spare.ts), which has done
 * its Node start and loaded the render action by the time a render child is
 * claimed. A render child then starts in milliseconds instead of a third of a
 * second. It is still a process of its own, in its own process group, with
 * the same stdin pipe, log file, kills and exit codes as a worker started for
 * the job: only the moment of its start changes.
 *
 * Costs: one idle Node process (about 60 MB) per runner. When spares are
 * started: with the runner (or earlier, by prewarmLocalRunner, while
 * `brender render` inspects and uploads: that one also starts Blender, see
 * src/blender/warm-blender.ts); when one is taken for a child of an array
 * job with children left (the next is claimed as soon as a slot frees; with
 * Blender too); and a few seconds after a worker process ends, for the next
 * render of a long-running runner (the server's), without taking CPU from the
 * end of the render that just finished (without Blender: an idle Blender
 * would hold its memory until the next render, maybe hours).
 */
import { spawn, type ChildProcess } from "node:child_process";
import { writeSync } from "node:fs";
import { sameVariables } from "../../domain/environment.ts";
import type { SpareJob } from "../../worker/spare-job.ts";
import type { WorkerCommand } from "./runner.ts";

/** Variables Node reads when it starts, not later: a job that sets its own gets a worker started for it. */
const NODE_START_VARIABLES = /^(NODE_|UV_)/;
/** Stray output of a spare (a library's warning while loading) kept for its job's log, at most. */
const MAX_EARLY_OUTPUT = 64 * 1024;
const WARM_AGAIN_AFTER_MS = 3000;

type Spare = { readonly child: ChildProcess; readonly env: Record<string, string>; readonly early: Buffer[]; earlyBytes: number; exited: boolean };

export class SpareWorker {
  readonly #command: WorkerCommand;
  readonly #env: Record<string, string>;
  #spare: Spare | undefined;
  #timer: NodeJS.Timeout | undefined;
  #closed = false;

  /** `env`: the runner's base environment, which every job's environment extends. */
  constructor(command: WorkerCommand, env: Record<string, string>) {
    this.#command = command;
    this.#env = { ...env, BRENDER_EXIT_WITH_PARENT: "1" };
  }

  /**
   * Starts a spare unless one is waiting. `withBlender`: for a render child
   * due soon, it also starts Blender at once (src/blender/warm-blender.ts):
   * an idle Blender holds memory, so only then.
   */
  warm(withBlender = false): void {
    if (this.#closed || (this.#spare && !this.#spare.exited)) return;
    this.#spare = this.#start(withBlender);
  }

  /** Starts one in a few seconds, unless one is started or taken meanwhile. */
  warmSoon(): void {
    if (this.#closed || this.#timer || (this.#spare && !this.#spare.exited)) return;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.warm(false);
    }, WARM_AGAIN_AFTER_MS);
    this.#timer.unref();
  }

  /**
   * Hands a job to the spare and returns its process, or undefined when no
   * spare is ready or the job needs a Node started its own way. Its output
   * outside the log file it is told (stray writes, a crash's stack) is
   * appended to `logFd`.
   */
  take(env: Record<string, string>, logFile: string, logFd: number): ChildProcess | undefined {
    const spare = this.#spare;
    if (!spare || spare.exited || !sameVariables(spare.env, env, (name) => NODE_START_VARIABLES.test(name))) return undefined;
    this.#spare = undefined;
    const { child } = spare;
    child.ref();
    for (const stream of [child.stdin, child.stdout, child.stderr]) refStream(stream, true);
    // Synchronous: the runner closes logFd as soon as the process has ended, and nothing may land after that.
    const append = (chunk: Buffer) => writeSync(logFd, chunk);
    for (const chunk of spare.early) append(chunk);
    child.stdout!.removeAllListeners("data").on("data", append);
    child.stderr!.removeAllListeners("data").on("data", append);
    child.stdin!.write(`${JSON.stringify({ env, logFile } satisfies SpareJob)}\n`);
    return child;
  }

  /** Ends the waiting spare (taken ones end with their jobs). */
  close(): void {
    this.#closed = true;
    if (this.#timer) clearTimeout(this.#timer);
    const spare = this.#spare;
    this.#spare = undefined;
    // It holds no job: nothing to stop gracefully.
    if (spare?.child.pid !== undefined && !spare.exited) {
      try {
        process.kill(-spare.child.pid, "SIGKILL");
      } catch {
        // Gone already.
      }
    }
  }

  #start(withBlender: boolean): Spare {
    const child = spawn(this.#command.command, [...this.#command.args, "--job-on-stdin", ...(withBlender ? ["--warm-blender"] : [])], {
      env: this.#env, detached: true, stdio: ["pipe", "pipe", "pipe"],
    });
    const spare: Spare = { child, env: this.#env, early: [], earlyBytes: 0, exited: false };
    const keep = (chunk: Buffer) => {
      if (spare.earlyBytes + chunk.length > MAX_EARLY_OUTPUT) return;
      spare.early.push(chunk);
      spare.earlyBytes += chunk.length;
    };
    child.stdout!.on("data", keep);
    child.stderr!.on("data", keep);
    // A spare that failed to start or died waiting is replaced by a worker started for the job.
    child.on("error", () => (spare.exited = true));
    child.on("exit", () => (spare.exited = true));
    child.stdin!.on("error", () => {});
    // Waiting, it must not keep the runner's process alive.
    child.unref();
    for (const stream of [child.stdin, child.stdout, child.stderr]) refStream(stream, false);
    return spare;
  }
}

/** Pipes to a child are sockets, which can stop (or again) keep the event loop alive. */
function refStream(stream: unknown, keepAlive: boolean): void {
  const socket = stream as { ref?: () => void; unref?: () => void } | null;
  if (keepAlive) socket?.ref?.();
  else socket?.unref?.();
}
