import type { FastifyInstance } from "fastify";
import { z } from "zod";
import { PREVIEW_SIZES } from "../frame-previews.ts";
import { blobOpenApiPaths } from "./blobs.ts";
import {
  errorSchema, estimateResponseSchema, farmsSchema, frameEventSchema, inspectResponseSchema, outputSchema, progressEventDataSchema, renderDetailSchema,
  renderEventSchema, renderListItemSchema, renderSettingsSchema, submittedSchema, submitUploadedSchema,
  inspectUploadedSchema, logFileSchema, uploadResponseSchema,
} from "../schemas.ts";

type JsonObject = Record<string, unknown>;

/** A zod schema as JSON Schema 2020-12 (what OpenAPI 3.1 uses), without its own `$schema` line. */
function jsonSchema(schema: z.ZodType, io: "input" | "output"): JsonObject {
  const { $schema: _ignored, ...rest } = z.toJSONSchema(schema, { io, unrepresentable: "any" }) as JsonObject;
  return rest;
}

const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
const json = (schema: JsonObject) => ({ content: { "application/json": { schema } } });
const errors = (...codes: number[]) =>
  Object.fromEntries(codes.map((code) => [String(code), { description: ERROR_TEXT[code] ?? "error", ...json(ref("Error")) }]));
const ERROR_TEXT: Record<number, string> = {
  400: "bad input; `field` names the bad field",
  401: "missing or wrong token (servers bound beyond loopback)",
  404: "unknown render or output",
  409: "the render's state forbids it (retry while running, cancel once ended)",
  415: "not multipart/form-data",
  502: "AWS could not be asked (no credentials, unreachable, refused); the message says what to check",
};
/** A multipart/form-data body whose `file` field is required. */
const multipart = (properties: Record<string, JsonObject>) => ({
  "multipart/form-data": { schema: { type: "object", required: ["file"], properties } },
});
const idParameter = { name: "id", in: "path", required: true, schema: { type: "string" }, description: "render id" };

