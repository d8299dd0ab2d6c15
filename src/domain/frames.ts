/**
 * Frame sets: the frames a user picks for a job ("1-250", "1,5,10-20:2"),
 * and how the selected frames are shared out across the children of an
 * array job.
 */
import { UserInputError } from "./errors.ts";

/** Every `step`-th frame from `start` to `end` inclusive; `end` is always a frame actually included. */
export type FrameRange = { readonly start: number; readonly end: number; readonly step: number };

/** The frames of a job, in the order the user wrote them. No frame appears twice. */
export type FrameSet = { readonly ranges: readonly FrameRange[] };

/** More frames than this in one job is almost certainly a typo. */
export const MAX_FRAMES_PER_JOB = 1_000_000;
/** Blender's lowest frame number (MINAFRAME). */
export const MIN_FRAME = -1_048_574;
/** Blender's highest frame number (MAXFRAME). */
export const MAX_FRAME = 1_048_574;
/** AWS Batch refuses array jobs with more children than this. */
export const MAX_ARRAY_SIZE = 10_000;

const EXPECTED_FORM = 'write N, A-B or A-B:S with whole numbers, e.g. "7", "1-250" or "1-250:10"';

// `-?` on every number so negative frames ("-5--1") and negative steps
// (rejected below with a precise message) both parse.
const PART_PATTERN = /^(-?\d+)(?:-(-?\d+)(?::(-?\d+))?)?$/;

/** A parsed part with the text it came from, so errors can quote it. */
type WrittenRange = { readonly range: FrameRange; readonly text: string };

/**
 * Parses a frame set such as "1-250", "1,5,10-20:2" or "-10-10:2".
 * Each range is normalised so `end` is the last frame actually selected
 * (`1-10:4` becomes 1-9:4) and single frames have step 1.
 * Throws UserInputError, quoting the bad part, on bad syntax, reversed
 * ranges, non-positive steps, frames beyond Blender's limits, more than
 * MAX_FRAMES_PER_JOB frames, or a frame selected twice.
 */
export function parseFrameSet(text: string): FrameSet {
  if (text.trim() === "") {
    throw new UserInputError(`the frame set is empty; ${EXPECTED_FORM}`);
  }
  const parts = text.split(",").map((part) => part.trim());
  const written: WrittenRange[] = [];
  for (const [index, part] of parts.entries()) {
    if (part === "") {
      throw new UserInputError(
        `frame set ${quote(text)} has an empty part (part ${index + 1}); remove the extra comma or ${EXPECTED_FORM}`,
      );
    }
    written.push({ range: parsePart(part), text: part });
  }
  const ranges = written.map((w) => w.range);
  const total = frameCount({ ranges });
  if (total > MAX_FRAMES_PER_JOB) {
    throw new UserInputError(
      `frame set ${quote(text)} selects ${total} frames, an absurd size; select at most ${MAX_FRAMES_PER_JOB} frames per job`,
    );
  }
  rejectOverlaps(written);
  return { ranges };
}

function parsePart(part: string): FrameRange {
  const match = PART_PATTERN.exec(part);
  if (match === null) {
    throw new UserInputError(`frame set part ${quote(part)} is not a frame or a frame range; ${EXPECTED_FORM}`);
  }
  const [, startText, endText, stepText] = match;
  const start = toFrame(startText ?? "", part);
  const end = endText === undefined ? start : toFrame(endText, part);
  const step = stepText === undefined ? 1 : toNumber(stepText);
  if (step < 1) {
    throw new UserInputError(
      `frame range ${quote(part)} has step ${step}; the step must be a whole number of at least 1, e.g. "1-10:2"`,
    );
  }
  if (end < start) {
    throw new UserInputError(
      `frame range ${quote(part)} runs backwards; write the lower frame first, e.g. "${end}-${start}${stepText === undefined ? "" : `:${step}`}"`,
    );
  }
  const lastIncluded = start + Math.floor((end - start) / step) * step;
  return lastIncluded === start ? { start, end: start, step: 1 } : { start, end: lastIncluded, step };
}

