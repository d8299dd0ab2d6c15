import { BatchClient } from "@aws-sdk/client-batch";
import { ServiceQuotasClient } from "@aws-sdk/client-service-quotas";
import { SESv2Client } from "@aws-sdk/client-sesv2";
import { readBlendHeader } from "../../blender/blend-file.ts";
import { arraySizeFor, expandFrames, parseFrameSet } from "../../domain/frames.ts";
import { compileRenderPlan, type PlannedJob } from "../../domain/render-plan.ts";
import { sealWebhooks } from "../../domain/stored-webhooks.ts";
import type { RenderJobPayload } from "../../domain/render-payload.ts";
import { UserInputError } from "../../errors.ts";
import { uploadProject, type UploadProgress, type UploadSource } from "../../storage/content-upload.ts";
import { HashCache, hashCachePath } from "../../storage/hash-cache.ts";
import { manifestKeyFor } from "../../storage/project-manifest.ts";
import { checkBucketAccess, S3ObjectStore } from "../../storage/s3-store.ts";
import { attemptsFor, chooseBlenderVersion, payloadForQueue, type BatchSubmitOptions, type SubmitJobInput } from "./batch-submission.ts";
import { costCapSetting } from "../../cost/queue-price.ts";
import type { Prices } from "../../domain/cost/render-cost.ts";
import type { CostCapSetting } from "../../domain/cost/running-cap.ts";
import { findFarm, type FarmResources, type QueueKind } from "./farm-resources.ts";
import { checkVcpuQuota } from "./quotas.ts";
import { notificationDeliveryWarning } from "./ses-sandbox.ts";
import { submitWithStoredWebhooks } from "./stored-webhooks.ts";
import type { ServerResources } from "./server-sizes.ts";
import { dryRun, submitToBatch, type SubmittedJob } from "./submit.ts";

/** Where and how to run a render on a farm in the user's AWS account. */
export type AwsRenderRequest = {
  readonly payload: RenderJobPayload;
  readonly source: UploadSource;
  readonly blendPath: string;
  readonly farm: string;
  readonly region?: string;
  readonly profile?: string;
  readonly queue: QueueKind;
  readonly resources: ServerResources;
  /** Tries per render child; absent: the queue's default (attemptsFor). */
  readonly attempts?: number;
  readonly timeoutSeconds: number;
  readonly blenderVersion?: string;
  readonly priority?: number;
  readonly brenderHome: string;
  /** The cost cap, US dollars; "none": no cap; absent: the farm's default (farm deploy --max-cost), if it has one. */
  readonly maxCost?: number | "none";
  /** Prices for the cap's price per child-hour; absent: the bundled table for the farm's region. */
  readonly prices?: Prices;
};

export type AwsRenderHooks = {
  readonly warn?: (message: string) => void;
  readonly onUploadProgress?: (progress: UploadProgress) => void;
};

/** What was planned: the same plan the local farm runs, and its SubmitJob inputs for this farm. */
export type AwsRenderPlan = {
  /** The payload as submitted: the request's, with the GPU following the queue (payloadForQueue). */
  readonly payload: RenderJobPayload;
  readonly farm: FarmResources;
  readonly plan: readonly PlannedJob[];
  readonly options: BatchSubmitOptions;
  readonly inputs: readonly SubmitJobInput[];
  readonly storage: string;
  readonly bucketKey: string;
  /** The webhook URLs to store in the bucket before submitting (the plan's payload names only their key). */
  readonly storedWebhooks?: { readonly key: string; readonly body: string };
};

/**
 * Plans a render for a farm without changing anything in AWS (`--dry-run`):
 * reads the farm's stack, picks the Blender version from the file's header,
 * compiles the same plan as the local farm and turns it into SubmitJob inputs.
 */
