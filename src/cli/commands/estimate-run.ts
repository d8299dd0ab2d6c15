import { inspectBlendFile } from "../../blender/inspect.ts";
import { QUEUE_KINDS, type QueueKind } from "../../backends/aws/farm-resources.ts";
import { resolveResources } from "../../backends/aws/server-sizes.ts";
import { formatDollars as formatUsd } from "../../domain/cost/range.ts";
import { queuePrices } from "../../cost/live-prices.ts";
import { awsTargetOf, estimateRender, QUEUE_OFFERS, type AwsTarget, type RenderEstimate } from "../../cost/estimate-render.ts";
import type { Range } from "../../domain/cost/range.ts";
import { newRenderId } from "../../domain/ids.ts";
import { UserInputError } from "../../errors.ts";
import { FARM_DEFAULTS } from "../../infra/farm-props.ts";
import { locateProject } from "../render-input.ts";
import { buildRenderPayload, type RenderCliOptions } from "../../renders/render-request.ts";
import { formatSeconds } from "../render-watch.ts";
import { terminationSignal } from "../run-command.ts";

export type EstimateOptions = RenderCliOptions & {
  blend?: string;
  backend: string;
  farm?: string;
  region?: string;
  queue: string;
  preset?: string;
  vcpus?: string;
  memory?: string;
  gpus?: string;
  maxVcpus?: string;
  blender?: string;
  json?: boolean;
};

/** `brender estimate PATH`: inspect, render a sample here, print the estimate. Nothing is uploaded or submitted. */
export async function runEstimate(path: string, options: EstimateOptions): Promise<number> {
  if (options.backend !== "local" && options.backend !== "aws") throw new UserInputError(`--backend "${options.backend}" is not a backend; use local or aws.`);
  const aws = options.backend === "aws" ? await awsTarget(options) : undefined;
  const { source, blendPath, blendFile } = await locateProject(path, options.blend);
  const signal = terminationSignal();
  const inspectStarted = performance.now();
  // Locally, --blender picks the installed Blender that will render, and so samples; on AWS it names a deployed one.
  const localBlender = aws ? undefined : options.blender;
  const inspection = await inspectBlendFile(blendPath, { signal, ...(localBlender ? { blender: localBlender } : {}) });
  const inspectSeconds = (performance.now() - inspectStarted) / 1000;
  const payload = buildRenderPayload(options, inspection, { renderId: newRenderId(), blendFile, defaultProject: source.path });
  if (!options.json) process.stderr.write(`rendering a sample of ${payload.frames} at the render's settings…\n`);
  const blender = { path: inspection.renderBlender.path, version: inspection.renderBlender.version };
  const live = aws ? await queuePrices(aws.queue, aws.prices.region) : undefined;
  const sampled = await estimateRender({ blendPath, payload, inspectSeconds, aws: aws && live ? { ...aws, prices: live.prices } : undefined, blender, signal });
  const estimate = live ? { ...sampled, method: `${sampled.method}; prices: ${live.notes.join("; ")}` } : sampled;
  process.stdout.write(options.json ? `${JSON.stringify(estimate)}\n` : formatEstimate(estimate));
  return 0;
}

async function awsTarget(options: EstimateOptions): Promise<AwsTarget> {
  if (!(QUEUE_KINDS as readonly string[]).includes(options.queue)) {
    throw new UserInputError(`--queue "${options.queue}" is not a queue; use one of ${QUEUE_KINDS.join(", ")}.`);
  }
  const kind = options.queue as QueueKind;
  const offer = QUEUE_OFFERS[kind];
  const resources = resolveResources({
    preset: options.preset ?? (offer.gpu && options.vcpus === undefined ? "gpu-1" : undefined),
    vcpus: whole(options.vcpus, "--vcpus"),
    memoryMiB: whole(options.memory, "--memory"),
    gpus: whole(options.gpus, "--gpus"),
  });
  if (offer.gpu && resources.gpus === 0) throw new UserInputError(`--queue ${kind} renders on GPUs; pick a GPU size (--preset gpu-1) or a CPU queue (--queue spot-cpu).`);
  if (!offer.gpu && resources.gpus > 0) throw new UserInputError(`--queue ${kind} has no GPUs; use --queue spot-gpu or on-demand-gpu for a GPU size.`);
  const farm = options.farm ? await farmQueue(options.farm, kind, options.region) : undefined;
  const maxVcpus = whole(options.maxVcpus, "--max-vcpus") ?? farm?.maxVcpus ?? FARM_DEFAULTS.maxVcpus;
  if (maxVcpus < resources.vcpus) throw new UserInputError(`--max-vcpus ${maxVcpus} is below one child's ${resources.vcpus} vCPUs; give at least ${resources.vcpus}.`);
  const split = options.chunkSize ? { chunkSize: whole(options.chunkSize, "--chunk-size")! } : options.arraySize ? { arraySize: whole(options.arraySize, "--array-size")! } : undefined;
  const region = options.region ?? process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION ?? "us-east-1";
  return awsTargetOf({
    queue: kind, child: resources, region: farm?.region ?? region, queueMaxVcpus: maxVcpus, ...(split ? { split } : {}),
    ...(farm?.instanceTypes ? { instanceTypes: farm.instanceTypes } : {}),
    ...(farm?.spotBidPercentage !== undefined ? { spotBidPercentage: farm.spotBidPercentage } : {}),
  });
}

