/**
 * What the local farm costs over plain Blender (issue 16), for today's code
 * (a baseline git ref) and this checkout's.
 *
 * Cases: 6 frames of ~2 s (480x270 Cycles): the ratio to `blender -b FILE -s
 * 1 -e 6 -a`; 12 tiny frames (64x36, 1 sample): the fixed cost (brender minus
 * plain Blender); 24 frames (320x180, 48 samples): the ratio. Runs are paired
 * and alternate (plain, baseline, new; the next round the other way round),
 * medians of BENCH_RUNS (default 3) rounds. Each brender keeps its own
 * BRENDER_HOME across runs, as a user iterating on a file does (the file was
 * rendered once before the timed rounds); "new, file changed" starts from an
 * empty BRENDER_HOME every run (nothing cached). Then the timeline of the new
 * code's last run of each case: every phase, from the CLI's trace marks, the
 * job store and the workers' logs. Prints figures; asserts nothing.
 *
 * Run: npm run build && node bench/pipeline.ts
 *   BENCH_BASE=REF (default 1b8981d)  BENCH_RUNS=N (default 3)  BENCH_QUICK=1 (one round, no 24-frame case)
 *   BENCH_CASES=12,6 (only the cases of these frame counts)
 */
import { execFile } from "node:child_process";
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { BIN, REPO, makeScene, type SceneOptions } from "../test/helpers/blender.ts";
import { baselineBin } from "./pipeline/baseline.ts";
import { formatTimeline, runTimeline } from "./pipeline/timeline.ts";

const run = promisify(execFile);
const quick = process.env.BENCH_QUICK === "1";
const rounds = quick ? 1 : Number(process.env.BENCH_RUNS ?? 3);
const baseRef = process.env.BENCH_BASE ?? "1b8981d";

type Case = { readonly name: string; readonly frames: number; readonly scene: SceneOptions; readonly measure: "ratio" | "extra"; readonly cold?: boolean };
const ALL_CASES: Case[] = [
  { name: "6 frames ~2 s each 480x270 Cycles", frames: 6, scene: { resolution: [480, 270], samples: 40 }, measure: "ratio" },
  { name: "12 frames tiny 64x36 1 sample", frames: 12, scene: { resolution: [64, 36], samples: 1 }, measure: "extra", cold: true },
  ...(quick ? [] : [{ name: "24 frames 320x180 48 samples", frames: 24, scene: { resolution: [320, 180], samples: 48 }, measure: "ratio" } satisfies Case]),
];
// BENCH_CASES=12 (frame counts, comma-separated) runs only those cases.
const only = process.env.BENCH_CASES?.split(",").map(Number);
const CASES = only ? ALL_CASES.filter((entry) => only.includes(entry.frames)) : ALL_CASES;

type Variant = { readonly label: string; readonly bin?: string; readonly fresh?: boolean };

const median = (values: readonly number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
};

const dir = await mkdtemp(join(tmpdir(), "brender-bench-pipeline-"));
try {
  const base = await baselineBin(REPO, baseRef, (line) => console.log(line));
  console.log(`baseline: ${baseRef} (${base.commit.slice(0, 12)}); new: this checkout; ${rounds} paired round(s) per case, medians\n`);
  const table: string[] = [];
  const timelines: string[] = [];
  for (const [caseIndex, entry] of CASES.entries()) {
    const caseDir = join(dir, `case-${caseIndex}`);
    await mkdir(caseDir, { recursive: true });
    const blend = await makeScene(join(caseDir, "scene.blend"), { frames: [1, entry.frames], ...entry.scene });
    const variants: Variant[] = [
      { label: "plain Blender" },
      { label: "brender (baseline)", bin: base.bin },
      { label: "brender (new)", bin: BIN },
      ...(entry.cold ? [{ label: "brender (new, file changed)", bin: BIN, fresh: true }] : []),
    ];
    let runCount = 0;
    const once = async (variant: Variant, frames: string) => {
      runCount += 1;
      const tag = `${variant.label.replace(/\W+/g, "-")}-${runCount}`;
      if (!variant.bin) {
        const started = performance.now();
        await run("blender", ["-b", blend, "-o", join(caseDir, "plain", tag, "frame_####"), "-s", "1", "-e", frames.split("-").pop()!, "-a"], { maxBuffer: 64 << 20 });
        return { seconds: (performance.now() - started) / 1000 };
      }
      const home = join(caseDir, variant.fresh ? `home-${tag}` : `home-${variant.label.replace(/\W+/g, "-")}`);
      const traceFile = join(caseDir, `trace-${tag}.jsonl`);
      const env = { ...process.env, BRENDER_HOME: home, BRENDER_TRACE_FILE: traceFile };
      const spawnedAt = Date.now();
      const started = performance.now();
      const { stdout } = await run(variant.bin, ["render", blend, "--frames", frames, "--json"], { env, maxBuffer: 64 << 20 });
      const seconds = (performance.now() - started) / 1000;
      const summary = JSON.parse(stdout) as { renderId: string; status: string };
      if (summary.status !== "SUCCEEDED") throw new Error(`${variant.label}: render ${summary.renderId} ${summary.status}`);
      return { seconds, timeline: { home, traceFile, renderId: summary.renderId, spawnedAt, exitedAt: Date.now() } };
    };
    // Warm-up: Blender and the file in the page cache; each brender has seen the file once.
    for (const variant of variants) if (!variant.fresh) await once(variant, "1-1");
    const times = new Map<string, number[]>(variants.map((variant) => [variant.label, []]));
    let lastNew: Awaited<ReturnType<typeof once>>["timeline"];
    for (let round = 0; round < rounds; round += 1) {
      const order = round % 2 === 0 ? variants : [...variants].reverse();
      for (const variant of order) {
        const result = await once(variant, `1-${entry.frames}`);
        times.get(variant.label)!.push(result.seconds);
        if (variant.bin === BIN && !variant.fresh) lastNew = result.timeline;
      }
    }
    const plain = times.get("plain Blender")!;
    const cells = variants.slice(1).map((variant) => {
      const brender = times.get(variant.label)!;
      const extra = median(brender.map((seconds, index) => seconds - plain[index]!));
      const ratio = median(brender) / median(plain);
      return `${variant.label} ${median(brender).toFixed(2)} s (${entry.measure === "ratio" ? `x${ratio.toFixed(3)}` : `+${extra.toFixed(2)} s fixed cost`}; runs ${brender.map((s) => s.toFixed(2)).join(", ")})`;
    });
    table.push(`| ${entry.name} | ${median(plain).toFixed(2)} s (runs ${plain.map((s) => s.toFixed(2)).join(", ")}) | ${cells.join(" | ")} |`);
    if (lastNew) timelines.push(`timeline, new code, ${entry.name} (last run):\n${formatTimeline(await runTimeline({ repo: REPO, ...lastNew }))}`);
    console.log(table.at(-1));
  }
  console.log(`\n| case | plain Blender | ${["baseline", "new", "new, file changed (tiny case only)"].join(" | ")} |`);
  for (const row of table) console.log(row);
  console.log("targets: 6-frame ratio <= 1.10, tiny fixed cost <= 1.0 s, 24-frame ratio <= 1.05\n");
  for (const timeline of timelines) console.log(`${timeline}\n`);
} finally {
  await rm(dir, { recursive: true, force: true });
}