/** The OpenAPI 3.1 document of the API, its schemas generated from the zod schemas the routes validate with. */
export function openApiDocument(): JsonObject {
  const settings = jsonSchema(renderSettingsSchema, "input");
  return {
    openapi: "3.1.0",
    info: {
      title: "Brender",
      version: "1",
      description: "Render Blender scenes on the local farm, or on AWS farms deployed with `brender farm deploy` (settings.farm). GET /api/events streams every local render, or one render (local or on AWS) with ?render=ID. Bound to loopback, no token is needed; otherwise every /api route needs `Authorization: Bearer TOKEN` (or `?token=TOKEN` on GET). On loopback, a Host other than localhost, 127.x.x.x or [::1] with the server's port is a 421 (DNS rebinding); everywhere, a POST, PUT, PATCH or DELETE whose Origin (or Referer) is another site is a 403 (clients sending neither, like curl, are not held to it).",
    },
    components: {
      securitySchemes: { bearer: { type: "http", scheme: "bearer" }, queryToken: { type: "apiKey", in: "query", name: "token" } },
      schemas: {
        Error: jsonSchema(errorSchema, "output"),
        RenderSettings: settings,
        SubmitUploaded: jsonSchema(submitUploadedSchema, "input"),
        Submitted: jsonSchema(submittedSchema, "output"),
        Inspection: jsonSchema(inspectResponseSchema, "output"),
        RenderListItem: jsonSchema(renderListItemSchema, "output"),
        RenderDetail: jsonSchema(renderDetailSchema, "output"),
        Output: jsonSchema(outputSchema, "output"),
        Farms: jsonSchema(farmsSchema, "output"),
        RenderEvent: jsonSchema(renderEventSchema, "output"),
        ProgressEvent: jsonSchema(progressEventDataSchema, "output"),
        FrameEvent: jsonSchema(frameEventSchema, "output"),
        Upload: jsonSchema(uploadResponseSchema, "output"),
        InspectUploaded: jsonSchema(inspectUploadedSchema, "input"),
        Estimate: jsonSchema(estimateResponseSchema, "output"),
        LogFile: jsonSchema(logFileSchema, "output"),
      },
    },
    security: [{}, { bearer: [] }, { queryToken: [] }],
    paths: {
      "/api/estimate": {
        post: {
          summary: "Estimate a render of an earlier upload: a few frames rendered on the server at the render's settings, scaled to the whole render on this machine or the AWS farm settings.farm names (time; on AWS also money). Nothing is submitted",
          requestBody: { required: true, content: { "application/json": { schema: ref("SubmitUploaded") } } },
          responses: { "200": { description: "the estimate; send its `stored` back as settings.estimate with POST /api/renders", ...json(ref("Estimate")) }, ...errors(400, 401) },
        },
      },
      "/api/inspect": {
        post: {
          summary: "Describe a .blend: one uploaded here (multipart; kept for a later submission by uploadId), or one inside an earlier upload (JSON)",
          requestBody: {
            required: true,
            content: {
              ...multipart({ file: { type: "string", format: "binary" } }),
              "application/json": { schema: ref("InspectUploaded") },
            },
          },
          responses: { "200": { description: "the scene inspection", ...json(ref("Inspection")) }, ...errors(400, 401, 415) },
        },
      },
      ...blobOpenApiPaths(),
      "/api/uploads": {
        post: {
          summary: "Upload a .blend, a zipped project, or a folder (its files as `file` parts named by their relative paths), for inspection and submission by uploadId",
          requestBody: {
            required: true,
            content: multipart({
              file: { type: "array", items: { type: "string", format: "binary" }, description: 'one .blend or .zip, or every file of a folder, each named by its path ("shot/scene.blend", "shot/tex/wood.png")' },
            }),
          },
          responses: { "201": { description: "stored", ...json(ref("Upload")) }, ...errors(400, 401, 415) },
        },
      },
      "/api/renders": {
        get: {
          summary: "List renders, newest first",
          responses: { "200": { description: "renders", ...json({ type: "array", items: ref("RenderListItem") }) }, ...errors(401) },
        },
        post: {
          summary: "Submit a render of an uploaded .blend or zipped project (multipart), or of an earlier upload (JSON)",
          requestBody: {
            required: true,
            content: {
              ...multipart({
                file: { type: "string", format: "binary", description: "a .blend, or a .zip of a project folder (then settings.blend names the .blend in it)" },
                settings: { type: "string", contentMediaType: "application/json", contentSchema: ref("RenderSettings") },
              }),
              "application/json": { schema: ref("SubmitUploaded") },
            },
          },
          responses: { "202": { description: "submitted", ...json(ref("Submitted")) }, ...errors(400, 401, 502) },
        },
      },
      "/api/renders/{id}": {
        get: {
          summary: "A render's status: jobs, frames, failures, warnings, manifest, outputs",
          parameters: [idParameter],
          responses: { "200": { description: "the render (AWS renders: DescribeJobs now, progress from the events the children publish)", ...json(ref("RenderDetail")) }, ...errors(401, 404, 502) },
        },
      },
      "/api/renders/{id}/cancel": {
        post: {
          summary: "Cancel queued jobs and terminate running ones (the upload still publishes what was rendered)",
          parameters: [idParameter],
          responses: {
            "202": { description: "cancelling", ...json({ type: "object", properties: { renderId: { type: "string" }, cancelled: { type: "integer" }, terminating: { type: "integer" } } }) },
            ...errors(401, 404, 409, 502),
          },
        },
      },
      "/api/renders/{id}/retry": {
        post: {
          summary: "Render again only the frames that failed or are missing",
          parameters: [idParameter],
          responses: { "202": { description: "submitted again", ...json(ref("Submitted")) }, ...errors(401, 404, 409, 502) },
        },
      },
      "/api/renders/{id}/logs": {
        get: {
          summary: "Every job's, child's and attempt's log",
          parameters: [idParameter],
          responses: { "200": { description: "logs (AWS renders: CloudWatch Logs)", content: { "text/plain": { schema: { type: "string" } } } }, ...errors(401, 404, 409, 502) },
        },
      },
      "/api/renders/{id}/log-files": {
        get: {
          summary: "The render's logs, one per job, child and attempt, in job order (local renders)",
          parameters: [idParameter],
          responses: { "200": { description: "log files", ...json({ type: "array", items: ref("LogFile") }) }, ...errors(401, 404) },
        },
      },
      "/api/renders/{id}/log-files/{logId}": {
        get: {
          summary: "One log as text",
          parameters: [
            idParameter,
            { name: "logId", in: "path", required: true, schema: { type: "string" }, description: 'an id GET /api/renders/{id}/log-files lists, e.g. "render-3-a1"' },
            { name: "tail", in: "query", required: false, schema: { type: "integer", minimum: 1 }, description: "only the last N bytes, from a line start" },
          ],
          responses: { "200": { description: "the log", content: { "text/plain": { schema: { type: "string" } } } }, ...errors(400, 401, 404) },
        },
      },
      "/api/renders/{id}/outputs": {
        get: {
          summary: "The render's outputs (frames, zip, thumbnail, preview, manifest)",
          parameters: [idParameter],
          responses: { "200": { description: "outputs", ...json({ type: "array", items: ref("Output") }) }, ...errors(401, 404, 502) },
        },
      },
      "/api/renders/{id}/outputs/{path}": {
        get: {
          summary: "Download one output; frames of a running render come from its work folder",
          parameters: [
            idParameter,
            { name: "path", in: "path", required: true, schema: { type: "string" }, description: "e.g. frames/frame_0001.png, output.zip" },
            { name: "download", in: "query", required: false, schema: { type: "string" }, description: "present: sent as an attachment" },
            {
              name: "preview",
              in: "query",
              required: false,
              schema: { type: "integer", enum: [...PREVIEW_SIZES] },
              description: "an image's JPEG preview, at most this many pixels on its longest edge (any frame format, EXR included; made once and cached)",
            },
          ],
          responses: { "200": { description: "the file, with its Content-Type (AWS renders: streamed from the farm's bucket)", content: { "*/*": { schema: { type: "string", format: "binary" } } } }, ...errors(400, 401, 404, 502) },
        },
      },
      "/api/farms": {
        get: { summary: "The local farm (cores, queue) and AWS farms (known from render records, and deployed in the account when AWS is configured), with the queues they offer", responses: { "200": { description: "farms", ...json(ref("Farms")) }, ...errors(401) } },
      },
      "/api/events": {
        get: {
          summary: "Server-Sent Events: `render` (RenderEvent), `progress` (ProgressEvent), `frame` (FrameEvent); a heartbeat comment every 15 s. Without ?render, every local render, and AWS renders' status changes; with ?render=ID, that render, local or on an AWS farm, with its progress and frames (AWS is asked every 5 s through the 10 s status cache)",
          parameters: [{ name: "render", in: "query", required: false, schema: { type: "string" }, description: "follow only this render" }],
          responses: { "200": { description: "an event stream", content: { "text/event-stream": { schema: { type: "string" } } } }, ...errors(401, 404) },
        },
      },
      "/api/openapi.json": {
        get: { summary: "This document", responses: { "200": { description: "OpenAPI 3.1", ...json({ type: "object" }) } } },
      },
    },
  };
}

export function registerOpenApiRoutes(app: FastifyInstance): void {
  const document = openApiDocument();
  app.get("/api/openapi.json", async () => document);
}
