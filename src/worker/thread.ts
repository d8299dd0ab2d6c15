/**
 * `brender worker` as a worker thread of the local farm's runner, for the
 * actions that are Node code (copy, upload): no Node start per job, and the
 * action's modules are loaded while the thread waits for its job (the runner
 * keeps one such thread warm). One job per thread; a thread that throws or is
 * terminated ends alone, the runner and its other jobs go on. Blender is never
 * run this way: the render stays a process of its own.
 *
 * Messages: the runner sends { type: "job", env, logFd } once, then maybe
 * { type: "abort" }; the thread answers { type: "done", exitCode, error }.
 * Logs and progress lines go to logFd, as `brender worker`'s stdout and stderr
 * would; on failure the last line is "brender worker: <reason>", as there.
 */
import { parentPort, workerData } from "node:worker_threads";
import type { JobActionType } from "../domain/job-actions.ts";
import { preloadActions, runWorkerInto } from "./main.ts";

export type ThreadJob = { readonly type: "job"; readonly env: Record<string, string>; readonly logFd: number };
export type ThreadDone = { readonly type: "done"; readonly exitCode: number; readonly error?: string };

const port = parentPort!;
await preloadActions((workerData as { preload: JobActionType[] }).preload);

const controller = new AbortController();
port.on("message", (message: ThreadJob | { type: "abort" }) => {
  if (message.type === "abort") controller.abort(new Error("the job was terminated"));
  else void run(message);
});

async function run(job: ThreadJob): Promise<void> {
  const result = await runWorkerInto(job.logFd, job.env, controller.signal);
  port.postMessage({ type: "done", exitCode: result.exitCode, ...(result.error ? { error: result.error } : {}) } satisfies ThreadDone);
  port.close();
}
