/** Submitting an uploaded project to an AWS farm from the API, as `brender render --backend aws` does. */
import type { QueueKind } from "../../backends/aws/farm-resources.ts";
import { saveRenderRecord } from "../../backends/aws/render-record.ts";
import { resolveResources } from "../../backends/aws/server-sizes.ts";
import { submitAwsRender, type AwsRenderRequest } from "../../backends/aws/submit-render.ts";
import type { RenderJobPayload } from "../../domain/render-payload.ts";
import type { UploadSource } from "../../storage/content-upload.ts";
import { ApiError } from "../http-errors.ts";
import type { RenderSettings } from "../schemas.ts";
import { explainAwsError } from "./errors.ts";

/** `settings.farm` of a render on this machine. */
export const LOCAL_FARM = "local";

/** One day, as the CLI gives AWS renders: AWS needs some limit to stop runaway renders. */
export const DEFAULT_AWS_TIMEOUT_SECONDS = 86_400;

/**
 * Settings only AWS farms take. No setting is local-only today: every other
 * one goes into the payload, which both backends render alike.
 */
// `blender` is for both: a deployed version on AWS, an installed one on the local farm.
export const AWS_ONLY_SETTINGS = ["queue", "preset", "vcpus", "memory", "gpus", "region"] as const;

/** 400 naming the first AWS-only setting given for the local farm. */
export function checkFarmSettings(settings: RenderSettings): void {
  if (settings.farm !== LOCAL_FARM) return;
  for (const name of AWS_ONLY_SETTINGS) {
    if (settings[name] !== undefined) {
      throw new ApiError(400, `settings.${name} is for AWS farms; set settings.farm to an AWS farm or drop settings.${name}.`, `settings.${name}`);
    }
  }
}

/** What an AWS submission needs besides the settings: the inspected upload as a payload and a project to upload. */
export type AwsUpload = {
  readonly payload: RenderJobPayload;
  readonly source: UploadSource;
  readonly blendPath: string;
  readonly timeoutSeconds: number | undefined;
};

/** The CLI's AWS render request, from API settings (pure; resource errors are the CLI's UserInputErrors). */
export function awsRenderRequest(settings: RenderSettings, upload: AwsUpload, home: string): AwsRenderRequest {
  return {
    payload: upload.payload,
    source: upload.source,
    blendPath: upload.blendPath,
    farm: settings.farm,
    queue: (settings.queue ?? "spot-cpu") satisfies QueueKind,
    resources: resolveResources({
      ...(settings.preset !== undefined ? { preset: settings.preset } : {}),
      ...(settings.vcpus !== undefined ? { vcpus: settings.vcpus } : {}),
      ...(settings.memory !== undefined ? { memoryMiB: settings.memory } : {}),
      ...(settings.gpus !== undefined ? { gpus: settings.gpus } : {}),
    }),
    ...(settings.attempts !== undefined ? { attempts: settings.attempts } : {}),
    timeoutSeconds: upload.timeoutSeconds ?? DEFAULT_AWS_TIMEOUT_SECONDS,
    priority: settings.priority,
    brenderHome: home,
    ...(settings.region !== undefined ? { region: settings.region } : {}),
    ...(settings.blender !== undefined ? { blenderVersion: settings.blender } : {}),
  };
}

/**
 * Submits an inspected upload to an AWS farm (quota check, content-addressed
 * upload to the farm's bucket, the three jobs), then records the render as
 * the CLI does. Returns the warnings the CLI would print (Blender version
 * chosen, vCPU quota short). AWS failures become one-line 502s.
 */
export async function submitToAwsFarm(settings: RenderSettings, upload: AwsUpload, home: string): Promise<{ renderId: string; warnings: string[] }> {
  const warnings: string[] = [];
  const request = awsRenderRequest(settings, upload, home);
  try {
    const submitted = await submitAwsRender(request, { warn: (message) => warnings.push(message) });
    const { queue, resources, attempts, timeoutSeconds, blenderVersion, priority } = submitted.options;
    await saveRenderRecord(home, {
      renderId: request.payload.renderId,
      farm: request.farm,
      region: submitted.farm.region,
      storage: submitted.storage,
      payload: submitted.payload,
      bucketKey: submitted.bucketKey,
      submittedAt: new Date().toISOString(),
      jobs: submitted.plan.map((job, index) => ({ name: job.name, action: job.action, jobId: submitted.submitted[index]!.jobId, arraySize: job.arraySize })),
      submitOptions: { queue, resources, attempts, timeoutSeconds, blenderVersion, ...(priority !== undefined ? { priority } : {}) },
    });
    return { renderId: request.payload.renderId, warnings };
  } catch (error) {
    throw explainAwsError(error);
  }
}
