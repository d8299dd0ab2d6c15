import { createHash, randomBytes } from "node:crypto";
import { createReadStream, createWriteStream } from "node:fs";
import { mkdir, rename, rm } from "node:fs/promises";
import { dirname, join } from "node:path";
import { Transform, type Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import type { FastifyInstance } from "fastify";
import { z } from "zod";
import { blobPath, hasBlob } from "../blob-store.ts";
import type { ServerContext } from "../context.ts";
import { ApiError } from "../http-errors.ts";
import { describeZodError } from "../schemas.ts";
import { IncomingUpload } from "../uploads.ts";

/**
 * Content-addressed uploads (the Blender add-on): every file a project
 * upload brings is kept once by its SHA-256 in `$BRENDER_HOME/blobs/`, so a
 * project sent again with one changed texture sends only that texture.
 *
 * POST /api/blobs/missing {hashes} answers which of them the server lacks;
 * POST /api/blobs/uploads (multipart: a `files` field listing every
 * {path, sha256}, then one `blob` part per lacking hash, named by it)
 * builds an ordinary upload (same paths, rules and limits as POST
 * /api/uploads) from stored blobs plus the new ones, and answers as it does.
 */

const SHA256 = /^[0-9a-f]{64}$/;
const sha256Schema = z.string().regex(SHA256, "must be a SHA-256 in 64 lowercase hex digits");

export const missingBlobsSchema = z.strictObject({
  hashes: z.array(sha256Schema).max(1_000_000).describe("SHA-256 of each file the client would upload"),
});

export const blobUploadFilesSchema = z
  .array(z.strictObject({ path: z.string().min(1).describe("the file's path in the project folder, as POST /api/uploads names parts"), sha256: sha256Schema }))
  .min(1, "list at least the .blend");

const errorResponse = (description: string) => ({ description, content: { "application/json": { schema: { $ref: "#/components/schemas/Error" } } } });

/** The two routes' OpenAPI path items (spread into the document by routes/openapi.ts). */
export function blobOpenApiPaths(): Record<string, unknown> {
  const errors = { "400": errorResponse("bad input; `field` names the bad field"), "401": errorResponse("missing or wrong token (servers bound beyond loopback)") };
  return {
    "/api/blobs/missing": {
      post: {
        summary: "Which of these SHA-256 file contents the server lacks (content-addressed uploads)",
        requestBody: { required: true, content: { "application/json": { schema: z.toJSONSchema(missingBlobsSchema, { io: "input" }) } } },
        responses: { "200": { description: "the hashes to send", content: { "application/json": { schema: { type: "object", properties: { missing: { type: "array", items: { type: "string" } } }, required: ["missing"] } } } }, ...errors },
      },
    },
    "/api/blobs/uploads": {
      post: {
        summary: "Build an upload from stored file contents plus the new ones: a `files` field listing every {path, sha256}, then one `blob` part per lacking hash, named by it",
        requestBody: {
          required: true,
          content: { "multipart/form-data": { schema: { type: "object", required: ["files"], properties: {
            files: { type: "string", description: `JSON: ${JSON.stringify(z.toJSONSchema(blobUploadFilesSchema, { io: "input" }))}` },
            blob: { type: "array", items: { type: "string", format: "binary" }, description: "the content of each hash POST /api/blobs/missing named, the part's file name being the hash" },
          } } } },
        },
        responses: { "201": { description: "stored, as POST /api/uploads answers", content: { "application/json": { schema: { $ref: "#/components/schemas/Upload" } } } }, ...errors, "415": errorResponse("not multipart/form-data") },
      },
    },
  };
}

export function blobsDirOf(context: Pick<ServerContext, "uploadsDir">): string {
  return join(dirname(context.uploadsDir), "blobs");
}


/** Streams a part into the store, refusing it (nothing kept) when its content does not have the hash it is named by. */
async function storeBlob(blobsDir: string, hash: string, content: Readable): Promise<void> {
  const target = blobPath(blobsDir, hash);
  await mkdir(dirname(target), { recursive: true });
  const partial = `${target}.${randomBytes(6).toString("hex")}.partial`;
  const digest = createHash("sha256");
  const hashing = new Transform({ transform(chunk: Buffer, _encoding, done) { digest.update(chunk); done(null, chunk); } });
  try {
    await pipeline(content, hashing, createWriteStream(partial, { flags: "wx" }));
    const actual = digest.digest("hex");
    if (actual !== hash) throw new ApiError(400, `blob ${hash}: its content has SHA-256 ${actual}; name each blob part by its content's SHA-256.`, "blob");
    await rename(partial, target);
  } finally {
    await rm(partial, { force: true });
  }
}

function parsed<T>(schema: z.ZodType<T>, value: unknown, field: string): T {
  const result = schema.safeParse(value);
  if (!result.success) {
    const { message, field: at } = describeZodError(result.error, field);
    throw new ApiError(400, message, at);
  }
  return result.data;
}

export function registerBlobRoutes(app: FastifyInstance, context: ServerContext): void {
  const blobsDir = blobsDirOf(context);
  const limits = context.uploadLimits;

  app.post("/api/blobs/missing", async (request) => {
    const { hashes } = parsed(missingBlobsSchema, request.body, "");
    const missing: string[] = [];
    for (const hash of new Set(hashes)) if (!(await hasBlob(blobsDir, hash))) missing.push(hash);
    return { missing };
  });

  app.post("/api/blobs/uploads", async (request, reply) => {
    if (!request.isMultipart()) throw new ApiError(415, 'send multipart/form-data: a "files" field, then one "blob" part per hash POST /api/blobs/missing named.', "files");
    let files: z.output<typeof blobUploadFilesSchema> | undefined;
    const parts = request.parts({ limits: { files: limits.maxEntries + 1, parts: limits.maxEntries + 10, fieldSize: 64 * 1024 ** 2, fileSize: limits.maxTotalBytes } });
    for await (const part of parts) {
      if (part.type === "field" && part.fieldname === "files") {
        let json: unknown;
        try {
          json = JSON.parse(String(part.value));
        } catch {
          throw new ApiError(400, 'files: not JSON; send [{"path": …, "sha256": …}, …].', "files");
        }
        files = parsed(blobUploadFilesSchema, json, "files");
      } else if (part.type === "file" && part.fieldname === "blob" && SHA256.test(part.filename)) {
        await storeBlob(blobsDir, part.filename, part.file);
      } else {
        if (part.type === "file") part.file.resume();
        throw new ApiError(400, `${part.fieldname}: unknown form field; send a "files" field and "blob" parts named by their SHA-256.`, part.fieldname);
      }
    }
    if (!files) throw new ApiError(400, 'files: missing; send the list of {"path", "sha256"} as a "files" field.', "files");
    for (const { path, sha256 } of files) {
      if (!(await hasBlob(blobsDir, sha256))) throw new ApiError(400, `files: "${path}" has content ${sha256} the server lacks; send it as a "blob" part (POST /api/blobs/missing lists what to send).`, "files");
    }
    const upload = await IncomingUpload.start(context.uploadsDir, limits);
    try {
      for (const { path, sha256 } of files) await upload.addFile(path, createReadStream(blobPath(blobsDir, sha256)));
      const received = await upload.finish();
      return reply.code(201).send({ uploadId: received.id, kind: received.kind, name: received.name, blendFiles: received.blendFiles });
    } catch (error) {
      await upload.discard();
      throw error;
    }
  });
}
