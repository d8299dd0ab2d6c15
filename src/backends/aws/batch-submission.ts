/**
 * Turns a render plan (compileRenderPlan: copy -> render -> upload) into the
 * exact AWS Batch SubmitJob inputs, in submission order. Pure: no AWS call,
 * so `--dry-run` prints precisely what submitToBatch would send.
 *
 * Later jobs name earlier ones in `dependsOn` by a placeholder
 * `{ jobId: "<job name>" }`; submitToBatch swaps in the real job ids.
 */
import type { SubmitJobCommandInput } from "@aws-sdk/client-batch";
import { z } from "zod";
import { MAX_ARRAY_SIZE } from "../../domain/frames.ts";
import { pickBlender } from "../../domain/blender-version.ts";
import { COST_CAP_VARIABLE, type CostCapSetting } from "../../domain/cost/running-cap.ts";
import type { PlannedJob } from "../../domain/render-plan.ts";
import type { RenderJobPayload } from "../../domain/render-payload.ts";
import { UserInputError } from "../../errors.ts";
import { isGpuQueue, renderQueue, type FarmResources, type QueueKind } from "./farm-resources.ts";
import type { ServerResources } from "./server-sizes.ts";

// ---------------------------------------------------------------------------
// SubmitJob's documented shape (AWS Batch API reference, SubmitJob and its
// types, and the Batch service quotas), for the fields Brender sends.

/** "It can be up to 128 letters long. The first character must be alphanumeric, ... letters, numbers, hyphens, underscores." */
export const JOB_NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_-]{0,127}$/;
/** Maximum job payload size for SubmitJob (Batch service quotas; cannot be raised). */
export const MAX_SUBMIT_JOB_BYTES = 30 * 1024;
/** Maximum number of job dependencies for a job (Batch service quotas). */
export const MAX_DEPENDENCIES = 20;
const EXIT_GLOB = /^[0-9]*\*?$/;
// Letters, numbers, periods, colons and white space, optionally ending with "*".
const REASON_GLOB = /^[A-Za-z0-9.: \t]*\*?$/;
const TAG_TEXT = /^[\p{L}\p{Z}\p{N}_.:/=+\-@]*$/u;

const evaluateOnExitSchema = z.strictObject({
  // AWS reads the action case-insensitively; the SDK's type, and Brender, use upper case.
  action: z.enum(["RETRY", "EXIT"]),
  onStatusReason: z.string().min(1).max(512).regex(REASON_GLOB).optional(),
  onReason: z.string().min(1).max(512).regex(REASON_GLOB).optional(),
  onExitCode: z.string().min(1).max(512).regex(EXIT_GLOB).optional(),
});

const resourceRequirementSchema = z
  .strictObject({ type: z.enum(["GPU", "MEMORY", "VCPU"]), value: z.string() })
  .refine((requirement) => (requirement.type === "VCPU" ? /^\d+(\.\d+)?$/ : /^\d+$/).test(requirement.value) && Number(requirement.value) > 0, {
    message: "must be a positive number (whole for MEMORY and GPU)",
  });

const tagsSchema = z
  .record(
    z.string().min(1).max(128).regex(TAG_TEXT).refine((key) => !key.toLowerCase().startsWith("aws:"), "the aws: prefix is reserved"),
    z.string().max(256).regex(TAG_TEXT),
  )
  .refine((tags) => Object.keys(tags).length <= 50, "at most 50 tags");

