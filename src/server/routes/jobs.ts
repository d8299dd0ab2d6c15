import { createReadStream } from "node:fs";
import { basename, extname, join } from "node:path";
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import type { FoundOutput } from "../../renders/backend.ts";
import type { FoundRender } from "../../renders/renders.ts";
import { FsObjectStore } from "../../storage/fs-store.ts";
import type { ServerContext } from "../context.ts";
import { FramePreviews, hasPreview, parsePreviewSize, type PreviewSource } from "../frame-previews.ts";
import { ApiError } from "../http-errors.ts";
import { describeZodError, renderIdParamsSchema, renderSettingsSchema, submitUploadedSchema, type RenderSettings } from "../schemas.ts";
import { submitUploadedRender } from "../submit.ts";
import { loadUpload, recordRenderOf, removeUpload, saveUpload, type StoredUpload } from "../uploads.ts";

const CONTENT_TYPES: Record<string, string> = {
  ".png": "image/png",
  ".jpg": "image/jpeg",
  ".jpeg": "image/jpeg",
  ".exr": "image/x-exr",
  ".hdr": "image/vnd.radiance",
  ".tif": "image/tiff",
  ".tiff": "image/tiff",
  ".bmp": "image/bmp",
  ".webp": "image/webp",
  ".dpx": "image/x-dpx",
  ".cin": "image/x-cineon",
  ".mp4": "video/mp4",
  ".mov": "video/quicktime",
  ".mkv": "video/x-matroska",
  ".avi": "video/x-msvideo",
  ".zip": "application/zip",
  ".json": "application/json",
  ".txt": "text/plain; charset=utf-8",
  ".log": "text/plain; charset=utf-8",
};

/** The Content-Type of an output, by its extension. */
export function contentTypeOf(name: string): string {
  return CONTENT_TYPES[extname(name).toLowerCase()] ?? "application/octet-stream";
}

/**
 * The path segments of an output request, or undefined when it could name
 * something outside the render's outputs (.., ., empty segments, backslashes, NUL).
 */
export function outputSegments(path: string): string[] | undefined {
  let decoded: string;
  try {
    decoded = decodeURIComponent(path);
  } catch {
    return undefined;
  }
  const segments = decoded.split("/");
  if (segments.some((segment) => segment === "" || segment === "." || segment === ".." || /[\\\0]/.test(segment))) return undefined;
  return segments;
}

