import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { hostKey } from "../domain/cost/actual-cost.ts";
import { parseProgressEventLine, type ProgressEvent } from "../domain/progress-events.ts";

/** What the render children reported, read back from their event files. */
export type RenderSummary = {
  readonly startedAt?: string;
  readonly renderSeconds: number;
  readonly peakMemoryMb?: number;
  readonly fps?: number;
  /** What rendered the frames: "CPU" or "GPU (OPTIX)" and the like, from the children's render settings. */
  readonly device?: string;
  readonly warnings: readonly string[];
  /** The first failure a child reported, if any. */
  readonly failureReason?: string;
  /** Render seconds of each frame rendered in this run, sorted by frame; frames reused from an earlier run have no time and are left out. */
  readonly frameTimes: readonly { readonly frame: number; readonly seconds: number }[];
  /** Blender's CPU seconds summed over every child and attempt that reported them; absent when none did. */
  readonly cpuSeconds?: number;
  /** The host each child's attempt reported (AWS), keyed "child:attempt". */
  readonly hosts: ReadonlyMap<string, HostView>;
};

type HostView = { readonly instanceType?: string; readonly spot?: boolean };

export async function readRenderEvents(eventsFolder: string): Promise<ProgressEvent[]> {
  const names = await readdir(eventsFolder).catch(() => [] as string[]);
  const events: ProgressEvent[] = [];
  for (const name of names.filter((file) => file.endsWith(".jsonl")).sort()) {
    const text = await readFile(join(eventsFolder, name), "utf8");
    for (const line of text.split("\n")) {
      const event = parseProgressEventLine(line);
      if (event) events.push(event);
    }
  }
  return events;
}

/** Folds the children's events into one summary (pure). */
export function summarizeEvents(events: readonly ProgressEvent[]): RenderSummary {
  let startedAt: string | undefined;
  let renderSeconds = 0;
  let peakMemoryMb: number | undefined;
  let fps: number | undefined;
  const devices = new Set<string>();
  let failureReason: string | undefined;
  const warnings = new Set<string>();
  // A frame rendered by two attempts keeps the later time: that attempt's image is the one kept.
  const frameTimes = new Map<number, number>();
  // Each attempt reports its Blender's CPU time so far; an attempt's last report is its total.
  const attemptCpu = new Map<number, number>();
  let cpuSeconds: number | undefined;
  const closeAttempt = (child: number) => {
    const seconds = attemptCpu.get(child);
    if (seconds !== undefined) cpuSeconds = (cpuSeconds ?? 0) + seconds;
    attemptCpu.delete(child);
  };
  const hosts = new Map<string, HostView>();
  let child = 0;
  for (const event of events) {
    switch (event.type) {
      case "child_started":
        if (!startedAt || event.at < startedAt) startedAt = event.at;
        closeAttempt(event.child);
        child = event.child;
        if (event.host && event.attempt !== undefined) hosts.set(hostKey(event.child, event.attempt), event.host);
        break;
      case "frame_finished":
        if (!event.reused) renderSeconds += event.seconds ?? 0;
        if (!event.reused && event.seconds !== undefined) frameTimes.set(event.frame, event.seconds);
        if (event.peakMemoryMb !== undefined) peakMemoryMb = Math.max(peakMemoryMb ?? 0, event.peakMemoryMb);
        if (event.cpuSeconds !== undefined) attemptCpu.set(child, event.cpuSeconds);
        break;
      case "render_settings":
        fps ??= event.fps;
        devices.add(event.device === "GPU" ? `GPU (${event.gpuBackend ?? "unknown backend"})` : "CPU");
        break;
      case "warning":
        warnings.add(event.message);
        break;
      case "child_finished":
        if (event.status === "failed") failureReason ??= event.reason;
        if (event.cpuSeconds !== undefined) attemptCpu.set(event.child, event.cpuSeconds);
        closeAttempt(event.child);
        break;
    }
  }
  for (const open of [...attemptCpu.keys()]) closeAttempt(open);
  return {
    startedAt,
    renderSeconds: Math.round(renderSeconds * 100) / 100,
    peakMemoryMb,
    fps,
    ...(devices.size > 0 ? { device: [...devices].sort().join(", ") } : {}),
    warnings: [...warnings],
    failureReason,
    frameTimes: [...frameTimes].sort((a, b) => a[0] - b[0]).map(([frame, seconds]) => ({ frame, seconds })),
    ...(cpuSeconds !== undefined ? { cpuSeconds: Math.round(cpuSeconds * 1000) / 1000 } : {}),
    hosts,
  };
}
