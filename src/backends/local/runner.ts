/**
 * The local farm's runner: takes children from the SQLite job store and runs
 * each as a worker process, with AWS Batch's semantics (the store decides
 * statuses, retries and capacity; the runner owns processes, leases, logs and
 * kills).
 *
 * Each child runs `brender worker` (or `workerCommand`) in its own process
 * group, with the job's environment, stdout and stderr appended straight to
 * the attempt's log file (no pipe through the runner: cheaper per child, and
 * nothing is lost if the runner dies). Its stdin is a pipe that the runner holds open and never
 * writes to: when the runner dies, even by SIGKILL, the pipe closes and the
 * worker (started with BRENDER_EXIT_WITH_PARENT=1) aborts and kills Blender,
 * so no orphan renders a child the farm is about to hand out again.
 *
 * Jobs whose action is Node code (copy, upload) run instead in a worker
 * thread of the runner (action-threads.ts), with the same log file, statuses,
 * retries, timeouts and terminations; renders, which run Blender, always get
 * a process.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { closeSync, fstatSync, mkdirSync, open, readSync } from "node:fs";
import { hostname } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import type { JobStatus } from "../../domain/job-status.ts";
import { ActionThreads, prewarmActionThreads, takePrewarmed, THREAD_ACTIONS, type ActionThreadOptions, type ThreadRun } from "./action-threads.ts";
import { SpareWorker } from "./spare-worker.ts";
import type { ChildRef, ClaimedChild, JobStore } from "./job-store.ts";

/** The program run for every child; it gets the child's job through its environment. */
export type WorkerCommand = { readonly command: string; readonly args: readonly string[] };

export type RunnerOptions = {
  readonly store: JobStore;
  /** Default: this Node running `<repo>/dist/cli/main.js worker`. */
  readonly workerCommand?: WorkerCommand;
  /**
   * Actions run in worker threads of this process instead of worker
   * processes (see action-threads.ts). Default: copy, upload and clean-up
   * when `workerCommand` is the default one and BRENDER_ACTION_THREADS is
   * not "0"; none with another worker command.
   */
  readonly actionThreads?: ActionThreadOptions | false;
  /**
   * Keep a spare worker process started ahead of the next render child (see
   * spare-worker.ts). Default: when `workerCommand` is the default one and
   * BRENDER_SPARE_WORKER is not "0".
   */
  readonly spareWorker?: boolean;
  /** Merged under each child's environment; default process.env. */
  readonly baseEnv?: NodeJS.ProcessEnv;
  /** One log per attempt: <logDir>/<jobId>/<index>-<attempt>.log (worker stdout and stderr). */
  readonly logDir: string;
  /** Default `${hostname}:${pid}:${random}`; that form lets runners on this host spot a dead owner. */
  readonly ownerId?: string;
  /** How long a claimed child stays ours without a heartbeat (default 30 s). */
  readonly leaseMs?: number;
  /** How often leases are renewed and terminations picked up (default 5 s). */
  readonly heartbeatMs?: number;
  /** How often the store is polled for work when nothing happens (default 200 ms). */
  readonly pollMs?: number;
  /** Aborting stops the runner at once (running children are released, see runLocalFarm). */
  readonly stop?: AbortSignal;
  /** Stop when every job in the store has ended and nothing runs here. */
  readonly untilIdle?: boolean;
  /** Aborting stops the runner: its children are killed and their attempts released. */
  readonly signal?: AbortSignal;
  readonly onEvent?: (event: RunnerEvent) => void;
  /** Tell a runOnDependencyFailure job which dependency failed, in BRENDER_UPSTREAM_FAILURE (default true). */
  readonly upstreamFailure?: boolean;
};

export type RunnerEvent =
  | {
      readonly type: "started";
      readonly jobId: string;
      readonly jobName: string;
      readonly index: number;
      readonly attempt: number;
      readonly pid: number;
      readonly logFile: string;
    }
  | {
      readonly type: "exited";
      readonly jobId: string;
      readonly jobName: string;
      readonly index: number;
      readonly attempt: number;
      /** null when the process was killed by a signal or never started. */
      readonly exitCode: number | null;
      readonly signal: NodeJS.Signals | null;
      /** Why the attempt failed (undefined on success). */
      readonly reason: string | undefined;
      /** The child's status after this attempt; undefined when the attempt was released (runner stopping) or the store ignored it. */
      readonly status: JobStatus | undefined;
    }
  | {
      /** Children of an owner found dead on this host, put back at once instead of after their lease. */
      readonly type: "recovered";
      readonly ownerId: string;
      readonly children: readonly ChildRef[];
    };

