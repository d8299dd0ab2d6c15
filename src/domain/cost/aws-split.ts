/**
 * The default split of an AWS render (pure): as many children as finish the
 * render soonest, but none so short that its container and Blender start
 * eat a large part of it.
 */
import { MAX_ARRAY_SIZE } from "../frames.ts";

/** A child should render at least this long, so its start (a minute or more) is a small part of what it is billed for. */
export const MIN_CHILD_RENDER_SECONDS = 300;

export type SplitInput = {
  readonly frames: number;
  /** Expected seconds per frame on one child. */
  readonly secondsPerFrame: number;
  readonly childVcpus: number;
  readonly queueMaxVcpus: number;
};

export type DefaultSplit = {
  readonly arraySize: number;
  /** One sentence for the user: why this many children. */
  readonly reason: string;
};

/**
 * Children = the fewest of: the queue's room (max vCPUs / the child's
 * vCPUs: more would only wait), the frames (a child needs one), the render's
 * time over MIN_CHILD_RENDER_SECONDS (each child renders ≥ 5 minutes), and
 * AWS Batch's array limit; at least 1. Within those bounds more children
 * always finish sooner, so the largest allowed is the soonest.
 */
export function defaultAwsSplit(input: SplitInput): DefaultSplit {
  const renderSeconds = input.frames * input.secondsPerFrame;
  const room = Math.max(1, Math.floor(input.queueMaxVcpus / input.childVcpus));
  const byLength = Math.floor(renderSeconds / MIN_CHILD_RENDER_SECONDS);
  const arraySize = Math.max(1, Math.min(room, input.frames, byLength, MAX_ARRAY_SIZE));
  const perChild = renderSeconds / arraySize;
  const each = `each renders about ${formatMinutes(perChild)}`;
  let reason: string;
  if (arraySize === 1 && byLength < 2) {
    reason = `the whole render is about ${formatMinutes(renderSeconds)}, too short to split into children of at least ${MIN_CHILD_RENDER_SECONDS / 60} minutes that would amortize their container and Blender start`;
  } else if (arraySize === room && room <= Math.min(input.frames, byLength)) {
    reason = `${arraySize} children of ${input.childVcpus} vCPUs fill the queue's ${input.queueMaxVcpus} vCPUs (more would wait); ${each}`;
  } else if (arraySize === input.frames) {
    reason = `one child per frame (${arraySize} frames); ${each}`;
  } else {
    reason = `${arraySize} children so each renders at least ${MIN_CHILD_RENDER_SECONDS / 60} minutes (about ${formatMinutes(perChild)}), amortizing its container and Blender start`;
  }
  return { arraySize, reason };
}

function formatMinutes(seconds: number): string {
  return seconds < 90 ? `${Math.round(seconds)} s` : `${(seconds / 60).toFixed(1)} min`;
}
