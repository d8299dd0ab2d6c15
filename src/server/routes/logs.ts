import { createReadStream } from "node:fs";
import { open, stat } from "node:fs/promises";
import type { FastifyInstance, FastifyRequest } from "fastify";
import type { RenderBackend } from "../../renders/backend.ts";
import type { ServerContext } from "../context.ts";
import { ApiError } from "../http-errors.ts";
import { renderIdParamsSchema } from "../schemas.ts";

const LOG_FILE_ID = /^[a-z_]{1,40}(?:-\d{1,6})?-a\d{1,3}$/;

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
  /** A render whose backend keeps one log file per attempt (the local farm; AWS keeps its logs in CloudWatch). */
  const withLogFiles = async (request: FastifyRequest): Promise<{ renderId: string; logFiles: NonNullable<RenderBackend["logFiles"]> }> => {
    const id = (request.params as { id?: string }).id ?? "";
    const found = renderIdParamsSchema.safeParse({ id }).success ? await context.renders.find(id, { exact: true }).catch(() => undefined) : undefined;
    if (!found) throw new ApiError(404, `No render "${id}"; GET /api/renders lists them.`);
    const { backend, renderId } = found;
    if (!backend.logFiles) throw new ApiError(404, `Render "${id}" runs on AWS; this API shows local renders only, use 'brender logs ${id}'.`);
    return { renderId, logFiles: (renderId) => backend.logFiles!(renderId) };
  };

  app.get("/api/renders/:id/log-files", async (request) => {
    const { renderId, logFiles } = await withLogFiles(request);
    return (await logFiles(renderId)).map(({ path: _path, ...view }) => view);
  });

  app.get("/api/renders/:id/log-files/:logId", async (request, reply) => {
    const { renderId, logFiles } = await withLogFiles(request);
    const { logId } = request.params as { logId: string };
    const tailText = (request.query as Record<string, unknown>).tail;
    let tail: number | undefined;
    if (tailText !== undefined) {
      tail = typeof tailText === "string" && /^\d{1,15}$/.test(tailText) ? Number(tailText) : NaN;
      if (!(tail >= 1)) throw new ApiError(400, `tail "${String(tailText)}" must be a whole number of bytes, 1 or more; e.g. ?tail=65536.`, "tail");
    }
    const found = LOG_FILE_ID.test(logId) ? (await logFiles(renderId)).find((file) => file.id === logId) : undefined;
    if (!found) throw new ApiError(404, `Render ${renderId} has no log "${logId}"; GET /api/renders/${renderId}/log-files lists them.`);
    reply.type("text/plain; charset=utf-8").header("cache-control", "no-cache");
    // A log not written yet (the attempt is starting) reads as empty.
    if (!(await stat(found.path).catch(() => undefined))) return reply.send("");
    if (tail !== undefined) return reply.send(await readTail(found.path, tail));
    return reply.send(createReadStream(found.path));
  });
}