function toFrame(digits: string, part: string): number {
  const frame = toNumber(digits);
  if (frame < MIN_FRAME || frame > MAX_FRAME) {
    throw new UserInputError(
      `frame ${digits} in ${quote(part)} is outside Blender's frame limits; use frames from ${MIN_FRAME} to ${MAX_FRAME}`,
    );
  }
  return frame;
}

// "-0" must become 0, not -0: -0 prints as "0" but compares unequal in deepStrictEqual.
function toNumber(digits: string): number {
  return Number(digits) || 0;
}

/**
 * Marks every selected frame in a bitmap spanning the selection; the span is
 * at most Blender's whole frame range (~2 MB) and the frames at most
 * MAX_FRAMES_PER_JOB, so this is linear and exact even for interleaved steps.
 */
function rejectOverlaps(written: readonly WrittenRange[]): void {
  if (written.length < 2) return;
  let lowest = Infinity;
  let highest = -Infinity;
  for (const { range } of written) {
    lowest = Math.min(lowest, range.start);
    highest = Math.max(highest, range.end);
  }
  const seen = new Uint8Array(highest - lowest + 1);
  for (const [index, { range, text }] of written.entries()) {
    for (let frame = range.start; frame <= range.end; frame += range.step) {
      if (seen[frame - lowest] === 1) {
        const earlier = written.slice(0, index).find((w) => includesFrame(w.range, frame));
        throw new UserInputError(
          `frame set parts ${quote(earlier?.text ?? "?")} and ${quote(text)} both select frame ${frame}; select each frame only once`,
        );
      }
      seen[frame - lowest] = 1;
    }
  }
}

function includesFrame(range: FrameRange, frame: number): boolean {
  return frame >= range.start && frame <= range.end && (frame - range.start) % range.step === 0;
}

function quote(text: string): string {
  // Keep error messages on one readable line even for huge generated inputs.
  const limit = 80;
  return JSON.stringify(text.length > limit ? `${text.slice(0, limit)}…` : text);
}

/**
 * The canonical text of a frame set: "7", "1-250", "1-249:4", parts joined
 * by "," without spaces, step 1 omitted. parseFrameSet reads it back to an
 * equal set.
 */
export function formatFrameSet(set: FrameSet): string {
  return set.ranges.map(formatRange).join(",");
}

function formatRange({ start, end, step }: FrameRange): string {
  if (start === end) return `${start}`;
  return step === 1 ? `${start}-${end}` : `${start}-${end}:${step}`;
}

/** How many frames the set selects, without expanding it. */
export function frameCount(set: FrameSet): number {
  let total = 0;
  for (const { start, end, step } of set.ranges) {
    total += Math.floor((end - start) / step) + 1;
  }
  return total;
}

/** Every selected frame, in the order the ranges were written. */
export function expandFrames(set: FrameSet): number[] {
  const frames = new Array<number>(frameCount(set));
  let next = 0;
  for (const { start, end, step } of set.ranges) {
    for (let frame = start; frame <= end; frame += step) {
      frames[next++] = frame;
    }
  }
  return frames;
}

/**
 * Turns a list of frames back into a short frame set of arithmetic runs,
 * keeping the list's order: [1,3,5,6,7] becomes "1-5:2,6-7". Meant for
 * showing a child's share; expanding the result gives the list back.
 * A lone pair with a gap ("1-10:9") is written as two frames ("1,10"), as
 * that reads better and is no longer.
 */
export function compressFrames(frames: readonly number[]): FrameSet {
  const ranges: FrameRange[] = [];
  let i = 0;
  while (i < frames.length) {
    const runEnd = lastOfRun(frames, i);
    const runLength = runEnd - i + 1;
    // A gapped pair followed by a longer run reads better as a lone frame and
    // the run: [1,10,11,12] gives "1,10-12" rather than "1,10,11-12". Pairs of
    // neighbours stay together: [1,2,4,5,6] is best as "1-2,4-6".
    if (runLength === 2 && frames[i + 1]! - frames[i]! !== 1 && lastOfRun(frames, i + 1) - i >= 3) {
      ranges.push(single(frames[i] ?? 0));
      i += 1;
      continue;
    }
    const start = frames[i] ?? 0;
    const end = frames[runEnd] ?? 0;
    if (runLength === 1) {
      ranges.push(single(start));
    } else if (runLength === 2 && end - start !== 1) {
      ranges.push(single(start), single(end));
    } else {
      ranges.push({ start, end, step: frames[i + 1]! - start });
    }
    i = runEnd + 1;
  }
  return { ranges };
}

