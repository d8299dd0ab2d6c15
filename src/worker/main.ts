import { writeSync } from "node:fs";
import { pino, type Logger } from "pino";
import { brenderPaths } from "../config.ts";
import { DiskFullError, diskFullFolder, isDiskFull } from "../disk-full.ts";
import { BrenderError } from "../errors.ts";
import { loadObjectStore } from "../storage/store-location.ts";
import type { ActionContext } from "./context.ts";
import { workFolderOf } from "./context.ts";
import { parseWorkerEnv } from "./env.ts";
import { type JobActionType } from "../domain/job-actions.ts";

type Action = (context: ActionContext) => Promise<void>;

/**
 * One function per JOB_ACTION_TYPE; each lives in its own file under actions/.
 * Loaded on demand: a worker runs one action, and the others' libraries (the
 * mailer, sharp, archive readers) would add about half a second to every
 * render child's start.
 */
const ACTIONS: Record<JobActionType, () => Promise<Action>> = {
  copy_efs: async () => (await import("./actions/copy-efs.ts")).copyEfs,
  render: async () => (await import("./actions/render.ts")).render,
  custom_render_python: async () => (await import("./actions/custom-render-python.ts")).customRenderPython,
  upload_render_output: async () => (await import("./actions/upload-render-output.ts")).uploadRenderOutput,
  remove_efs: async () => (await import("./actions/remove-efs.ts")).removeEfs,
};

/** Loads these actions' code ahead of their jobs (a warm worker thread waiting for its job does this). */
export async function preloadActions(types: readonly JobActionType[]): Promise<void> {
  await Promise.all(types.map((type) => ACTIONS[type]()));
}

export type WorkerOptions = {
  readonly env?: NodeJS.ProcessEnv;
  readonly signal?: AbortSignal;
  readonly stdout?: (line: string) => void;
  readonly log?: Logger;
};

/** How a job ended: the process exit code (0 done, 1 the job failed, 2 bad input) and, on failure, why. */
export type WorkerResult = { readonly exitCode: number; readonly error?: string };

/**
 * The worker entry point, the same on a laptop and in the AWS Batch container:
 * reads JOB_ACTION_TYPE and runs that one action. Logs are JSON lines on
 * stderr (pino); progress events are JSON lines on stdout.
 */
export async function runWorker(options: WorkerOptions = {}): Promise<WorkerResult> {
  let processEnv = options.env ?? process.env;
  const log = options.log ?? pino({ level: processEnv.BRENDER_LOG_LEVEL ?? "info" }, pino.destination(2));
  try {
    // The farm's publisher job (`--after-failed-upload ID`): publish and report a render whose upload Batch failed.
    const failedUpload = processEnv.BRENDER_AFTER_FAILED_UPLOAD?.trim();
    if (failedUpload) {
      const { batchClientFromEnv, planFailedUpload } = await import("./failed-upload.ts");
      const batch = batchClientFromEnv(processEnv);
      try {
        const plan = await planFailedUpload(failedUpload, processEnv, batch);
        if (!plan.publish) {
          log.info({ uploadJobId: failedUpload }, `nothing to publish: ${plan.why}`);
          return { exitCode: 0 };
        }
        processEnv = plan.env;
        log.warn({ uploadJobId: failedUpload, reason: plan.env.BRENDER_UPSTREAM_FAILURE }, "publishing a render whose upload job AWS Batch failed");
      } finally {
        batch.destroy();
      }
    }
    const env = parseWorkerEnv(processEnv);
    const context: ActionContext = {
      env,
      processEnv,
      paths: brenderPaths(processEnv),
      workFolder: workFolderOf(env, processEnv),
      store: await loadObjectStore(processEnv),
      log: log.child({ action: env.JOB_ACTION_TYPE, child: env.AWS_BATCH_JOB_ARRAY_INDEX }),
      signal: options.signal ?? new AbortController().signal,
      stdout: options.stdout ?? ((line) => process.stdout.write(line)),
    };
    const action = await ACTIONS[env.JOB_ACTION_TYPE]();
    context.log.info("job started");
    await action(context);
    context.log.info("job succeeded");
    return { exitCode: 0 };
  } catch (caught) {
    // A job that fills the disk names the folder (Node's write errors do not), how much is free, and what to do.
    const folder = processEnv.EFS_BLENDER_FOLDER_PATH || brenderPaths(processEnv).work;
    const error = !(caught instanceof BrenderError) && isDiskFull(caught, folder)
      ? new DiskFullError(diskFullFolder(caught, folder), { cause: caught })
      : caught;
    if (error instanceof BrenderError) {
      log.error({ exitCode: error.exitCode }, error.message);
      return { exitCode: error.exitCode, error: error.message };
    }
    log.error({ err: error }, "job failed with an unexpected error");
    return { exitCode: 1, error: `unexpected error: ${error instanceof Error ? error.message : String(error)}` };
  }
}

/**
 * Runs one job whose output goes to `fd`, its log file, instead of this
 * process's stdout and stderr: for a worker in a thread of the runner
 * (thread.ts) or one started before its job (spare.ts). The job's environment
 * replaces this one's, for code that reads process.env. On failure the last
 * line is "brender worker: <reason>", as `brender worker` prints it.
 */
export async function runWorkerInto(fd: number, env: Record<string, string>, signal: AbortSignal): Promise<WorkerResult> {
  for (const key of Object.keys(process.env)) delete process.env[key];
  Object.assign(process.env, env);
  const write = (text: string) => writeSync(fd, text);
  const log = pino({ level: env.BRENDER_LOG_LEVEL ?? "info" }, pino.destination({ fd, sync: true }));
  const result = await runWorker({ env, signal, stdout: write, log });
  if (result.error) write(`brender worker: ${result.error}\n`);
  return result;
}
