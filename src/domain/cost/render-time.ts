/**
 * How long a render will take, from a sample rendered on this machine
 * (pure). The sample gives seconds per frame with every core of this
 * machine and the time Blender takes to start and load the file; the
 * render's wall time follows from the split and the target: this machine
 * (children share its cores), or an AWS queue (each child on its own vCPUs,
 * as many children at once as the queue's vCPUs allow, plus container start
 * and the copy and upload jobs).
 */
import { addRanges, constantRange, scaleRange, type Range } from "./range.ts";

/** What rendering a few frames on this machine measured. */
export type FrameSample = {
  /** Seconds each sampled frame took to render (Blender already started). */
  readonly secondsPerFrame: readonly number[];
  /** Seconds from Blender's start to its first frame starting: process, file, kernels. */
  readonly startupSeconds: number;
  /** The cores this machine rendered the sample with. */
  readonly cores: number;
};

/**
 * Spread of the frame time beyond what the sample saw: frames not sampled
 * may be heavier or lighter (motion, visibility), and a busy machine makes
 * timings noisy. low = fastest sampled × 0.85, high = slowest × 1.25.
 */
export const UNSAMPLED_FRAME_SPREAD = { low: 0.85, high: 1.25 } as const;

/**
 * Seconds per frame on this machine. The first frame a Blender renders also
 * pays one-time work (kernels, images, BVH caches), so with two or more
 * sampled frames the rate is the mean of the others and the first frame's
 * excess is counted once per child (firstFrameExtraSeconds). Widened by
 * UNSAMPLED_FRAME_SPREAD.
 */
export function secondsPerFrame(sample: FrameSample): Range {
  const times = sample.secondsPerFrame;
  if (times.length === 0) throw new RangeError("a frame sample needs at least one frame's time");
  const steady = times.length >= 2 ? times.slice(1) : times;
  const mean = steady.reduce((sum, t) => sum + t, 0) / steady.length;
  return {
    low: Math.min(...steady) * UNSAMPLED_FRAME_SPREAD.low,
    expected: mean,
    high: Math.max(...times) * UNSAMPLED_FRAME_SPREAD.high,
  };
}

/** What the first frame of a Blender start took beyond the steady rate: paid once per child. */
export function firstFrameExtraSeconds(sample: FrameSample): number {
  if (sample.secondsPerFrame.length < 2) return 0;
  return Math.max(0, sample.secondsPerFrame[0]! - secondsPerFrame(sample).expected);
}

/** Blender's start plus the first frame's one-time work: what every child pays once. */
function perChildStartSeconds(sample: FrameSample): number {
  return sample.startupSeconds + firstFrameExtraSeconds(sample);
}

/**
 * What the local pipeline adds around the render children: a runner and a
 * worker process per job, the copy job, the upload job (zip, thumbnail,
 * preview video: grows with the frames). These are process starts and file
 * work, which slow down with the machine's load like Blender's own start, so
 * they are counted in Blender starts measured by the same sample (about 1.5 s
 * in all on an idle 2-core machine, README's overhead benchmark; several
 * times that on a loaded one), plus a share per frame.
 */
export const LOCAL_PIPELINE_IN_BLENDER_STARTS: Range = { low: 1, expected: 2, high: 4 };
export const LOCAL_PIPELINE_SECONDS_PER_FRAME: Range = { low: 0.01, expected: 0.04, high: 0.1 };

export type LocalTimeInput = {
  readonly frames: number;
  readonly children: number;
  readonly sample: FrameSample;
  /** Seconds `brender render` spends before submitting: the scene inspection (one short Blender start). @default 0 */
  readonly inspectSeconds?: number;
};

/**
 * Wall time on this machine. Children run side by side on the local farm,
 * but each Blender already uses every core, so the machine's work adds up:
 * every frame at the sampled rate plus one Blender start per child.
 */
export function localRenderSeconds(input: LocalTimeInput): Range {
  const perFrame = secondsPerFrame(input.sample);
  const render = scaleRange(perFrame, input.frames);
  const starts = constantRange(input.children * perChildStartSeconds(input.sample));
  const pipeline = addRanges(scaleRange(LOCAL_PIPELINE_IN_BLENDER_STARTS, input.sample.startupSeconds), scaleRange(LOCAL_PIPELINE_SECONDS_PER_FRAME, input.frames));
  return addRanges(render, starts, pipeline, constantRange(input.inspectSeconds ?? 0));
}