/** The SubmitJob request, as far as Brender uses it, with every documented constraint that can be checked offline. */
export const submitJobInputSchema = z
  .strictObject({
    jobName: z.string().regex(JOB_NAME_PATTERN, "must be 1-128 letters, digits, - or _, starting with a letter or digit"),
    jobQueue: z.string().min(1),
    jobDefinition: z.string().min(1),
    shareIdentifier: z.string().regex(/^[A-Za-z0-9]{1,255}\*?$/).optional(),
    schedulingPriorityOverride: z.int().min(0).max(9999).optional(),
    arrayProperties: z.strictObject({ size: z.int().min(2).max(MAX_ARRAY_SIZE) }).optional(),
    dependsOn: z
      .array(z.strictObject({ jobId: z.string().min(1), type: z.enum(["N_TO_N", "SEQUENTIAL"]).optional() }))
      .max(MAX_DEPENDENCIES)
      .optional(),
    containerOverrides: z
      .strictObject({
        command: z.array(z.string()).optional(),
        environment: z
          .array(
            z.strictObject({
              name: z
                .string()
                .regex(/^[A-Za-z_][A-Za-z0-9_]*$/)
                .refine((name) => !name.startsWith("AWS_BATCH"), "names starting with AWS_BATCH are reserved for Batch"),
              value: z.string(),
            }),
          )
          .optional(),
        resourceRequirements: z.array(resourceRequirementSchema).optional(),
      })
      .optional(),
    retryStrategy: z
      .strictObject({ attempts: z.int().min(1).max(10), evaluateOnExit: z.array(evaluateOnExitSchema).max(5).optional() })
      .optional(),
    propagateTags: z.boolean().optional(),
    timeout: z.strictObject({ attemptDurationSeconds: z.int().min(60) }).optional(),
    tags: tagsSchema.optional(),
  })
  .superRefine((input, ctx) => {
    const bytes = Buffer.byteLength(JSON.stringify(input));
    if (bytes > MAX_SUBMIT_JOB_BYTES) {
      ctx.addIssue({ code: "custom", message: `request is ${bytes} bytes, over SubmitJob's limit of ${MAX_SUBMIT_JOB_BYTES}` });
    }
    const names = new Set((input.containerOverrides?.environment ?? []).map((variable) => variable.name));
    if (names.size !== (input.containerOverrides?.environment ?? []).length) {
      ctx.addIssue({ code: "custom", path: ["containerOverrides", "environment"], message: "has a variable twice" });
    }
  });

// ---------------------------------------------------------------------------
// Brender's policy

/** Copy and upload move files; they get a small slice of the io queue's CPU hosts, never a GPU host. */
export const IO_RESOURCES: ServerResources = { vcpus: 1, memoryMiB: 2048, gpus: 0 };
/** Copy and upload are cheap to repeat; they retry infrastructure failures like the render does. */
export const IO_ATTEMPTS = 3;

/**
 * First match wins; when no rule matches, Batch RETRIES, hence the final
 * catch-all EXIT. Retried: the host went away (spot reclaim, "Host EC2
 * (instance i-…) terminated.") or the image could not be pulled (registry
 * hiccup). Any exit code of the worker itself (a Blender error, a missing
 * frame) is deterministic and ends the job at once. Timeouts are never
 * retried by Batch.
 */
export const RETRY_RULES = [
  { onStatusReason: "Host EC2*", action: "RETRY" },
  { onReason: "CannotPullContainerError*", action: "RETRY" },
  { onExitCode: "*", action: "EXIT" },
] as const;

/**
 * Tries per render child when the user gives no --attempts. A spot host can be
 * reclaimed at any time (a two-minute notice, then "Host EC2 (instance …)
 * terminated."), and only RETRY_RULES' host-loss and image-pull rules retry,
 * so extra attempts never repeat a Blender error: they only give a reclaimed
 * child another host. Frames already rendered are kept across attempts.
 */
export const DEFAULT_ATTEMPTS: Readonly<Record<QueueKind, number>> = {
  "spot-cpu": 5,
  "spot-gpu": 5,
  "on-demand-cpu": 2,
  "on-demand-gpu": 2,
};

/** The attempts a render child gets on `queue`: the user's, else the queue's default. */
export function attemptsFor(queue: QueueKind, requested: number | undefined): number {
  return requested ?? DEFAULT_ATTEMPTS[queue];
}

/**
 * The payload as the queue renders it: the GPU follows the queue, so a GPU
 * queue's paid GPU hosts never render on their CPU, and `--gpu` on a CPU
 * queue (no GPU to use) is refused rather than quietly ignored.
 */
export function payloadForQueue(payload: RenderJobPayload, queue: QueueKind): RenderJobPayload {
  if (isGpuQueue(queue)) return payload.gpu ? payload : { ...payload, gpu: true };
  if (payload.gpu) {
    const gpuQueue = queue.startsWith("spot") ? "spot-gpu" : "on-demand-gpu";
    throw new UserInputError(`--gpu asks for a GPU, but the ${queue} queue has CPU hosts only: use --queue ${gpuQueue} (with --preset gpu-1), or drop --gpu.`);
  }
  return payload;
}

/** Tag keys on every job (and, propagated, on its ECS tasks) so renders can be found and costed. */
export const TAG_KEYS = {
  renderId: "brender:render-id",
  project: "brender:project",
  farm: "brender:farm",
  action: "brender:action",
} as const;

