import type { FastifyInstance } from "fastify";
import { awsTargetOf, estimateRender, type AwsTarget } from "../../cost/estimate-render.ts";
import { queuePrices } from "../../cost/live-prices.ts";
import { storedEstimateOf } from "../../domain/cost/cost-record.ts";
import { awsRenderRequest, LOCAL_FARM } from "../aws/submit.ts";
import type { ServerContext } from "../context.ts";
import { ApiError } from "../http-errors.ts";
import { describeZodError, submitUploadedSchema, type RenderSettings } from "../schemas.ts";
import { withUploadedProject, type UploadedProject } from "../submit.ts";
import { loadUpload } from "../uploads.ts";

/**
 * POST /api/estimate: what a render of an earlier upload with these settings
 * will take (and, for an AWS farm, cost), as `brender estimate` answers: a
 * few frames rendered here, on the server, at the render's settings. The
 * body is POST /api/renders' JSON body; nothing is submitted.
 */
export function registerEstimateRoutes(app: FastifyInstance, context: ServerContext): void {
  app.post("/api/estimate", async (request) => {
    const parsed = submitUploadedSchema.safeParse(request.body ?? {});
    if (!parsed.success) {
      const { message, field } = describeZodError(parsed.error, "");
      throw new ApiError(400, message, field);
    }
    const { uploadId, settings } = parsed.data;
    const upload = await loadUpload(context.uploadsDir, uploadId);
    if (!upload) throw new ApiError(400, `uploadId: no upload "${uploadId}" on this server; upload the file again.`, "uploadId");
    return withUploadedProject(context, upload, settings, async (project) => {
      const { blendPath, payload, inspectSeconds, inspection } = project;
      const aws = settings.farm === LOCAL_FARM ? undefined : awsTarget(settings, project, context);
      // The Blender that would render it here (settings.blender or the nearest to the file's) renders the sample.
      const blender = { path: inspection.renderBlender.path, version: inspection.renderBlender.version };
      // AWS prices as the CLI's estimate reads them: live when AWS answers, else the bundled table (the method says which).
      const live = aws ? await queuePrices(aws.queue, aws.prices.region, context.env) : undefined;
      const sampled = await estimateRender({ blendPath, payload, inspectSeconds, env: context.env, blender, ...(aws && live ? { aws: { ...aws, prices: live.prices } } : {}) });
      const estimate = live ? { ...sampled, method: `${sampled.method}; prices: ${live.notes.join("; ")}` } : sampled;
      return { ...estimate, stored: storedEstimateOf(estimate) };
    });
  });
}

/** The AWS farm's queue and child size as a submission of these settings would resolve them; the split only when the settings give one. */
function awsTarget(settings: RenderSettings, project: UploadedProject, context: ServerContext): AwsTarget {
  const request = awsRenderRequest(settings, { ...project, timeoutSeconds: undefined }, context.home);
  const given = settings.arraySize !== undefined || settings.chunkSize !== undefined;
  return awsTargetOf({
    queue: request.queue,
    child: request.resources,
    region: request.region ?? context.env.AWS_REGION ?? context.env.AWS_DEFAULT_REGION ?? "us-east-1",
    ...(given ? { split: project.payload.split } : {}),
  });
}