/** Render, list, steer and download routes: /api/renders… */
export function registerJobRoutes(app: FastifyInstance, context: ServerContext): void {
  const { renders } = context;
  const previews = new FramePreviews(join(context.home, "cache", "previews"));

  /** The render a request names, exactly, and the backend it runs on (404 when none). */
  const renderOf = async (request: FastifyRequest): Promise<FoundRender> => {
    const id = (request.params as { id?: string }).id ?? "";
    const missing = () => new ApiError(404, `No render "${id}"; GET /api/renders lists them.`);
    if (!renderIdParamsSchema.safeParse(request.params).success) throw missing();
    return renders.find(id, { exact: true }).catch(() => {
      throw missing();
    });
  };

  app.post("/api/renders", async (request, reply) => {
    let upload: StoredUpload | undefined;
    let settings: RenderSettings;
    let fresh = false;
    if (request.isMultipart()) {
      let settingsText: string | undefined;
      try {
        for await (const part of request.parts()) {
          if (part.type === "file") {
            if (upload) throw new ApiError(400, "file: send one .blend or .zip per render.", "file");
            upload = await saveUpload(context.uploadsDir, part.filename, part.file, ["blend", "zip"]);
            fresh = true;
          } else if (part.fieldname === "settings") {
            settingsText = String(part.value);
          } else {
            throw new ApiError(400, `${part.fieldname}: unknown form field; send "file" and "settings".`, part.fieldname);
          }
        }
        if (!upload) throw new ApiError(400, "file: missing; send the .blend or zipped project as a file field.", "file");
        settings = parseSettings(settingsText);
      } catch (error) {
        if (upload) await removeUpload(upload);
        throw error;
      }
    } else {
      const parsed = submitUploadedSchema.safeParse(request.body ?? {});
      if (!parsed.success) {
        const { message, field } = describeZodError(parsed.error, "");
        throw new ApiError(400, message, field);
      }
      upload = await loadUpload(context.uploadsDir, parsed.data.uploadId);
      if (!upload) throw new ApiError(400, `uploadId: no upload "${parsed.data.uploadId}" on this server; upload the file again.`, "uploadId");
      settings = parsed.data.settings;
    }
    try {
      const { renderId, warnings } = await submitUploadedRender(context, upload, settings);
      // Uploads renders came from are kept by the cleanup (isStaleUpload).
      await recordRenderOf(upload, renderId);
      return reply.code(202).send({ renderId, ...(warnings.length > 0 ? { warnings } : {}) });
    } catch (error) {
      // A fresh upload that did not become a render is of no use to anyone.
      if (fresh) await removeUpload(upload);
      throw error;
    }
  });

  app.get("/api/renders", async () => renders.list());

  app.get("/api/renders/:id", async (request) => {
    const { backend, renderId } = await renderOf(request);
    return backend.get(renderId);
  });

  app.post("/api/renders/:id/cancel", async (request, reply) => {
    const { backend, renderId } = await renderOf(request);
    const result = await backend.cancel(renderId);
    return reply.code(202).send({ renderId, ...result });
  });

  app.post("/api/renders/:id/retry", async (request, reply) => {
    const { backend, renderId } = await renderOf(request);
    await backend.retry(renderId);
    return reply.code(202).send({ renderId });
  });

  app.get("/api/renders/:id/logs", async (request, reply) => {
    const { backend, renderId } = await renderOf(request);
    const parts: string[] = [];
    for await (const part of backend.logs(renderId)) parts.push(part);
    return reply.type("text/plain; charset=utf-8").send(parts.join(""));
  });

  app.get("/api/renders/:id/outputs", async (request) => {
    const { backend, renderId } = await renderOf(request);
    return backend.outputs(renderId);
  });

  app.get("/api/renders/:id/outputs/*", async (request, reply) => {
    const { backend, renderId } = await renderOf(request);
    const path = (request.params as { "*"?: string })["*"] ?? "";
    const segments = outputSegments(path);
    if (!segments) throw new ApiError(400, `output path "${path}" is not a path inside the render's outputs; use a name GET /api/renders/${renderId}/outputs lists.`);
    const preview = (request.query as Record<string, unknown>).preview;
    const size = preview === undefined ? undefined : parsePreviewSize(preview);
    const name = segments.join("/");
    if (size !== undefined && !hasPreview(name)) throw new ApiError(400, `"${name}" is not an image; previews are made of frames and thumbnails only.`, "preview");
    const missing = () => new ApiError(404, `Render ${renderId} has no output "${name}"; GET /api/renders/${renderId}/outputs lists them.`);
    if (size !== undefined) {
      // A preview needs the source's size (part of the cache key) and, only when not cached yet, its bytes.
      const source = await backend.previewSource(renderId, segments);
      if (!source) throw missing();
      const open = (): PreviewSource => (source.kind === "download" ? { kind: "download", to: source.download } : { kind: "file", path: source.path });
      const jpeg = await previews.preview(renderId, name, size, open, source.size);
      return reply.type("image/jpeg").header("cache-control", "no-cache").send(createReadStream(jpeg));
    }
    const found = await backend.openOutput(renderId, segments);
    if (!found) throw missing();
    return sendOutput(request, reply, found, segments.at(-1)!);
  });
}

function parseSettings(text: string | undefined): RenderSettings {
  let value: unknown = {};
  if (text !== undefined && text.trim() !== "") {
    try {
      value = JSON.parse(text);
    } catch {
      throw new ApiError(400, 'settings: not valid JSON; send the settings as a JSON object, e.g. {"frames":"1-10"}.', "settings");
    }
  }
  const parsed = renderSettingsSchema.safeParse(value);
  if (!parsed.success) {
    const { message, field } = describeZodError(parsed.error, "settings");
    throw new ApiError(400, message, field);
  }
  return parsed.data;
}

async function sendOutput(
  request: FastifyRequest,
  reply: FastifyReply,
  found: FoundOutput,
  name: string,
): Promise<FastifyReply> {
  reply.type(contentTypeOf(name)).header("content-length", found.size).header("cache-control", "no-cache");
  if ((request.query as Record<string, unknown>).download !== undefined) {
    reply.header("content-disposition", `attachment; filename="${basename(name).replace(/["\\]/g, "_")}"`);
  }
  if (found.kind === "file") return reply.send(createReadStream(found.path));
  if (found.kind === "stream") return reply.send(found.body);
  // The folder store streams from disk; other stores hand over the bytes.
  if (found.objects instanceof FsObjectStore) return reply.send(createReadStream(found.objects.describe(found.key)));
  return reply.send(await found.objects.getBytes(found.key));
}
