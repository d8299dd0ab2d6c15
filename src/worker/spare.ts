/**
 * `brender worker --job-on-stdin`: a worker process the local farm's runner
 * starts before it has a job for it (a spare, see
 * src/backends/local/spare-worker.ts), so that a render child does not wait
 * for a Node start and the loading of the render action's modules: that
 * happens while the copy job runs, or while the previous child renders.
 *
 * Protocol: the runner writes one line to stdin, the job as JSON
 * ({ env, logFile }), then keeps the pipe open and writes nothing more (its
 * closing means the runner is gone, as for every worker it starts). The job's
 * environment replaces this process's; its progress events, log lines and
 * final "brender worker: <reason>" line are appended to logFile, as a worker
 * started for the job would write them to its stdout and stderr. Stdin closed
 * before a job came: exit 0, nothing done.
 */
import { openSync } from "node:fs";
import { discardWarmBlender, startWarmBlender } from "../blender/warm-blender.ts";
import type { JobActionType } from "../domain/job-actions.ts";
import { parentGoneSignal } from "./parent-gone.ts";

/** The actions spares are for: those the runner runs as processes (Node-only actions run in its threads). */
const SPARE_ACTIONS: readonly JobActionType[] = ["render"];

/**
 * `warmBlender`: also start Blender, for the render child this spare is about
 * to get (see warm-blender.ts). Blender starts before anything else loads
 * (this module imports only what that needs): it has the longest way to go.
 */
export async function runSpareWorker(termination: AbortSignal, options: { warmBlender?: boolean } = {}): Promise<number> {
  if (options.warmBlender) startWarmBlender(process.env);
  const [{ preloadActions, runWorkerInto }, { parseSpareJob }] = await Promise.all([import("./main.ts"), import("./spare-job.ts")]);
  await preloadActions(SPARE_ACTIONS);
  const line = await firstLine(process.stdin);
  if (line === undefined) {
    discardWarmBlender();
    return 0;
  }
  const job = parseSpareJob(line);
  const parent = parentGoneSignal();
  try {
    return (await runWorkerInto(openSync(job.logFile, "a"), job.env, AbortSignal.any([termination, parent.signal]))).exitCode;
  } finally {
    discardWarmBlender();
    parent.release();
  }
}

/** The first line of `input` (without its newline), or undefined when it ends first; the stream is left paused after it. */
function firstLine(input: NodeJS.ReadableStream): Promise<string | undefined> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const onData = (chunk: Buffer) => {
      const newline = chunk.indexOf(0x0a);
      if (newline === -1) {
        chunks.push(chunk);
        return;
      }
      chunks.push(chunk.subarray(0, newline));
      done();
      resolve(Buffer.concat(chunks).toString("utf8"));
    };
    const onEnd = () => {
      done();
      resolve(undefined);
    };
    const onError = (error: Error) => {
      done();
      reject(error);
    };
    const done = () => {
      input.off("data", onData);
      input.off("end", onEnd);
      input.off("error", onError);
      input.pause();
    };
    input.on("data", onData);
    input.on("end", onEnd);
    input.on("error", onError);
  });
}