export type BatchSubmitOptions = {
  readonly queue: QueueKind;
  /** What each render child asks for (resolveResources). */
  readonly resources: ServerResources;
  /** Tries per render child, 1..10. */
  readonly attempts: number;
  /** Limit per attempt of a render child, 60 s or more. */
  readonly timeoutSeconds: number;
  /** A deployed Blender version (chooseBlenderVersion). */
  readonly blenderVersion: string;
  readonly tags: { readonly renderId: string; readonly project: string };
  /** 0..9999, higher first; only used on queues with a fair-share scheduling policy. */
  readonly priority?: number;
  /** The cost cap the render children check while they run (running-cap.ts); absent: no cap. */
  readonly costCap?: CostCapSetting;
};

/** Variables only the cloud run needs. */
function cloudEnvironment(job: PlannedJob, farm: FarmResources, costCap: CostCapSetting | undefined): Record<string, string> {
  const env: Record<string, string> = { AWS_REGION: farm.region };
  if (job.action === "render" || job.action === "custom_render_python") env.BRENDER_PUBLISH_EVENTS = "1";
  if (job.action === "render" && costCap) env[COST_CAP_VARIABLE] = JSON.stringify(costCap);
  // On a GPU queue the host was paid for its GPU: a render that finds none usable fails instead of using the CPU.
  if (job.action === "render" && gpuRequested(job)) env.BRENDER_REQUIRE_GPU = "1";
  if (job.action === "upload_render_output") {
    if (farm.notification.sender) env.BRENDER_SES_FROM = farm.notification.sender;
    if (farm.notification.successTemplate) env.BRENDER_SES_SUCCESS_TEMPLATE = farm.notification.successTemplate;
    if (farm.notification.failureTemplate) env.BRENDER_SES_FAILURE_TEMPLATE = farm.notification.failureTemplate;
  }
  return env;
}

/** The render queue and child size the upload job is told, to price attempts whose host is unknown (src/worker/render-cost.ts). */
export const RENDER_QUEUE_VARIABLE = "BRENDER_RENDER_QUEUE";
export const RENDER_VCPUS_VARIABLE = "BRENDER_RENDER_VCPUS";
export const RENDER_GPUS_VARIABLE = "BRENDER_RENDER_GPUS";

/** What the upload job prices the render's attempts by when a host is unknown (src/worker/render-cost.ts). */
function renderPricing(options: BatchSubmitOptions): Record<string, string> {
  return {
    [RENDER_QUEUE_VARIABLE]: options.queue,
    [RENDER_VCPUS_VARIABLE]: String(options.resources.vcpus),
    [RENDER_GPUS_VARIABLE]: String(options.resources.gpus),
  };
}

/** Whether the job's payload asks for the GPU (payloadForQueue set it for a GPU queue). */
function gpuRequested(job: PlannedJob): boolean {
  try {
    return (JSON.parse(job.environment.BRENDER_JOB_PAYLOAD ?? "{}") as { gpu?: unknown }).gpu === true;
  } catch {
    return false;
  }
}

/** One SubmitJob input as Brender builds it (SubmitJobCommandInput with the fields Brender sets). */
export type SubmitJobInput = SubmitJobCommandInput & { jobName: string; jobQueue: string; jobDefinition: string };

/**
 * The SubmitJob inputs for a plan, in order. The render job goes to the
 * chosen queue with the chosen resources; copy and upload go to the farm's
 * io queue with IO_RESOURCES. Each input is checked against
 * submitJobInputSchema. Throws UserInputError for options AWS would refuse
 * (or that would leave a job waiting forever) and for plans that break
 * Batch's rules.
 */
