/**
 * One `brender render` run, phase by phase: the CLI's trace marks
 * (BRENDER_TRACE_FILE: inspection, upload, submit), then each job's attempts
 * from the job store (claimed, process started, ended) and what its log says
 * (the worker's first and last log lines, the render's frame events), so the
 * gaps between them show where the time goes.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";

export type Mark = { readonly label: string; readonly at: number };

type StoreModule = typeof import("../../src/backends/local/job-store.ts");

/** Every mark of one run, sorted by time; `spawnedAt`/`exitedAt` are the benchmark's own clock around the process. */
export async function runTimeline(options: {
  readonly repo: string;
  readonly home: string;
  readonly renderId: string;
  readonly traceFile: string;
  readonly spawnedAt: number;
  readonly exitedAt: number;
}): Promise<Mark[]> {
  const marks: Mark[] = [{ label: "brender started (bench spawns it)", at: options.spawnedAt }];
  for (const line of readLines(options.traceFile)) {
    const entry = parse(line) as { mark?: string; at?: number } | undefined;
    if (entry?.mark && typeof entry.at === "number") marks.push({ label: `cli: ${entry.mark.replaceAll("_", " ")}`, at: entry.at });
  }
  const { openJobStore } = (await import(new URL("dist/backends/local/job-store.js", `file://${options.repo}/`).href)) as StoreModule;
  const store = openJobStore(join(options.home, "farm.sqlite"), {});
  try {
    for (const job of store.listJobs({ renderId: options.renderId, limit: 100 })) {
      const name = job.action;
      const firsts = new Map<string, number>();
      const lasts = new Map<string, number>();
      const note = (label: string, at: number | undefined) => {
        if (at === undefined || Number.isNaN(at)) return;
        firsts.set(label, Math.min(firsts.get(label) ?? at, at));
        lasts.set(label, Math.max(lasts.get(label) ?? at, at));
      };
      for (const child of store.listChildren(job.id, { limit: 10_000 })) {
        for (const attempt of store.listAttempts(job.id, child.index)) {
          note("claimed", attempt.claimedAt);
          note("process started", attempt.startedAt);
          note("ended (seen by the runner)", attempt.stoppedAt);
          if (!attempt.logFile) continue;
          for (const line of readLines(attempt.logFile)) {
            const entry = parse(line) as { time?: number; msg?: string; type?: string; at?: string } | undefined;
            if (!entry) continue;
            if (typeof entry.time === "number" && entry.msg) note(`log: ${entry.msg}`, entry.time);
            if (entry.type && entry.at && entry.type !== "frame_progress") note(`event: ${entry.type}`, Date.parse(entry.at));
          }
        }
      }
      for (const [label, at] of firsts) marks.push({ label: `${name}: ${label}${lasts.get(label) !== at ? " (first)" : ""}`, at });
      for (const [label, at] of lasts) if (firsts.get(label) !== at) marks.push({ label: `${name}: ${label} (last)`, at });
    }
  } finally {
    store.close();
  }
  marks.push({ label: "brender exited (bench sees it)", at: options.exitedAt });
  return marks.sort((a, b) => a.at - b.at);
}

/** The marks as a table: time since the start and since the previous mark. */
export function formatTimeline(marks: readonly Mark[]): string {
  const start = marks[0]?.at ?? 0;
  let previous = start;
  const rows = marks.map((mark) => {
    const row = `${((mark.at - start) / 1000).toFixed(3).padStart(8)} s  +${String(mark.at - previous).padStart(5)} ms  ${mark.label}`;
    previous = mark.at;
    return row;
  });
  return ["   since start   gap      mark", ...rows].join("\n");
}

function readLines(path: string): string[] {
  try {
    return readFileSync(path, "utf8").split("\n").filter(Boolean);
  } catch {
    return [];
  }
}

function parse(line: string): unknown {
  try {
    return JSON.parse(line);
  } catch {
    return undefined;
  }
}
