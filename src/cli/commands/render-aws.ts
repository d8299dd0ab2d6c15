import { awsTargetOf } from "../../cost/estimate-render.ts";
import { queuePrices } from "../../cost/live-prices.ts";
import { queueOffer } from "../../cost/queue-price.ts";
import type { RenderJobPayload } from "../../domain/render-payload.ts";
import { UserInputError } from "../../errors.ts";
import { brenderHome } from "../../config.ts";
import { QUEUE_KINDS, type QueueKind } from "../../backends/aws/farm-resources.ts";
import { resolveResources, type ResourceRequest } from "../../backends/aws/server-sizes.ts";
import { planAwsRender, submitAwsRender, type AwsRenderRequest } from "../../backends/aws/submit-render.ts";
import type { PackingReport } from "../../packing/pack.ts";
import type { UploadSource } from "../../storage/content-upload.ts";
import type { RenderOptions } from "./render-run.ts";

/** One day, as Brender Studio's job definitions allow; AWS needs some limit to stop runaway renders. */
const DEFAULT_AWS_TIMEOUT_SECONDS = 86_400;

type AwsRun = {
  readonly payload: RenderJobPayload;
  readonly source: UploadSource;
  readonly blendPath: string;
  readonly options: RenderOptions;
  readonly attempts: number | undefined;
  readonly priority: number;
  readonly timeoutSeconds: number | undefined;
  readonly started: number;
  /** What packing traced and added; in the --json summary's `upload`, as a local render's. */
  readonly dependencies?: PackingReport;
};

/** `brender render --backend aws`: the same render, on a farm in the user's AWS account. */
export async function runAwsRender(run: AwsRun): Promise<number> {
  const quiet = run.options.json === true;
  const { resolveAwsCostCap } = await import("./render-cost-cap.ts");
  let request = await resolveAwsCostCap(run.options.maxCost, awsRequest(run), quiet);
  const warn = (message: string) => process.stderr.write(`warning: ${message}\n`);
  // A cap made an estimate already (kept in the payload); --estimate makes one without a cap.
  if (run.options.estimate && request.payload.estimate === undefined) {
    const region = request.region ?? process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION ?? "us-east-1";
    const prices = request.prices ?? (await queuePrices(queueOffer(request.queue), region)).prices;
    const target = awsTargetOf({ queue: request.queue, child: request.resources, region, prices, split: request.payload.split });
    request = { ...request, payload: await (await import("./render-estimate.ts")).estimateBeforeRender(request.payload, request.blendPath, { aws: target }, quiet) };
  }
  if (run.options.dryRun) {
    const planned = await planAwsRender(request, { warn });
    process.stdout.write(`${JSON.stringify(planned.inputs, null, 2)}\n`);
    return 0;
  }
  const submitted = await submitAwsRender(request, { warn });
  const { finishAwsSubmission } = await import("./render-aws-watch.ts");
  return finishAwsSubmission(run, request, submitted);
}

function awsRequest(run: AwsRun): AwsRenderRequest {
  const { options } = run;
  if (!options.farm) throw new UserInputError("--backend aws needs --farm NAME (the farm deployed with 'brender farm deploy NAME').");
  if (!(QUEUE_KINDS as readonly string[]).includes(options.queue)) {
    throw new UserInputError(`--queue "${options.queue}" is not a queue; use ${QUEUE_KINDS.join(", ")}.`);
  }
  const resources: ResourceRequest = {
    ...(options.preset ? { preset: options.preset } : {}),
    ...(options.vcpus ? { vcpus: Number(options.vcpus) } : {}),
    ...(options.memory ? { memoryMiB: Number(options.memory) } : {}),
    ...(options.gpus ? { gpus: Number(options.gpus) } : {}),
  };
  return {
    payload: run.payload,
    source: run.source,
    blendPath: run.blendPath,
    farm: options.farm,
    queue: options.queue as QueueKind,
    resources: resolveResources(resources),
    ...(run.attempts !== undefined ? { attempts: run.attempts } : {}),
    timeoutSeconds: run.timeoutSeconds ?? DEFAULT_AWS_TIMEOUT_SECONDS,
    priority: run.priority,
    brenderHome: brenderHome(),
    ...(options.region ? { region: options.region } : {}),
    ...(options.profile ? { profile: options.profile } : {}),
    ...(options.blender ? { blenderVersion: options.blender } : {}),
  };
}
