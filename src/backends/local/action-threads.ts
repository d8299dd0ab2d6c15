/**
 * The runner's worker threads for the actions that are Node code (see
 * src/worker/thread.ts): a job of such an action runs in a thread of the
 * runner instead of a `brender worker` process, saving a Node start and the
 * loading of its modules, which the next thread does ahead of time (one
 * spare thread is kept warm, started a moment after each job starts). A thread's failure, even an uncaught error or
 * its termination, ends only its own job.
 */
import { writeSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { Worker } from "node:worker_threads";
import type { JobActionType } from "../../domain/job-actions.ts";
import type { ThreadDone, ThreadJob } from "../../worker/thread.ts";

/** copy_efs, upload_render_output and remove_efs are Node code; renders run Blender, in a process of their own. */
export const THREAD_ACTIONS: readonly JobActionType[] = ["copy_efs", "upload_render_output", "remove_efs"];

/** How long after a job starts in a thread the next spare starts loading. */
const WARM_NEXT_AFTER_MS = 250;

export type ActionThreadOptions = {
  /** The actions run in threads. */
  readonly actions: readonly JobActionType[];
  /** The thread's module; default `<repo>/dist/worker/thread.js` (the build, as the default worker command). */
  readonly entry?: URL;
};

/** How a thread's job ended: like a process, an exit code or (terminated) a signal. */
export type ThreadExit = { readonly exitCode: number | null; readonly signal: NodeJS.Signals | null; readonly error?: string };

/** A job running in a thread. */
export type ThreadRun = {
  /** Asks the job to stop (its AbortSignal), as SIGTERM asks a worker process. */
  abort(): void;
  /** Ends the thread at once, as SIGKILL ends a process. */
  kill(): void;
  readonly done: Promise<ThreadExit>;
};

export function defaultThreadEntry(): URL {
  const root = resolve(dirname(fileURLToPath(import.meta.url)), "../../..");
  return new URL(`file://${join(root, "dist", "worker", "thread.js")}`);
}

export class ActionThreads {
  readonly actions: ReadonlySet<string>;
  readonly #entry: URL;
  #spare: Worker | undefined;
  #started = 0;
  #timer: NodeJS.Timeout | undefined;
  #closed = false;

  constructor(options: ActionThreadOptions) {
    this.actions = new Set(options.actions);
    this.#entry = options.entry ?? defaultThreadEntry();
  }

  /**
   * Starts a spare thread unless one is waiting. The first (the runner just
   * started: a copy job may be claimed at once) loads only the worker, so it
   * is ready soon; the next ones, warmed while a job runs, also load every
   * thread action's code (the upload's image and video libraries).
   */
  warm(preload?: readonly string[]): void {
    this.#spare ??= this.#start(preload ?? (this.#started > 0 ? [...this.actions] : []));
  }

  /** Runs one job in the spare thread (or a new one), its output appended to `logFd`, and warms the next. */
  run(env: Record<string, string>, logFd: number): ThreadRun {
    const thread = this.#spare ?? this.#start([]);
    this.#spare = undefined;
    let killed = false;
    const done = new Promise<ThreadExit>((settle) => {
      let result: ThreadDone | undefined;
      let crash: Error | undefined;
      thread.on("message", (message: ThreadDone) => (result = message));
      thread.on("error", (error) => (crash = error));
      // Whatever the action printed outside its log (console.log, a library's warning) belongs in its log too.
      // Synchronous: the runner closes logFd as soon as the job has ended, and nothing may land after that.
      const append = (chunk: Buffer) => writeSync(logFd, chunk);
      thread.stdout.on("data", append);
      thread.stderr.on("data", append);
      thread.once("exit", () => {
        if (result) settle({ exitCode: result.exitCode, signal: null, ...(result.error ? { error: result.error } : {}) });
        else if (killed) settle({ exitCode: null, signal: "SIGKILL" });
        else {
          const error = `the job's worker thread crashed: ${crash?.message ?? "it ended without a result"}`;
          writeSync(logFd, `brender worker: ${error}\n`);
          settle({ exitCode: 1, signal: null, error });
        }
      });
    });
    thread.postMessage({ type: "job", env, logFd } satisfies ThreadJob);
    this.#warmSoon();
    return {
      abort: () => thread.postMessage({ type: "abort" }),
      kill: () => {
        killed = true;
        void thread.terminate();
      },
      done,
    };
  }

  /**
   * The next spare, a moment after a job starts: not at once, when loading it
   * would take CPU from the job just started, and not at all when this
   * process is about to exit (a `brender render` whose upload job was the
   * last; the timer does not hold the process).
   */
  #warmSoon(): void {
    if (this.#timer) return;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      if (!this.#closed) this.warm();
    }, WARM_NEXT_AFTER_MS);
    this.#timer.unref();
  }

  /** Ends the spare thread (jobs' threads end with their jobs). */
  async close(): Promise<void> {
    this.#closed = true;
    if (this.#timer) clearTimeout(this.#timer);
    const spare = this.#spare;
    this.#spare = undefined;
    await spare?.terminate();
  }

  #start(preload: readonly string[]): Worker {
    this.#started += 1;
    const thread = new Worker(this.#entry, { workerData: { preload }, stdout: true, stderr: true });
    // A spare must not keep the runner alive, nor a failed spare bring it down: it is replaced when needed.
    thread.unref();
    thread.on("error", () => {
      if (this.#spare === thread) this.#spare = undefined;
    });
    return thread;
  }
}

let prewarmed: ActionThreads | undefined;

/**
 * Starts the default threads' first spare now, loading the copy action, for
 * a runner about to start in this process (`brender render` calls this before
 * inspecting, so the copy job finds its thread ready). The next default
 * runner in this process takes it (takePrewarmed).
 */
export function prewarmActionThreads(): void {
  if (process.env.BRENDER_ACTION_THREADS === "0") return;
  prewarmed ??= new ActionThreads({ actions: THREAD_ACTIONS });
  prewarmed.warm(["copy_efs"]);
}

/** The threads prewarmActionThreads started, once; undefined when none. */
export function takePrewarmed(): ActionThreads | undefined {
  const taken = prewarmed;
  prewarmed = undefined;
  return taken;
}