/** Core-hours the local render keeps this machine busy (its rendering, every core). */
export function localCpuHours(input: LocalTimeInput): Range {
  const perFrame = secondsPerFrame(input.sample);
  const busy = addRanges(scaleRange(perFrame, input.frames), constantRange(input.children * perChildStartSeconds(input.sample)));
  return scaleRange(busy, input.sample.cores / 3600);
}

/**
 * A new Batch child: an instance to start (when none is free), the worker
 * image to pull, the container to start. About a minute when an instance is
 * warm, several when one must boot and pull a multi-GB image.
 */
export const AWS_CONTAINER_START_SECONDS: Range = { low: 30, expected: 120, high: 300 };
/** The copy job (project from S3 to EFS) and the upload job (outputs to S3, zip, preview), each also a container start. */
export const AWS_COPY_SECONDS: Range = { low: 30, expected: 90, high: 300 };
export const AWS_UPLOAD_SECONDS_FIXED: Range = { low: 30, expected: 90, high: 300 };
/** Per frame uploaded (and zipped, and encoded into the preview): a small frame, on a 2-vCPU io instance. */
export const AWS_UPLOAD_SECONDS_PER_FRAME: Range = { low: 0.02, expected: 0.1, high: 0.5 };

/** What one render child asks Batch for. */
export type ChildResources = { readonly vcpus: number; readonly gpus: number };

export type AwsTimeInput = {
  readonly frames: number;
  readonly children: number;
  readonly sample: FrameSample;
  readonly child: ChildResources;
  /** The render queue's compute environment ceiling: how many vCPUs may run at once. */
  readonly queueMaxVcpus: number;
};

export type AwsTime = {
  /** Wall time from submit to the upload job's end. */
  readonly seconds: Range;
  /** Seconds per frame on one child. */
  readonly secondsPerFrame: Range;
  /** Children running at once (the queue's vCPUs over the child's). */
  readonly concurrentChildren: number;
  /** Seconds every render child is billed for, summed (start, Blender start, frames). */
  readonly renderChildSeconds: Range;
  /** Seconds the copy and upload jobs run, summed. */
  readonly ioSeconds: Range;
  /** How the figures were reached. */
  readonly method: string;
};

/**
 * Rendering scales with cores for Cycles and Eevee on CPU: a frame on a
 * child of V vCPUs takes (this machine's cores / V) times the sampled time.
 * GPU speed cannot be sampled on a machine without the farm's GPU: the
 * child's vCPU scaling is used, with the low bound four times faster, and the
 * method says so.
 */
export function awsRenderTime(input: AwsTimeInput): AwsTime {
  const local = secondsPerFrame(input.sample);
  const cpuScaled = scaleRange(local, input.sample.cores / input.child.vcpus);
  const perFrame = input.child.gpus > 0 ? { ...cpuScaled, low: cpuScaled.low / 4 } : cpuScaled;
  const startup = addRanges(AWS_CONTAINER_START_SECONDS, constantRange(perChildStartSeconds(input.sample)));
  const concurrent = Math.max(1, Math.min(input.children, Math.floor(input.queueMaxVcpus / input.child.vcpus)));
  const waves = Math.ceil(input.children / concurrent);
  const largestShare = Math.ceil(input.frames / input.children);
  const childWall = addRanges(startup, scaleRange(perFrame, largestShare));
  const upload = addRanges(AWS_UPLOAD_SECONDS_FIXED, scaleRange(AWS_UPLOAD_SECONDS_PER_FRAME, input.frames));
  const seconds = addRanges(AWS_COPY_SECONDS, scaleRange(childWall, waves), upload);
  const renderChildSeconds = addRanges(scaleRange(startup, input.children), scaleRange(perFrame, input.frames));
  const method =
    `sampled frames on ${input.sample.cores} local core${input.sample.cores === 1 ? "" : "s"} scaled to ${input.child.vcpus} vCPUs per child` +
    (input.child.gpus > 0 ? " (GPU speed not measured: vCPU scaling, low bound 4x faster)" : "") +
    `; ${input.children} child${input.children === 1 ? "" : "ren"}, ${concurrent} at once (${waves} wave${waves === 1 ? "" : "s"}); ` +
    `plus container start ${AWS_CONTAINER_START_SECONDS.expected} s per child, copy and upload jobs`;
  return { seconds, secondsPerFrame: perFrame, concurrentChildren: concurrent, renderChildSeconds, ioSeconds: addRanges(AWS_COPY_SECONDS, upload), method };
}
