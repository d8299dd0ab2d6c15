/**
 * `brender estimate`: a render's time (and, on AWS, money) before it starts.
 * Renders a small sample on this machine with the render's own settings, then
 * lets the pure cost domain scale it to the target.
 */
import { sampleFrames, spreadFrames, type SampleResult } from "../blender/sample-frames.ts";
import { defaultAwsSplit, type DefaultSplit } from "../domain/cost/aws-split.ts";
import { BUNDLED_PRICES_DATE, BUNDLED_PRICES_SOURCE } from "../domain/cost/on-demand-prices.ts";
import { roundRange, type Range } from "../domain/cost/range.ts";
import { renderCost, type PriceSource, type Prices, type QueueOffer } from "../domain/cost/render-cost.ts";
import { awsRenderTime, localCpuHours, localRenderSeconds, secondsPerFrame, type ChildResources } from "../domain/cost/render-time.ts";
import { arraySizeFor, expandFrames, parseFrameSet, type FrameSplit } from "../domain/frames.ts";
import type { RenderJobPayload } from "../domain/render-payload.ts";
import type { QueueKind } from "../backends/aws/farm-resources.ts";
import { FARM_DEFAULTS } from "../infra/farm-props.ts";

export type AwsTarget = {
  readonly queue: QueueOffer & { readonly kind: string };
  readonly child: ChildResources;
  readonly queueMaxVcpus: number;
  readonly prices: Prices;
  /** The split the user asked for; absent: the default split from the estimate. */
  readonly split?: FrameSplit;
};

/** What each queue kind offers: spot or on demand, CPU or GPU instances (the farm's defaults). */
export const QUEUE_OFFERS: Record<QueueKind, { readonly spot: boolean; readonly gpu: boolean }> = {
  "spot-cpu": { spot: true, gpu: false },
  "on-demand-cpu": { spot: false, gpu: false },
  "spot-gpu": { spot: true, gpu: true },
  "on-demand-gpu": { spot: false, gpu: true },
};

/** The AWS target of an estimate: a farm queue of the default instance families, children of this size. */
export function awsTargetOf(target: {
  readonly queue: QueueKind;
  readonly child: ChildResources;
  readonly region: string;
  /** @default FARM_DEFAULTS.maxVcpus */
  readonly queueMaxVcpus?: number;
  readonly split?: FrameSplit;
  /** The queue's own instance types and spot bid (`--farm`); default: the farm's deploy defaults. */
  readonly instanceTypes?: readonly string[];
  readonly spotBidPercentage?: number;
  /** Live prices (live-prices.ts); default: the bundled table for the region. */
  readonly prices?: Prices;
}): AwsTarget {
  const offer = QUEUE_OFFERS[target.queue];
  const instanceTypes = target.instanceTypes ?? (offer.gpu ? FARM_DEFAULTS.gpuInstanceTypes : FARM_DEFAULTS.cpuInstanceTypes);
  return {
    queue: { kind: target.queue, spot: offer.spot, instanceTypes, ...(offer.spot && target.spotBidPercentage !== undefined ? { spotBidPercentage: target.spotBidPercentage } : {}) },
    child: { vcpus: target.child.vcpus, gpus: target.child.gpus },
    queueMaxVcpus: target.queueMaxVcpus ?? FARM_DEFAULTS.maxVcpus,
    prices: target.prices ?? { region: target.region },
    ...(target.split ? { split: target.split } : {}),
  };
}

export type RenderEstimate = {
  readonly target: "local" | "aws";
  readonly method: string;
  readonly frames: number;
  readonly sample: { readonly frames: readonly number[]; readonly secondsPerFrame: readonly number[]; readonly startupSeconds: number; readonly cores: number };
  /** Seconds per frame on the target (one child). */
  readonly secondsPerFrame: Range;
  readonly split: { readonly arraySize: number; readonly reason: string };
  /** Wall time of the whole render. */
  readonly seconds: Range;
  /** Local: core-hours this machine is busy. */
  readonly cpuHours?: Range;
  /** AWS: render child-hours (each child's share of its host). */
  readonly instanceHours?: Range;
  readonly usd?: Range;
  readonly prices?: PriceSource & { readonly table?: string };
  readonly queue?: string;
  /** The Blender that rendered the sample. */
  readonly blender?: { readonly version: string; readonly path: string };
};

