import type { FastifyInstance } from "fastify";
import { inspectBlendFile } from "../../blender/inspect.ts";
import { UserInputError } from "../../errors.ts";
import type { ServerContext } from "../context.ts";
import { ApiError } from "../http-errors.ts";
import { projectRootOf } from "../../packing/pack.ts";
import { notInUpload } from "../../packing/upload-check.ts";
import { unmappedDependencies } from "../../packing/uploaded-map.ts";
import { describeZodError, inspectUploadedSchema } from "../schemas.ts";
import { loadUpload, projectOf, removeUpload, saveUpload, type StoredUpload } from "../uploads.ts";

/**
 * POST /api/inspect: describes a .blend (scenes, cameras, layers, external
 * files): one sent as multipart (stored, for a later submission by uploadId),
 * or, as JSON { uploadId, blend? }, one inside an earlier upload.
 */
export function registerInspectRoutes(app: FastifyInstance, context: ServerContext): void {
  app.post("/api/inspect", async (request) => {
    if (!request.isMultipart()) {
      if (!/^application\/json\b/i.test(request.headers["content-type"] ?? "")) {
        throw new ApiError(415, 'send the .blend as multipart/form-data in a file field, or JSON {"uploadId": …, "blend": …} for an earlier upload.', "file");
      }
      return inspectEarlierUpload(context, request.body);
    }
    let upload: StoredUpload | undefined;
    try {
      for await (const part of request.parts()) {
        if (part.type !== "file") continue;
        if (upload) throw new ApiError(400, "file: send one .blend to inspect.", "file");
        upload = await saveUpload(context.uploadsDir, part.filename, part.file, ["blend"]);
      }
      if (!upload) throw new ApiError(400, "file: missing; send the .blend as a file field.", "file");
      const inspection = await inspectBlendFile(upload.file, { env: context.env });
      return { ...inspection, uploadId: upload.id, notInUpload: notInUpload(inspection.dependencies ?? [], upload.dir) };
    } catch (error) {
      if (upload) await removeUpload(upload);
      if (error instanceof UserInputError) throw new ApiError(400, upload ? error.message.split(upload.file).join(upload.name) : error.message, "file");
      throw error;
    }
  });
}

/** Inspects the .blend `blend` names in an earlier upload (optional when it holds one); the upload is kept whatever the outcome. */
async function inspectEarlierUpload(context: ServerContext, body: unknown) {
  const parsed = inspectUploadedSchema.safeParse(body ?? {});
  if (!parsed.success) {
    const { message, field } = describeZodError(parsed.error, "");
    throw new ApiError(400, message, field);
  }
  const upload = await loadUpload(context.uploadsDir, parsed.data.uploadId);
  if (!upload) throw new ApiError(400, `uploadId: no upload "${parsed.data.uploadId}" on this server; upload the files again.`, "uploadId");
  const { source, blendPath, blendFile } = await projectOf(upload, parsed.data.blend, context.uploadLimits, "blend");
  try {
    const inspection = await inspectBlendFile(blendPath, { env: context.env });
    return { ...inspection, uploadId: upload.id, notInUpload: notInUpload(await unmappedDependencies(inspection.dependencies ?? [], projectRootOf(source)), projectRootOf(source)) };
  } catch (error) {
    // Name the file as the client knows it, not by where the server keeps it.
    if (error instanceof UserInputError) throw new ApiError(400, error.message.split(blendPath).join(upload.kind === "blend" ? upload.name : blendFile), "blend");
    throw error;
  }
}