/** `--farm NAME`: the farm's queue of this kind as AWS Batch describes it (exit 2 when the farm or the queue is missing). */
async function farmQueue(name: string, kind: QueueKind, region: string | undefined) {
  const { findFarm } = await import("../../backends/aws/farm-resources.ts");
  const { farmQueueSettings } = await import("../../cost/farm-queue.ts");
  const { BatchClient } = await import("@aws-sdk/client-batch");
  const farm = await findFarm(name, region ? { region } : {});
  const batch = new BatchClient({ region: farm.region });
  try {
    return { region: farm.region, ...(await farmQueueSettings(batch, farm, kind)) };
  } finally {
    batch.destroy();
  }
}

function whole(text: string | undefined, flag: string): number | undefined {
  if (text === undefined) return undefined;
  const value = Number(text);
  if (!Number.isSafeInteger(value) || value < 0) throw new UserInputError(`${flag} "${text}" is not a whole number; give e.g. ${flag} 8.`);
  return value;
}

function range(r: Range, format: (n: number) => string): string {
  return `about ${format(r.expected)} (${format(r.low)} to ${format(r.high)})`;
}

/** The estimate for people: what, how long, what it costs, how it was reached. */
export function formatEstimate(estimate: RenderEstimate): string {
  const where = estimate.target === "local" ? "on this machine" : `on AWS, queue ${estimate.queue}`;
  const lines = [
    `estimate: ${estimate.frames} frame${estimate.frames === 1 ? "" : "s"} ${where}`,
    `  sample:   frames ${estimate.sample.frames.join(", ")} took ${estimate.sample.secondsPerFrame.map((s) => `${s.toFixed(2)} s`).join(", ")} (Blender start ${estimate.sample.startupSeconds.toFixed(1)} s, ${estimate.sample.cores} cores)`,
    `  split:    ${estimate.split.arraySize} child${estimate.split.arraySize === 1 ? "" : "ren"}: ${estimate.split.reason}`,
    `  time:     ${range(estimate.seconds, formatSeconds)}`,
  ];
  if (estimate.cpuHours) lines.push(`  CPU:      ${range(estimate.cpuHours, (h) => `${h.toFixed(3)} core-hours`)}`);
  if (estimate.instanceHours) lines.push(`  compute:  ${range(estimate.instanceHours, (h) => `${h.toFixed(3)} child-hours`)}`);
  if (estimate.usd && estimate.prices) {
    lines.push(`  cost:     ${range(estimate.usd, formatUsd)}`);
    const onDemand = estimate.prices.onDemand === "bundled" ? `the bundled on-demand table of ${estimate.prices.date} (us-east-1${estimate.prices.region === "us-east-1" ? "" : `; ${estimate.prices.region} widened`})` : "AWS's Pricing API";
    const spot = estimate.prices.spot === "spot-price-history" ? "; spot from the region's recent spot history" : estimate.prices.spot === "assumed-discount" ? "; spot assumed at 30-70% of on-demand (history not read)" : "";
    lines.push(`  prices:   ${onDemand}${spot}`);
  }
  if (estimate.blender) lines.push(`  blender:  ${estimate.blender.version} (${estimate.blender.path}) rendered the sample`);
  lines.push(`  method:   ${estimate.method}`);
  return `${lines.join("\n")}\n`;
}