export function toSubmitJobInputs(plan: readonly PlannedJob[], farm: FarmResources, options: BatchSubmitOptions): SubmitJobInput[] {
  checkOptions(options);
  const renderQueueId = renderQueue(farm, options.queue);
  checkQueueFitsResources(options.queue, options.resources);
  const jobDefinition = jobDefinitionFor(farm, options.blenderVersion);

  const earlier = new Set<string>();
  return plan.map((job) => {
    checkJob(job, earlier);
    earlier.add(job.name);
    const isRender = job.action === "render" || job.action === "custom_render_python";
    const jobQueue = isRender ? renderQueueId : farm.queues.io;
    const resources = isRender ? options.resources : IO_RESOURCES;
    const fairShare = farm.fairShareQueues.includes(jobQueue);
    const input = {
      jobName: job.name,
      jobQueue,
      jobDefinition,
      ...(fairShare ? { shareIdentifier: shareIdentifier(options.tags.project) } : {}),
      ...(fairShare && options.priority !== undefined ? { schedulingPriorityOverride: options.priority } : {}),
      ...(job.arraySize >= 2 ? { arrayProperties: { size: job.arraySize } } : {}),
      // Each job starts when the one before it succeeded: no container waits. The upload depends on the
      // whole render array (no SEQUENTIAL/N_TO_N: those pair array children). When an earlier job fails or
      // is cancelled, Batch fails the upload unstarted and the farm's event rule submits the publisher job,
      // which publishes what exists and reports the failure (src/worker/failed-upload.ts).
      ...(job.dependsOn.length > 0 ? { dependsOn: job.dependsOn.map((name) => ({ jobId: name })) } : {}),
      containerOverrides: {
        environment: [
          { name: "JOB_ACTION_TYPE", value: job.action },
          ...Object.entries({ ...job.environment, ...cloudEnvironment(job, farm, options.costCap), ...(job.action === "upload_render_output" ? renderPricing(options) : {}) })
            .filter(([name]) => name !== "JOB_ACTION_TYPE")
            .map(([name, value]) => ({ name, value })),
        ],
        resourceRequirements: resourceRequirements(resources),
      },
      retryStrategy: {
        attempts: isRender ? options.attempts : IO_ATTEMPTS,
        evaluateOnExit: RETRY_RULES.map((rule) => ({ ...rule })),
      },
      // Only the render gets the user's limit: a big project's copy may legitimately outlast one frame's budget.
      ...(isRender ? { timeout: { attemptDurationSeconds: options.timeoutSeconds } } : {}),
      propagateTags: true,
      tags: {
        [TAG_KEYS.renderId]: options.tags.renderId,
        [TAG_KEYS.project]: options.tags.project,
        [TAG_KEYS.farm]: farm.name,
        [TAG_KEYS.action]: job.action,
      },
    };
    const parsed = submitJobInputSchema.safeParse(input);
    if (!parsed.success) {
      const problems = parsed.error.issues.map((issue) => `${issue.path.join(".") || "request"}: ${issue.message}`).join("; ");
      throw new UserInputError(`Job "${job.name}" is not valid for AWS Batch (${problems}): ${fixHint(problems)}.`);
    }
    const checked: SubmitJobInput = parsed.data;
    return checked;
  });
}

/** Whether `--priority` has an effect for this queue kind on this farm (only fair-share queues honour it). */
export function priorityApplies(farm: FarmResources, queue: QueueKind): boolean {
  return farm.fairShareQueues.includes(renderQueue(farm, queue));
}

function resourceRequirements(resources: ServerResources): { type: "VCPU" | "MEMORY" | "GPU"; value: string }[] {
  return [
    { type: "VCPU", value: String(resources.vcpus) },
    { type: "MEMORY", value: String(resources.memoryMiB) },
    ...(resources.gpus > 0 ? [{ type: "GPU" as const, value: String(resources.gpus) }] : []),
  ];
}

/** Fair-share identifiers are alphanumeric: one share per project, so big projects cannot starve small ones. */
function shareIdentifier(project: string): string {
  return project.replace(/[^A-Za-z0-9]/g, "").slice(0, 255) || "brender";
}

function jobDefinitionFor(farm: FarmResources, blenderVersion: string): string {
  const found = farm.jobDefinitions.find((definition) => definition.blenderVersion === blenderVersion);
  if (found !== undefined) return found.arn;
  const deployed = farm.jobDefinitions.map((definition) => definition.blenderVersion).join(", ");
  throw new UserInputError(
    `Blender ${blenderVersion} is not deployed on farm "${farm.name}" (it has ${deployed}): pick one with --blender or deploy it with 'brender farm deploy ${farm.name} --blender ${blenderVersion}'.`,
  );
}

function checkOptions(options: BatchSubmitOptions): void {
  if (!Number.isSafeInteger(options.attempts) || options.attempts < 1 || options.attempts > 10) {
    throw new UserInputError(`--attempts ${options.attempts} is out of range: AWS Batch allows 1 to 10 attempts.`);
  }
  if (!Number.isSafeInteger(options.timeoutSeconds) || options.timeoutSeconds < 60) {
    throw new UserInputError(
      `--timeout of ${options.timeoutSeconds} s is too short: AWS Batch needs at least 60 seconds (e.g. --timeout 15m).`,
    );
  }
  if (options.priority !== undefined && (!Number.isSafeInteger(options.priority) || options.priority < 0 || options.priority > 9999)) {
    throw new UserInputError(`--priority ${options.priority} is out of range: give a whole number from 0 to 9999.`);
  }
}

