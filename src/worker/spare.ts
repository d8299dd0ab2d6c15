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
import { openSync, writeSync } from "node:fs";
import { pino } from "pino";
import { z } from "zod";
import { UserInputError } from "../errors.ts";
import { preloadActions, runWorker } from "./main.ts";
import { parentGoneSignal } from "./parent-gone.ts";

export const spareJobSchema = z.object({ env: z.record(z.string(), z.string()), logFile: z.string().min(1) });
export type SpareJob = z.infer<typeof spareJobSchema>;

/** The actions spares are for: those the runner runs as processes (Node-only actions run in its threads). */
const SPARE_ACTIONS = ["render"] as const;

export async function runSpareWorker(termination: AbortSignal): Promise<number> {
  await preloadActions(SPARE_ACTIONS);
  const line = await firstLine(process.stdin);
  if (line === undefined) return 0;
  const job = parseJob(line);
  // Code that reads process.env (Blender's environment, the SDKs) sees the job's, as in a worker started for it.
  for (const key of Object.keys(process.env)) delete process.env[key];
  Object.assign(process.env, job.env);
  const logFd = openSync(job.logFile, "a");
  const write = (text: string) => writeSync(logFd, text);
  const log = pino({ level: job.env.BRENDER_LOG_LEVEL ?? "info" }, pino.destination({ fd: logFd, sync: true }));
  const parent = parentGoneSignal();
  try {
    const result = await runWorker({ env: job.env, signal: AbortSignal.any([termination, parent.signal]), stdout: write, log });
    if (result.error) write(`brender worker: ${result.error}\n`);
    return result.exitCode;
  } finally {
    parent.release();
  }
}

function parseJob(line: string): SpareJob {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    throw new UserInputError("--job-on-stdin: the first line on stdin is not JSON; the runner sends {\"env\": {...}, \"logFile\": \"...\"}");
  }
  const parsed = spareJobSchema.safeParse(value);
  if (!parsed.success) {
    throw new UserInputError(`--job-on-stdin: the job on stdin is invalid (${parsed.error.issues.map((issue) => `${issue.path.join(".") || "job"}: ${issue.message}`).join("; ")}); the runner sends {"env": {...}, "logFile": "..."}`);
  }
  return parsed.data;
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
