/**
 * A Blender started before its file is known (bpy/warm_start.py), so that
 * its own start — libraries, Python, the bundled add-ons: about half a second
 * of every render — happens while the render's project is still being
 * copied. The local farm's spare worker starts one for a render child it is
 * about to be given (src/worker/spare.ts); the render action takes it when the
 * child runs one Blender with the same executable and environment it would
 * have started itself, and otherwise ends it and starts its own. It is then
 * told the file and the script, which it runs exactly as `blender -b FILE
 * --python SCRIPT -- ARGS` would; frames are identical either way.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { realpath } from "node:fs/promises";
import { join } from "node:path";
import { sameVariables } from "../domain/environment.ts";
import { BPY_SCRIPTS, PYTHON_ERROR_EXIT_CODE, blenderExecutable, superviseBlender, type BlenderExit, type RunBlenderOptions } from "./runner.ts";

/** Variables of one job that Blender never reads: a job may differ from the warm Blender's start in these only. */
const JOB_ONLY_VARIABLES = /^(AWS_BATCH_\w+|JOB_ACTION_TYPE|BRENDER_\w+|EFS_BLENDER_FOLDER_PATH|BUCKET_\w+|BLENDER_EXECUTABLE)$/;

type Warm = {
  readonly child: ChildProcess;
  /** The file it runs, as executableIdentity finds it. */
  readonly identity: Promise<string | undefined>;
  readonly env: NodeJS.ProcessEnv;
  readonly early: Buffer[];
  exited: boolean;
};

let waiting: Warm | undefined;

/** Starts a Blender (the one `env` names, as runBlender would pick) to wait for its file; one at a time. */
export function startWarmBlender(env: NodeJS.ProcessEnv): void {
  if (waiting && !waiting.exited) return;
  const executable = blenderExecutable(env);
  const child = spawn(
    executable,
    ["-b", "--factory-startup", "-noaudio", "--python-exit-code", String(PYTHON_ERROR_EXIT_CODE), "--python", join(BPY_SCRIPTS, "warm_start.py")],
    // Its stdin is ours: if this process dies, Blender reads the end of it and quits.
    { env, stdio: ["pipe", "pipe", "pipe"], detached: true },
  );
  const warm: Warm = { child, identity: executableIdentity(executable, env), env, early: [], exited: false };
  child.stdout!.on("data", (chunk: Buffer) => warm.early.push(chunk));
  child.stderr!.on("data", (chunk: Buffer) => warm.early.push(chunk));
  child.stdin!.on("error", () => {});
  child.on("error", () => (warm.exited = true));
  child.on("exit", () => (warm.exited = true));
  child.unref();
  waiting = warm;
}

/** Ends the waiting Blender, if any (its job did not need it). */
export function discardWarmBlender(): void {
  const warm = waiting;
  waiting = undefined;
  if (warm && !warm.exited) warm.child.stdin!.end();
}

/** What the warm Blender is told to do: `blender -b blendFile --python script -- ...args`. */
export type WarmRequest = { readonly blendFile: string; readonly script: string; readonly args: readonly string[] };

/** A waiting Blender taken for one run; `run` resolves as runBlender does. */
export type WarmBlender = { run(request: WarmRequest): Promise<BlenderExit> };

/**
 * The waiting Blender, taken, when it fits what runBlender would start with
 * `options` — the same executable, the same environment apart from job-only
 * variables — and is alive; undefined when none fits (the one waiting, if
 * any, is ended: it would not be used).
 */
export async function claimWarmBlender(options: RunBlenderOptions): Promise<WarmBlender | undefined> {
  const warm = waiting;
  waiting = undefined;
  if (!warm) return undefined;
  const env = options.env ?? process.env;
  const executable = options.executable ?? blenderExecutable(env);
  const [theirs, ours] = await Promise.all([warm.identity, executableIdentity(executable, env)]);
  if (warm.exited || theirs === undefined || theirs !== ours || !sameBlenderEnvironment(warm.env, env)) {
    if (!warm.exited) warm.child.stdin!.end();
    return undefined;
  }
  const { child } = warm;
  child.ref();
  return {
    run: (request) => superviseBlender(() => {
      // From here its output goes to the supervisor, which first replays `early` (the same array: nothing is missed).
      child.stdout!.removeAllListeners("data");
      child.stderr!.removeAllListeners("data");
      child.stdin!.write(`${JSON.stringify({ blendFile: request.blendFile, script: request.script, args: request.args })}\n`);
      return child;
    }, executable, options, warm.early),
  };
}

/** The same environment for Blender: equal but for the variables only Brender's worker reads. */
export function sameBlenderEnvironment(a: NodeJS.ProcessEnv, b: NodeJS.ProcessEnv): boolean {
  return sameVariables(a, b, (name) => !JOB_ONLY_VARIABLES.test(name));
}

/** The file `command` runs (found on PATH as a start would find it), links resolved; undefined when there is none. */
async function executableIdentity(command: string, env: NodeJS.ProcessEnv): Promise<string | undefined> {
  try {
    // Loaded here, after Blender is spawned: the installations module brings zod, a tenth of a second.
    const { onPath } = await import("./installations.ts");
    return await realpath((await onPath(command, env)) ?? command);
  } catch {
    return undefined;
  }
}