export async function planAwsRender(request: AwsRenderRequest, hooks: AwsRenderHooks = {}): Promise<AwsRenderPlan> {
  const payload = payloadForQueue(request.payload, request.queue);
  const farm = await findFarm(request.farm, { region: request.region, profile: request.profile });
  const header = await readBlendHeader(request.blendPath);
  const choice = chooseBlenderVersion(header.version, farm.jobDefinitions.map((definition) => definition.blenderVersion), request.blenderVersion, farm.name);
  if (choice.warning) hooks.warn?.(choice.warning);
  const bucketKey = manifestKeyFor(payload.project.name, payload.renderId);
  const { plan, storage, storedWebhooks } = awsPlan(payload, farm, bucketKey);
  const options: BatchSubmitOptions = {
    queue: request.queue,
    resources: request.resources,
    attempts: attemptsFor(request.queue, request.attempts),
    timeoutSeconds: request.timeoutSeconds,
    blenderVersion: choice.version,
    tags: { renderId: request.payload.renderId, project: request.payload.project.name },
    ...(request.priority !== undefined ? { priority: request.priority } : {}),
    ...(costCapOf(request, farm)),
  };
  return { payload, farm, plan, options, inputs: dryRun(plan, farm, options), storage, bucketKey, ...(storedWebhooks ? { storedWebhooks } : {}) };
}

/** The cap the render children check while they run: the request's, else the farm's default; none with "none". */
export function effectiveMaxCost(request: Pick<AwsRenderRequest, "maxCost">, farm: FarmResources): number | undefined {
  return request.maxCost === "none" ? undefined : (request.maxCost ?? farm.maxCostUsd);
}

function costCapOf(request: AwsRenderRequest, farm: FarmResources): { costCap?: CostCapSetting } {
  const maxUsd = effectiveMaxCost(request, farm);
  if (maxUsd === undefined) return {};
  return { costCap: costCapSetting(maxUsd, request.queue, request.resources, request.prices ?? { region: farm.region }) };
}

/**
 * The plan both backends run, pointed at the farm's bucket, its payload's webhook URLs replaced by the
 * key of the object `storedWebhooks` that holds them (write it before submitting: submitWithStoredWebhooks).
 */
export function awsPlan(
  payload: RenderJobPayload,
  farm: FarmResources,
  bucketKey: string,
): { plan: PlannedJob[]; storage: string; storedWebhooks?: { key: string; body: string } } {
  const storage = `s3://${farm.bucket}`;
  const sealed = sealWebhooks(payload);
  const plan = compileRenderPlan(sealed.payload, { bucketKey, bucketName: farm.bucket, storage });
  return { plan, storage, ...(sealed.stored ? { storedWebhooks: sealed.stored } : {}) };
}

/**
 * Runs a render on the farm: checks the account's vCPU quota for the queue
 * (refuses when not even one child fits), uploads the project to the farm's
 * bucket (content-addressed: only what the bucket lacks), then submits the
 * three jobs. Nothing is submitted when the upload fails.
 */
export async function submitAwsRender(request: AwsRenderRequest, hooks: AwsRenderHooks = {}) {
  const planned = await planAwsRender(request, hooks);
  const clientConfig = { region: planned.farm.region, ...(request.profile ? { profile: request.profile } : {}) };

  const frames = expandFrames(parseFrameSet(request.payload.frames)).length;
  const children = arraySizeFor(frames, request.payload.split);
  const quota = await checkVcpuQuota(
    { queue: request.queue, vcpus: children * request.resources.vcpus, vcpusPerJob: request.resources.vcpus },
    { serviceQuotasClient: new ServiceQuotasClient(clientConfig) },
  );
  if (quota.status === "blocked") throw new UserInputError(quota.message);
  if (quota.status === "short" || quota.status === "unknown") hooks.warn?.(quota.message);

  const recipient = planned.payload.notify?.email;
  if (recipient !== undefined && planned.farm.notification.sender !== undefined) {
    const ses = new SESv2Client(clientConfig);
    try {
      const warning = await notificationDeliveryWarning(ses, recipient, planned.farm.region);
      if (warning) hooks.warn?.(warning);
    } finally {
      ses.destroy();
    }
  }

  const store = new S3ObjectStore({ bucket: planned.farm.bucket, ...clientConfig });
  await checkBucketAccess(store);
  const hashCache = await HashCache.open(hashCachePath(request.brenderHome));
  const upload = await uploadProject(store, request.source, planned.bucketKey, { hashCache, onProgress: hooks.onUploadProgress });
  await hashCache.save();

  const submitted: SubmittedJob[] = await submitWithStoredWebhooks(store, planned.storedWebhooks, () =>
    submitToBatch(planned.plan, planned.farm, planned.options, { batchClient: new BatchClient(clientConfig) }),
  );
  return { ...planned, upload, submitted };
}