/** The last stderr line of `brender worker` on failure starts with this; the rest is the reason. */
export const WORKER_REASON_PREFIX = "brender worker: ";

/** How long a terminated worker gets after SIGTERM before its process group is killed. */
export const KILL_GRACE_MS = 5000;
const OWNER_CHECK_MS = 2000;
// The worker's reason is its last line; Blender's chatter never follows it (the worker has ended it).
const LOG_TAIL_BYTES = 64 * 1024;

// Variables that describe one particular job: a runner started from inside a
// job's environment must not leak its own into the children it runs.
const PER_JOB_VARIABLES = /^(AWS_BATCH_.*|JOB_ACTION_TYPE|BRENDER_JOB_PAYLOAD|BRENDER_JOB_PAYLOAD_FILE|BRENDER_UPSTREAM_FAILURE|BRENDER_EXIT_WITH_PARENT)$/;

/** `brender worker` run by the Node running this code; works from src/ (tests) and dist/ alike, both three levels under the repository. */
export function defaultWorkerCommand(): WorkerCommand {
  const root = resolve(dirname(fileURLToPath(import.meta.url)), "../../..");
  return { command: process.execPath, args: [join(root, "dist", "cli", "main.js"), "worker"] };
}

/** What every child's environment extends: `env` without the variables of one particular job. */
export function runnerBaseEnv(env: NodeJS.ProcessEnv): Record<string, string> {
  const base: Record<string, string> = {};
  for (const [key, value] of Object.entries(env)) {
    if (value !== undefined && !PER_JOB_VARIABLES.test(key)) base[key] = value;
  }
  return base;
}

let prewarmedSpare: SpareWorker | undefined;

/**
 * Starts, for a runner about to start in this process with the defaults, its
 * first copy thread and its spare worker (with Blender) now: `brender render`
 * calls this before its own modules load, so they are ready when the copy and
 * render jobs come.
 */
export function prewarmLocalRunner(): void {
  prewarmActionThreads();
  if (process.env.BRENDER_SPARE_WORKER === "0") return;
  prewarmedSpare ??= new SpareWorker(defaultWorkerCommand(), runnerBaseEnv(process.env));
  prewarmedSpare.warm(true);
}

/**
 * The runner's spare worker: the one prewarmLocalRunner started, when this
 * runner has the defaults it assumed (this process's environment, the default
 * command); else a new one; none when `spareWorker` is off.
 */
function spareWorkerFor(options: RunnerOptions, workerCommand: WorkerCommand, baseEnv: Record<string, string>): SpareWorker | undefined {
  const prewarmed = prewarmedSpare;
  prewarmedSpare = undefined;
  const wanted = options.spareWorker ?? (options.workerCommand === undefined && process.env.BRENDER_SPARE_WORKER !== "0");
  if (wanted && prewarmed && options.baseEnv === undefined && options.workerCommand === undefined) return prewarmed;
  prewarmed?.close();
  return wanted ? new SpareWorker(workerCommand, baseEnv) : undefined;
}

/** A fresh owner id for this process: `${hostname}:${pid}:${random}`. */
export function newOwnerId(): string {
  return `${hostname()}:${process.pid}:${randomBytes(4).toString("hex")}`;
}

/**
 * The pid of `ownerId` when it names a process on this host that no longer
 * exists, else undefined (another host, another form of id, or alive).
 */
export function deadLocalOwnerPid(ownerId: string, thisHost: string = hostname()): number | undefined {
  const match = /^(.*):(\d+):[^:]*$/.exec(ownerId);
  if (!match || match[1] !== thisHost) return undefined;
  const pid = Number(match[2]);
  if (!Number.isSafeInteger(pid) || pid <= 0 || pid === process.pid) return undefined;
  try {
    process.kill(pid, 0);
    return undefined;
  } catch (error) {
    // EPERM: alive, just someone else's.
    return (error as NodeJS.ErrnoException).code === "ESRCH" ? pid : undefined;
  }
}

