import type { FastifyInstance } from "fastify";
import type { ServerContext } from "../context.ts";
import { ApiError } from "../http-errors.ts";
import { IncomingUpload } from "../uploads.ts";

/**
 * POST /api/uploads: stores a .blend, a .zip (unpacked at once, to list its
 * .blend files) or a folder sent as many `file` parts named by their paths
 * inside it, for later inspection and submission by uploadId. A folder is
 * held to the same limits as an unpacked archive (BRENDER_MAX_UNPACK_ENTRIES,
 * BRENDER_MAX_UNPACK_BYTES, 8 GiB by default); any refused part refuses the whole upload.
 */
export function registerUploadRoutes(app: FastifyInstance, context: ServerContext): void {
  const limits = context.uploadLimits;
  app.post("/api/uploads", async (request, reply) => {
    if (!request.isMultipart()) {
      throw new ApiError(415, "send the upload as multipart/form-data: a .blend or .zip in a file field, or a folder's files as file fields named by their paths.", "file");
    }
    const upload = await IncomingUpload.start(context.uploadsDir, limits);
    try {
      // busboy keeps only a file name's last segment unless told to keep the path; one part past the limit is read so it can be refused by name.
      const parts = request.parts({ preservePath: true, limits: { files: limits.maxEntries + 1, parts: limits.maxEntries + 10 } });
      for await (const part of parts) {
        if (part.fieldname !== "file" || part.type !== "file") {
          if (part.type === "file") part.file.resume();
          throw new ApiError(400, `${part.fieldname}: unknown form field; send only "file" fields.`, part.fieldname);
        }
        await upload.addFile(part.filename, part.file);
      }
      const received = await upload.finish();
      return reply.code(201).send({ uploadId: received.id, kind: received.kind, name: received.name, blendFiles: received.blendFiles });
    } catch (error) {
      await upload.discard();
      throw error;
    }
  });
}