export type EstimateInput = {
  readonly blendPath: string;
  readonly payload: RenderJobPayload;
  /** Seconds the inspection before it took (a render pays it too). */
  readonly inspectSeconds: number;
  readonly aws?: AwsTarget;
  /** The Blender that samples (the one that will render here: `--blender` or the nearest to the file's); default: the environment's. */
  readonly blender?: { readonly path: string; readonly version: string };
  readonly signal?: AbortSignal;
  readonly env?: NodeJS.ProcessEnv;
};

/** Samples, then estimates for this machine or the AWS target. */
export async function estimateRender(input: EstimateInput): Promise<RenderEstimate> {
  const frames = expandFrames(parseFrameSet(input.payload.frames));
  const picked = spreadFrames(frames);
  const env = input.blender ? { ...(input.env ?? process.env), BLENDER_EXECUTABLE: input.blender.path } : input.env;
  const sample = await sampleFrames(input.blendPath, input.payload, picked, { signal: input.signal, env });
  const estimate = input.aws ? awsEstimate(frames.length, sample, input.aws) : localEstimate(frames.length, sample, input.payload.split, input.inspectSeconds);
  return input.blender ? { ...estimate, blender: { version: input.blender.version, path: input.blender.path } } : estimate;
}

function sampleSummary(sample: SampleResult) {
  return {
    frames: sample.frames,
    secondsPerFrame: sample.secondsPerFrame.map((s) => Math.round(s * 1000) / 1000),
    startupSeconds: Math.round(sample.startupSeconds * 1000) / 1000,
    cores: sample.cores,
  };
}

export function localEstimate(frameTotal: number, sample: SampleResult, split: FrameSplit, inspectSeconds: number): RenderEstimate {
  const children = arraySizeFor(frameTotal, split);
  const input = { frames: frameTotal, children, sample, inspectSeconds };
  return {
    target: "local",
    method: `rendered ${sample.frames.length} of ${frameTotal} frames (${sample.frames.join(", ")}) on this machine's ${sample.cores} cores at the render's settings; every frame at their mean rate, one Blender start per child, the copy and upload jobs`,
    frames: frameTotal,
    sample: sampleSummary(sample),
    secondsPerFrame: roundRange(secondsPerFrame(sample), 3),
    split: { arraySize: children, reason: "as given (the local farm's default is one child)" },
    seconds: roundRange(localRenderSeconds(input), 1),
    cpuHours: roundRange(localCpuHours(input), 4),
  };
}

export function awsEstimate(frameTotal: number, sample: SampleResult, target: AwsTarget): RenderEstimate {
  const probe = awsRenderTime({ frames: frameTotal, children: 1, sample, child: target.child, queueMaxVcpus: target.queueMaxVcpus });
  const split: DefaultSplit = target.split
    ? { arraySize: arraySizeFor(frameTotal, target.split), reason: "as given" }
    : defaultAwsSplit({ frames: frameTotal, secondsPerFrame: probe.secondsPerFrame.expected, childVcpus: target.child.vcpus, queueMaxVcpus: target.queueMaxVcpus });
  const time = awsRenderTime({ frames: frameTotal, children: split.arraySize, sample, child: target.child, queueMaxVcpus: target.queueMaxVcpus });
  const cost = renderCost({ queue: target.queue, child: target.child, renderChildSeconds: time.renderChildSeconds, ioSeconds: time.ioSeconds, prices: target.prices });
  return {
    target: "aws",
    method: `rendered ${sample.frames.length} of ${frameTotal} frames (${sample.frames.join(", ")}) on this machine; ${time.method}`,
    frames: frameTotal,
    sample: sampleSummary(sample),
    secondsPerFrame: roundRange(time.secondsPerFrame, 3),
    split,
    seconds: roundRange(time.seconds, 1),
    instanceHours: roundRange(cost.instanceHours, 4),
    usd: roundRange(cost.usd, 4),
    prices: { ...cost.source, ...(cost.source.onDemand === "bundled" ? { table: `${BUNDLED_PRICES_SOURCE}, ${BUNDLED_PRICES_DATE}` } : {}) },
    queue: target.queue.kind,
  };
}