/**
 * The reason an attempt failed: the worker's own ("brender worker: …", see
 * lastWorkerReason), else how the process ended.
 */
export function exitReason(workerReason: string | undefined, exitCode: number | null, signal: NodeJS.Signals | null): string {
  if (workerReason) return workerReason;
  if (signal) return `killed by ${signal}`;
  return `exited with code ${exitCode ?? "unknown"}`;
}

type Running = {
  readonly claimed: ClaimedChild;
  /** A worker process (its pid is its process group's), or a job in one of this process's threads (pid: ours). */
  readonly process: ChildProcess | undefined;
  readonly thread: ThreadRun | undefined;
  readonly pid: number;
  readonly logFile: string;
  readonly logFd: number;
  /** Set when the runner killed it at its deadline: the attempt ends with this reason, once. */
  timeoutReason: string | undefined;
  /** The runner is stopping: unless it succeeded, the attempt is left to recoverOwner (a lost try, not a failure). */
  released: boolean;
  killTimer: NodeJS.Timeout | undefined;
  readonly closed: Promise<void>;
};

/**
 * Runs children from `store` until `signal` or `stop` aborts, or
 * (with `untilIdle`) every job has ended. Each loop: claim while the store
 * hands out children (it enforces vCPU capacity and recovers expired
 * leases), renew leases every `heartbeatMs` and kill the children the user
 * terminated, kill children past their deadline (finished once, with the
 * store's timeout reason), and put back at once the children of runners on
 * this host whose process is gone.
 *
 * On stop, children still running are killed (process group: SIGTERM, then
 * SIGKILL after 5 s) and their attempts released as lost: they run again
 * without using an attempt, or end FAILED if the user had terminated them.
 * A child that still exits 0 meanwhile counts as done.
 */