/** Index of the last frame of the longest arithmetic run (positive step) starting at `from`. */
function lastOfRun(frames: readonly number[], from: number): number {
  const first = frames[from];
  const second = frames[from + 1];
  if (first === undefined || second === undefined || second <= first) return from;
  const step = second - first;
  let last = from + 1;
  while (last + 1 < frames.length && frames[last + 1]! - frames[last]! === step) last++;
  return last;
}

function single(frame: number): FrameRange {
  return { start: frame, end: frame, step: 1 };
}

/** How to share the selected frames: into a fixed number of children, or into chunks of a fixed size. */
export type FrameSplit = { readonly arraySize: number } | { readonly chunkSize: number };

/**
 * The number of children of an array job: the given arraySize, or
 * ceil(frameCount / chunkSize) (at least one, so an empty list still gets a child).
 * Throws UserInputError if the split is invalid or needs more than MAX_ARRAY_SIZE children.
 */
export function arraySizeFor(frameCount: number, split: FrameSplit): number {
  if (!Number.isSafeInteger(frameCount) || frameCount < 0) {
    throw new RangeError(`frame count must be a whole number of at least 0, got ${frameCount}`);
  }
  if ("arraySize" in split) {
    const { arraySize } = split;
    if (!Number.isSafeInteger(arraySize) || arraySize < 1 || arraySize > MAX_ARRAY_SIZE) {
      throw new UserInputError(
        `array size ${arraySize} is not allowed; use a whole number from 1 to ${MAX_ARRAY_SIZE} (AWS Batch's array limit)`,
      );
    }
    return arraySize;
  }
  const { chunkSize } = split;
  if (!Number.isSafeInteger(chunkSize) || chunkSize < 1) {
    throw new UserInputError(`chunk size ${chunkSize} is not allowed; use a whole number of frames of at least 1`);
  }
  const children = Math.max(1, Math.ceil(frameCount / chunkSize));
  if (children > MAX_ARRAY_SIZE) {
    const smallest = Math.ceil(frameCount / MAX_ARRAY_SIZE);
    throw new UserInputError(
      `chunk size ${chunkSize} splits ${frameCount} frames into ${children} children, more than AWS Batch's ${MAX_ARRAY_SIZE}; use a chunk size of at least ${smallest}`,
    );
  }
  return children;
}

/** Every child's share of the frames: contiguous pieces of the list, in order. */
export function splitFrames(frames: readonly number[], split: FrameSplit): number[][] {
  const children = arraySizeFor(frames.length, split);
  const shares: number[][] = [];
  for (let index = 0; index < children; index++) {
    const { from, to } = shareBounds(frames.length, split, children, index);
    shares.push(frames.slice(from, to));
  }
  return shares;
}

/**
 * One child's share of the frames, computed directly (cost proportional to
 * the share, not the job): equal to splitFrames(frames, split)[index].
 * By arraySize the shares differ by at most one frame, larger ones first;
 * by chunkSize every share has chunkSize frames except possibly the last.
 * Throws UserInputError if the split is invalid or index is not a child.
 */
export function framesForChild(frames: readonly number[], split: FrameSplit, index: number): number[] {
  const children = arraySizeFor(frames.length, split);
  if (!Number.isSafeInteger(index) || index < 0 || index >= children) {
    throw new UserInputError(
      `child index ${index} is out of range for an array job of ${children} children; use 0 to ${children - 1}`,
    );
  }
  const { from, to } = shareBounds(frames.length, split, children, index);
  return frames.slice(from, to);
}

function shareBounds(
  count: number,
  split: FrameSplit,
  children: number,
  index: number,
): { from: number; to: number } {
  if ("chunkSize" in split) {
    const from = Math.min(count, index * split.chunkSize);
    return { from, to: Math.min(count, from + split.chunkSize) };
  }
  const base = Math.floor(count / children);
  const larger = count % children; // the first `larger` children take one extra frame
  const from = index * base + Math.min(index, larger);
  return { from, to: from + base + (index < larger ? 1 : 0) };
}
