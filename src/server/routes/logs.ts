import { createReadStream } from "node:fs";
import { open, stat } from "node:fs/promises";
import type { FastifyInstance, FastifyRequest } from "fastify";
import { isInFlight } from "../../domain/job-status.ts";
import type { AttemptView, ChildView, JobView } from "../../backends/local/job-store.ts";
import { renderJobs, type LocalFarm } from "../../backends/local/farm.ts";
import { renderLogFiles } from "../../cli/render-control.ts";
import { findRenderRecord } from "../../backends/aws/render-record.ts";
import type { ServerContext } from "../context.ts";
import { ApiError } from "../http-errors.ts";
import { renderIdParamsSchema } from "../schemas.ts";

/** One attempt's log of a render's newest submission, as GET /api/renders/:id/log-files lists it. */
export type LogFileView = {
  id: string;
  action: string;
  /** The array child, or null for a job that is not an array. */
  child: number | null;
  attempt: number;
  status?: string;
  reason?: string;
  size: number;
  url: string;
};

/** A log's id: "render-3-a1" (child 3 of an array job, attempt 1) or "copy_efs-a1"; stable for a submission. */
export function logFileId(action: string, child: number | null, attempt: number): string {
  return child === null ? `${action}-a${attempt}` : `${action}-${child}-a${attempt}`;
}

const LOG_FILE_ID = /^[a-z_]{1,40}(?:-\d{1,6})?-a\d{1,3}$/;

/**
 * How one attempt went: ended (SUCCEEDED, or FAILED with a reason), the
 * child's state while it is the child's current attempt, else unknown.
 */
export function attemptStatus(attempt: AttemptView, child: ChildView): { status?: string; reason?: string } {
  if (attempt.stoppedAt !== undefined) {
    const failed = attempt.reason !== undefined || (attempt.exitCode !== undefined && attempt.exitCode !== 0);
    return failed ? { status: "FAILED", ...(attempt.reason ? { reason: attempt.reason } : {}) } : { status: "SUCCEEDED" };
  }
  if (child.attempt === attempt.attempt && isInFlight(child.status)) return { status: child.status };
  return {};
}

/** Every attempt that has a log file, in job order (copy, render children by index, upload), children and attempts ascending. */
export async function listLogFiles(farm: LocalFarm, renderId: string): Promise<(LogFileView & { path: string })[]> {
  return Promise.all(
    renderLogFiles(farm, renderId).map(async ({ job, child, attempt, logFile }) => {
      const id = logFileId(job.action, childOf(job, child), attempt.attempt);
      return {
        id,
        action: job.action,
        child: childOf(job, child),
        attempt: attempt.attempt,
        ...attemptStatus(attempt, child),
        size: (await stat(logFile).catch(() => undefined))?.size ?? 0,
        url: `/api/renders/${renderId}/log-files/${id}`,
        path: logFile,
      };
    }),
  );
}

function childOf(job: JobView, child: ChildView): number | null {
  return job.arraySize > 1 ? child.index : null;
}

/**
 * The end of a file from a line start, at most `tail` bytes: `end` is the
 * file's last min(size, tail + 1) bytes, so its first byte (when the file is
 * longer than `tail`) tells whether the window already starts a line.
 */
export function tailFrom(end: Buffer, tail: number): Buffer {
  if (end.length <= tail) return end;
  const newline = end.indexOf(0x0a);
  return newline < 0 ? Buffer.alloc(0) : end.subarray(newline + 1);
}

async function readTail(path: string, tail: number): Promise<string> {
  const handle = await open(path, "r");
  try {
    const { size } = await handle.stat();
    const length = Math.min(size, tail + 1);
    const buffer = Buffer.alloc(length);
    const { bytesRead } = await handle.read(buffer, 0, length, size - length);
    return tailFrom(buffer.subarray(0, bytesRead), tail).toString("utf8");
  } finally {
    await handle.close();
  }
}

/**
 * GET /api/renders/:id/log-files (one entry per job, child and attempt) and
 * GET /api/renders/:id/log-files/:logId (that log as text, `?tail=N`: its
 * last N bytes from a line start). GET /api/renders/:id/logs still has them all in one.
 */
export function registerLogRoutes(app: FastifyInstance, context: ServerContext): void {
  const { farm } = context;

  const localRender = async (request: FastifyRequest): Promise<string> => {
    const id = (request.params as { id?: string }).id ?? "";
    const parsed = renderIdParamsSchema.safeParse({ id });
    if (parsed.success && renderJobs(farm, id).length > 0) return id;
    if (parsed.success && (await findRenderRecord(context.home, id).catch(() => undefined))) {
      throw new ApiError(404, `Render "${id}" runs on AWS; this API shows local renders only, use 'brender logs ${id}'.`);
    }
    throw new ApiError(404, `No render "${id}"; GET /api/renders lists them.`);
  };

  app.get("/api/renders/:id/log-files", async (request) => {
    const renderId = await localRender(request);
    return (await listLogFiles(farm, renderId)).map(({ path: _path, ...view }) => view);
  });

  app.get("/api/renders/:id/log-files/:logId", async (request, reply) => {
    const renderId = await localRender(request);
    const { logId } = request.params as { logId: string };
    const tailText = (request.query as Record<string, unknown>).tail;
    let tail: number | undefined;
    if (tailText !== undefined) {
      tail = typeof tailText === "string" && /^\d{1,15}$/.test(tailText) ? Number(tailText) : NaN;
      if (!(tail >= 1)) throw new ApiError(400, `tail "${String(tailText)}" must be a whole number of bytes, 1 or more; e.g. ?tail=65536.`, "tail");
    }
    const found = LOG_FILE_ID.test(logId) ? (await listLogFiles(farm, renderId)).find((file) => file.id === logId) : undefined;
    if (!found) throw new ApiError(404, `Render ${renderId} has no log "${logId}"; GET /api/renders/${renderId}/log-files lists them.`);
    reply.type("text/plain; charset=utf-8").header("cache-control", "no-cache");
    // A log not written yet (the attempt is starting) reads as empty.
    if (!(await stat(found.path).catch(() => undefined))) return reply.send("");
    if (tail !== undefined) return reply.send(await readTail(found.path, tail));
    return reply.send(createReadStream(found.path));
  });
}