export async function runLocalFarm(options: RunnerOptions): Promise<void> {
  const { store, logDir, signal, onEvent } = options;
  const workerCommand = options.workerCommand ?? defaultWorkerCommand();
  const defaultThreads = options.actionThreads === undefined && options.workerCommand === undefined && process.env.BRENDER_ACTION_THREADS !== "0";
  const threadOptions = options.actionThreads ?? (defaultThreads ? { actions: THREAD_ACTIONS } : false);
  const threads = (defaultThreads ? takePrewarmed() : undefined) ?? (threadOptions && threadOptions.actions.length > 0 ? new ActionThreads(threadOptions) : undefined);
  threads?.warm();
  const baseEnv = runnerBaseEnv(options.baseEnv ?? process.env);
  const spare = spareWorkerFor(options, workerCommand, baseEnv);
  spare?.warm();
  const ownerId = options.ownerId ?? newOwnerId();
  const leaseMs = options.leaseMs ?? 30_000;
  const heartbeatMs = options.heartbeatMs ?? 5000;
  const pollMs = options.pollMs ?? 200;
  const thisHost = hostname();

  const running = new Map<string, Running>();
  const logFolders = new Set<string>();
  const upstreamCache = new Map<string, string | undefined>();
  // Log files being opened for claimed children: off the main thread, since creating a file costs as much as a spawn.
  const launching = new Map<string, Promise<void>>();
  let stopping = false;
  let exitsSinceClaim = 0;
  let fatal: unknown;
  let pendingWake = false;
  let wakeUp: (() => void) | undefined;
  const wake = () => {
    pendingWake = true;
    wakeUp?.();
  };
  const nap = (ms: number) =>
    new Promise<void>((done) => {
      if (pendingWake) {
        pendingWake = false;
        done();
        return;
      }
      const timer = setTimeout(finish, ms);
      function finish() {
        clearTimeout(timer);
        wakeUp = undefined;
        pendingWake = false;
        done();
      }
      wakeUp = finish;
    });
  signal?.addEventListener("abort", wake);
  options.stop?.addEventListener("abort", wake);

  const emit = (event: RunnerEvent) => {
    try {
      onEvent?.(event);
    } catch (error) {
      fatal ??= error;
      wake();
    }
  };

  // The attempt is part of the key: a child whose lease was lost may run here again while its old process still dies.
  const keyOf = (ref: ChildRef) => `${ref.jobId}#${ref.index}#${ref.attempt}`;

  const upstreamFailureOf = (claimed: ClaimedChild): string | undefined => {
    if (upstreamCache.has(claimed.jobId)) return upstreamCache.get(claimed.jobId);
    const job = store.getJob(claimed.jobId);
    if (!job?.runOnDependencyFailure) {
      upstreamCache.set(claimed.jobId, undefined);
      return undefined;
    }
    const failures: string[] = [];
    let settled = true;
    for (const dependency of job.dependsOn) {
      if (dependency.type === "N_TO_N") {
        // Only this child's counterpart matters, and other children may differ: no caching.
        settled = false;
        const counterpart = store.listChildren(dependency.jobId, { offset: claimed.index, limit: 1 })[0];
        const name = store.getJob(dependency.jobId)?.name ?? dependency.jobId;
        if (counterpart?.status === "FAILED") failures.push(`${name}[${claimed.index}]: ${counterpart.statusReason ?? "failed"}`);
      } else {
        const upstream = store.getJob(dependency.jobId);
        if (upstream?.status === "FAILED") failures.push(`${upstream.name}: ${upstream.statusReason ?? "failed"}`);
      }
    }
    const value = failures.length > 0 ? failures.join("; ") : undefined;
    if (settled) upstreamCache.set(claimed.jobId, value);
    return value;
  };

  const killGroup = (entry: Running) => {
    if (entry.killTimer) return;
    if (entry.thread) {
      const thread = entry.thread;
      thread.abort();
      entry.killTimer = setTimeout(() => thread.kill(), KILL_GRACE_MS);
      return;
    }
    signalGroup(entry.pid, "SIGTERM");
    entry.killTimer = setTimeout(() => signalGroup(entry.pid, "SIGKILL"), KILL_GRACE_MS);
  };

  const finishUnstarted = (claimed: ClaimedChild, reason: string) => {
    const result = store.finishAttempt(claimed.jobId, claimed.index, claimed.attempt, { exitCode: null, reason });
    emit({
      type: "exited", jobId: claimed.jobId, jobName: claimed.jobName, index: claimed.index, attempt: claimed.attempt,
      exitCode: null, signal: null, reason, status: result.accepted ? result.status : undefined,
    });
  };

  const launch = (claimed: ClaimedChild) => {
    const launched: Promise<void> = start(claimed)
      .catch((error: unknown) => {
        fatal ??= error;
        wake();
      })
      .finally(() => launching.delete(keyOf(claimed)));
    launching.set(keyOf(claimed), launched);
  };

  const start = async (claimed: ClaimedChild) => {
    const folder = join(logDir, claimed.jobId);
    if (!logFolders.has(folder)) {
      mkdirSync(folder, { recursive: true });
      logFolders.add(folder);
    }
    const logFile = join(folder, `${claimed.index}-${claimed.attempt}.log`);
    const env: Record<string, string> = { ...baseEnv, ...claimed.environment, BRENDER_EXIT_WITH_PARENT: "1" };
    if (options.upstreamFailure !== false) {
      const upstream = upstreamFailureOf(claimed);
      if (upstream !== undefined) env.BRENDER_UPSTREAM_FAILURE = upstream;
    }
    const logFd = await openLog(logFile);
    if (stopping) {
      // Never started: the attempt goes back with the others at shutdown (recoverOwner).
      closeSync(logFd);
      return;
    }
    if (threads?.actions.has(claimed.action)) {
      startThread(claimed, threads.run(env, logFd), logFile, logFd);
      return;
    }
    let child: ChildProcess;
    // Spares serve renders (what they load ahead); anything else run as a process gets one started for it.
    const spareChild = claimed.action === "render" ? spare?.take(env, logFile, logFd) : undefined;
    if (spareChild) {
      child = spareChild;
      // More children of this job come as slots free: the next one finds a spare too.
      if (claimed.index + 1 < claimed.arraySize) spare?.warm(true);
    } else {
      try {
        child = spawn(workerCommand.command, [...workerCommand.args], { env, detached: true, stdio: ["pipe", logFd, logFd] });
      } catch (error) {
        closeSync(logFd);
        finishUnstarted(claimed, `could not start the worker "${workerCommand.command}": ${errorMessage(error)}`);
        return;
      }
    }
    const pid = child.pid;
    if (pid === undefined) {
      // spawn failed (e.g. ENOENT); Node reports it asynchronously.
      child.once("error", (error) => {
        child.stdin?.destroy();
        closeSync(logFd);
        try {
          finishUnstarted(claimed, `could not start the worker "${workerCommand.command}": ${error.message}`);
        } catch (storeError) {
          fatal ??= storeError;
        }
        exitsSinceClaim += 1;
        wake();
      });
      return;
    }
    let closed!: () => void;
    const entry: Running = {
      claimed, process: child, thread: undefined, pid, logFile, logFd, timeoutReason: undefined, released: false, killTimer: undefined,
      closed: new Promise<void>((done) => (closed = done)),
    };
    running.set(keyOf(claimed), entry);
    // Never written to; closing it (the runner dying) tells the worker to stop.
    child.stdin?.on("error", () => {});
    child.on("error", () => {
      // Only kill/pipe errors reach here once the process exists; 'close' still follows.
    });
    child.on("exit", () => {
      // Anything the worker left behind in its group belongs to the job too.
      signalGroup(pid, "SIGKILL");
    });
    child.on("close", (exitCode: number | null, exitSignal: NodeJS.Signals | null) => ended(entry, closed, exitCode, exitSignal));
    started(entry);
  };

  /** The same bookkeeping as a process, for a job run in one of this process's threads. */
  const startThread = (claimed: ClaimedChild, thread: ThreadRun, logFile: string, logFd: number) => {
    let closed!: () => void;
    const entry: Running = {
      claimed, process: undefined, thread, pid: process.pid, logFile, logFd, timeoutReason: undefined, released: false, killTimer: undefined,
      closed: new Promise<void>((done) => (closed = done)),
    };
    running.set(keyOf(claimed), entry);
    void thread.done.then(({ exitCode, signal: exitSignal }) => ended(entry, closed, exitCode, exitSignal));
    started(entry);
  };

  const started = (entry: Running) => {
    const { claimed, logFile, pid } = entry;
    if (!store.markRunning(claimed.jobId, claimed.index, claimed.attempt, { logFile })) {
      // The attempt is no longer ours (recovered by another runner): stop the process, report nothing.
      entry.released = true;
      killGroup(entry);
      return;
    }
    emit({ type: "started", jobId: claimed.jobId, jobName: claimed.jobName, index: claimed.index, attempt: claimed.attempt, pid, logFile });
  };

  const ended = (entry: Running, closed: () => void, exitCode: number | null, exitSignal: NodeJS.Signals | null) => {
    // The next render of a runner that keeps running finds a spare, started once this one's end is past.
    if (entry.process && !stopping) spare?.warmSoon();
    try {
      onClose(entry, exitCode, exitSignal);
    } catch (error) {
      fatal ??= error;
    } finally {
      closed();
      exitsSinceClaim += 1;
      wake();
    }
  };

  const onClose = (entry: Running, exitCode: number | null, exitSignal: NodeJS.Signals | null) => {
    if (entry.killTimer) clearTimeout(entry.killTimer);
    // Read the log only when the reason is needed: a failure the runner did not cause itself.
    const workerReason = exitCode !== 0 && entry.timeoutReason === undefined && !entry.released ? lastWorkerReason(readTail(entry.logFd)) : undefined;
    closeSync(entry.logFd);
    entry.process?.stdin?.destroy();
    running.delete(keyOf(entry.claimed));
    const { claimed } = entry;
    const base = { type: "exited", jobId: claimed.jobId, jobName: claimed.jobName, index: claimed.index, attempt: claimed.attempt, exitCode, signal: exitSignal } as const;
    if (entry.released && exitCode !== 0) {
      emit({ ...base, reason: undefined, status: undefined });
      return;
    }
    // A process that made it to exit 0 before the kill landed did its job.
    const succeeded = exitCode === 0;
    const reason = succeeded ? undefined : (entry.timeoutReason ?? exitReason(workerReason, exitCode, exitSignal));
    const end = succeeded ? { exitCode } : { exitCode: entry.timeoutReason === undefined ? exitCode : null, reason };
    const result = store.finishAttempt(claimed.jobId, claimed.index, claimed.attempt, end);
    emit({ ...base, reason, status: result.accepted ? result.status : undefined });
  };

  const recoverDeadOwners = () => {
    for (const owner of store.listInFlightOwners()) {
      if (owner === ownerId || deadLocalOwnerPid(owner, thisHost) === undefined) continue;
      const children = store.recoverOwner(owner);
      if (children.length > 0) emit({ type: "recovered", ownerId: owner, children });
    }
  };

  const heartbeat = () => {
    const { terminate } = store.heartbeat(ownerId);
    for (const ref of terminate) {
      const entry = running.get(keyOf(ref));
      if (entry) killGroup(entry);
    }
  };

  const killTimedOut = () => {
    for (const expired of store.expiredAttempts(undefined, ownerId)) {
      const entry = running.get(keyOf(expired));
      if (entry) {
        // The attempt ends when the process is gone, so the slot stays taken until then, and once only.
        if (entry.timeoutReason === undefined) {
          entry.timeoutReason = expired.reason;
          killGroup(entry);
        }
      } else if (!launching.has(keyOf(expired))) {
        // Ours but without a process (cannot normally happen): end it now.
        store.finishAttempt(expired.jobId, expired.index, expired.attempt, { exitCode: null, reason: expired.reason });
      }
    }
  };

  let nextHeartbeat = Date.now() + heartbeatMs;
  let nextOwnerCheck = 0;
  let nextPoll = 0;
  try {
    for (;;) {
      if (fatal !== undefined || signal?.aborted || options.stop?.aborted) break;
      const now = Date.now();
      // The periodic part runs once per poll, not after every child's exit, so a fast stream of
      // exits costs one claim each and nothing more: between polls, only the slots that
      // exits freed are claimed (a poll claims greedily, catching capacity freed elsewhere).
      let claims = exitsSinceClaim;
      exitsSinceClaim = 0;
      if (now >= nextPoll) {
        claims = Number.POSITIVE_INFINITY;
        nextPoll = now + pollMs;
        if (options.untilIdle && running.size === 0 && launching.size === 0 && store.countUnfinishedJobs() === 0) break;
        if (now >= nextOwnerCheck) {
          nextOwnerCheck = now + OWNER_CHECK_MS;
          recoverDeadOwners();
        }
        if (now >= nextHeartbeat) {
          nextHeartbeat = now + heartbeatMs;
          heartbeat();
        }
        killTimedOut();
      }
      // claimNext also puts back children whose lease expired.
      for (; claims > 0 && fatal === undefined && !signal?.aborted; claims -= 1) {
        const claimed = store.claimNext(ownerId, leaseMs);
        if (!claimed) break;
        launch(claimed);
      }
      await nap(Math.max(1, Math.min(nextPoll, nextHeartbeat) - Date.now()));
    }
  } catch (error) {
    fatal ??= error;
  } finally {
    signal?.removeEventListener("abort", wake);
    options.stop?.removeEventListener("abort", wake);
    stopping = true;
    await Promise.all(launching.values());
    for (const entry of running.values()) {
      if (entry.timeoutReason === undefined) entry.released = true;
      killGroup(entry);
    }
    await Promise.all([...running.values()].map((entry) => entry.closed));
    await threads?.close();
    spare?.close();
    try {
      store.recoverOwner(ownerId);
    } catch (error) {
      fatal ??= error;
    }
  }
  if (fatal !== undefined) throw fatal;
}

/** Opened for appending (the worker writes) and reading (its last line, on failure). */
function openLog(path: string): Promise<number> {
  return new Promise((done, fail) => open(path, "a+", (error, fd) => (error ? fail(error) : done(fd))));
}

function readTail(fd: number): string {
  const size = fstatSync(fd).size;
  const length = Math.min(size, LOG_TAIL_BYTES);
  const buffer = Buffer.alloc(length);
  const read = readSync(fd, buffer, 0, length, size - length);
  return buffer.subarray(0, read).toString("utf8");
}

/**
 * The reason in the last line of `log` that starts with "brender worker: ",
 * or undefined. The worker's stdout (JSON progress events) and stderr (JSON
 * log lines) share the log; only its final failure line has the prefix.
 */
export function lastWorkerReason(log: string): string | undefined {
  const lines = log.split("\n");
  for (let index = lines.length - 1; index >= 0; index -= 1) {
    const line = lines[index] ?? "";
    if (line.startsWith(WORKER_REASON_PREFIX)) {
      const reason = line.slice(WORKER_REASON_PREFIX.length).trim();
      if (reason.length > 0) return reason;
    }
  }
  return undefined;
}

function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // The group is already gone.
  }
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
