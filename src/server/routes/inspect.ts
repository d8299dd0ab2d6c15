import type { FastifyInstance } from "fastify";
import { inspectBlendFile } from "../../blender/inspect.ts";
import { UserInputError } from "../../errors.ts";
import type { ServerContext } from "../context.ts";
import { ApiError } from "../http-errors.ts";
import { removeUpload, saveUpload, type StoredUpload } from "../uploads.ts";

/** POST /api/inspect: stores an uploaded .blend and describes it (scenes, cameras, layers, external files). */
export function registerInspectRoutes(app: FastifyInstance, context: ServerContext): void {
  app.post("/api/inspect", async (request) => {
    if (!request.isMultipart()) throw new ApiError(415, "send the .blend as multipart/form-data, in a file field.", "file");
    let upload: StoredUpload | undefined;
    try {
      for await (const part of request.parts()) {
        if (part.type !== "file") continue;
        if (upload) throw new ApiError(400, "file: send one .blend to inspect.", "file");
        upload = await saveUpload(context.uploadsDir, part.filename, part.file, ["blend"]);
      }
      if (!upload) throw new ApiError(400, "file: missing; send the .blend as a file field.", "file");
      const inspection = await inspectBlendFile(upload.file, { env: context.env });
      return { ...inspection, uploadId: upload.id };
    } catch (error) {
      if (upload) await removeUpload(upload);
      if (error instanceof UserInputError) throw new ApiError(400, upload ? error.message.split(upload.file).join(upload.name) : error.message, "file");
      throw error;
    }
  });
}