function checkQueueFitsResources(queue: QueueKind, resources: ServerResources): void {
  // A GPU request on a CPU queue (or a CPU job on GPU hosts) matches no instance and waits in RUNNABLE forever.
  if (isGpuQueue(queue) && resources.gpus === 0) {
    throw new UserInputError(`--queue ${queue} needs GPUs: pick a GPU size (--size gpu-1, gpu-4 or gpu-8) or --gpus N.`);
  }
  if (!isGpuQueue(queue) && resources.gpus > 0) {
    const gpuQueue = queue.startsWith("spot") ? "spot-gpu" : "on-demand-gpu";
    throw new UserInputError(`${resources.gpus} GPU(s) requested on the ${queue} queue, which has no GPUs: use --queue ${gpuQueue}.`);
  }
}

function checkJob(job: PlannedJob, earlier: ReadonlySet<string>): void {
  if (!JOB_NAME_PATTERN.test(job.name)) {
    throw new UserInputError(
      `Job name ${JSON.stringify(job.name)} is not valid for AWS Batch: use 1 to 128 letters, digits, - or _, starting with a letter or digit.`,
    );
  }
  if (earlier.has(job.name)) throw new UserInputError(`Job name "${job.name}" appears twice in the render: job names must be unique.`);
  if (!Number.isSafeInteger(job.arraySize) || job.arraySize < 1 || job.arraySize > MAX_ARRAY_SIZE) {
    throw new UserInputError(
      `Job "${job.name}" splits into ${job.arraySize} children: AWS Batch allows 1 to ${MAX_ARRAY_SIZE}; lower --array-size or raise --chunk-size.`,
    );
  }
  if (job.dependsOn.length > MAX_DEPENDENCIES) {
    throw new UserInputError(`Job "${job.name}" depends on ${job.dependsOn.length} jobs: AWS Batch allows at most ${MAX_DEPENDENCIES}.`);
  }
  for (const dependency of job.dependsOn) {
    if (!earlier.has(dependency)) {
      throw new UserInputError(`Job "${job.name}" depends on "${dependency}", which is not submitted before it: order the plan so dependencies come first.`);
    }
  }
}

function fixHint(problems: string): string {
  if (problems.includes("bytes")) return "shorten the payload (python env values, names) so each job stays under 30 KiB";
  if (problems.includes("tags")) return "use a project name of letters, digits and . _ - only";
  return "check the render options";
}

// ---------------------------------------------------------------------------
// Blender version

export type BlenderChoice = { readonly version: string; readonly warning?: string };

/**
 * Picks the deployed Blender to render a file saved by `fileVersion` ("3.4",
 * from the .blend header), by the shared rule (src/domain/blender-version.ts):
 * `requested` (--blender, "4.2.0" or "4.2") must be deployed; by default the
 * nearest deployed version at or above the file's (newest patch of that
 * release), with a warning when its release differs from the file's. Throws
 * UserInputError when the request is not deployed or the file is newer than
 * every deployed version (a farm can deploy it; forcing an older one is --blender).
 */
export function chooseBlenderVersion(
  fileVersion: string,
  deployed: readonly string[],
  requested?: string,
  farmName = "NAME",
): BlenderChoice {
  const pick = pickBlender(fileVersion, deployed.map((version) => ({ version })), requested);
  const list = deployed.join(", ");
  const [major, minor] = fileVersion.split(".");
  switch (pick.kind) {
    case "none":
      throw new UserInputError(`Farm "${farmName}" has no Blender version deployed: deploy one with 'brender farm deploy ${farmName} --blender 4.2.0'.`);
    case "missing":
      throw new UserInputError(
        `Blender ${requested} is not deployed on farm "${farmName}": use --blender with one of ${list}, or deploy it with 'brender farm deploy ${farmName} --blender ${requested}'.`,
      );
    case "requested":
      return pick.older
        ? {
            version: pick.chosen.version,
            warning: `The file was saved with Blender ${fileVersion}, newer than the requested ${pick.chosen.version}: features added since may be lost or the file may not open.`,
          }
        : { version: pick.chosen.version };
    case "older":
      throw new UserInputError(
        `The file was saved with Blender ${fileVersion}, newer than every version on farm "${farmName}" (${list}): deploy Blender ${fileVersion} or newer with 'brender farm deploy ${farmName} --blender ${major}.${minor}.0', or pass --blender to force an older one.`,
      );
    case "same":
      return { version: pick.chosen.version };
    case "newer":
      return {
        version: pick.chosen.version,
        warning: `The file was saved with Blender ${fileVersion}; rendering with ${pick.chosen.version}, the nearest deployed version above it (deploy ${major}.${minor} with 'brender farm deploy ${farmName} --blender ${major}.${minor}.0' to match it).`,
      };
  }
}
