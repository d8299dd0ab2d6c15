/**
 * How fast does the local farm hand out work?
 *
 * Submits a 100,000-frame render at chunk size 1 (copy -> a 100,000-child
 * render array -> upload) and runs it with a no-op worker: `true` (coreutils),
 * so each child costs exactly what the farm adds (claim, spawn, log file,
 * exit, finish) and nothing else. Prints the submit time, the dispatch rate
 * (children started and finished per second, end to end) and the peak
 * memory; asserts nothing. Targets (issue 3): submit < 2 s, >= 500 children/s,
 * < 300 MB.
 *
 * Run: npm run build && node bench/dispatch.ts [frames=100000] [vcpus=this machine's cores]
 * (without a build it runs the sources, and says so).
 */
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { availableParallelism, tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { PlannedJob } from "../src/domain/render-plan.ts";

// The compiled farm when built (what `brender` runs), else the sources. It matters: every
// child is a fork of this process, and a fork costs more the bigger the process, and
// stripping types from the sources adds about 30 MB.
const dist = new URL("../dist/backends/local/", import.meta.url);
const built = existsSync(fileURLToPath(new URL("runner.js", dist)));
const modules = built ? dist : new URL("../src/backends/local/", import.meta.url);
const extension = built ? "js" : "ts";
const { openJobStore } = (await import(new URL(`job-store.${extension}`, modules).href)) as typeof import("../src/backends/local/job-store.ts");
const { runLocalFarm } = (await import(new URL(`runner.${extension}`, modules).href)) as typeof import("../src/backends/local/runner.ts");

const frames = Number(process.argv[2] ?? 100_000);
const vcpus = Number(process.argv[3] ?? availableParallelism());
const dir = mkdtempSync(join(tmpdir(), "brender-bench-dispatch-"));

try {
  const store = openJobStore(join(dir, "jobs.db"), { maxArraySize: 100_000, maxVcpus: vcpus });
  // Built by hand: compileRenderPlan keeps AWS's 10,000-child limit, which this benchmark exceeds on purpose.
  const plan: PlannedJob[] = [
    { name: "bench-copy", action: "copy_efs", arraySize: 1, dependsOn: [], environment: {} },
    { name: "bench-render", action: "render", arraySize: frames, dependsOn: ["bench-copy"], environment: {} },
    { name: "bench-upload", action: "upload_render_output", arraySize: 1, dependsOn: ["bench-render"], environment: {} },
  ];
  const submitStarted = performance.now();
  const ids = store.submitPlan(plan, { renderId: "bench-dispatch" });
  const submitSeconds = (performance.now() - submitStarted) / 1000;

  let dispatched = 0;
  let failed = 0;
  const runStarted = performance.now();
  await runLocalFarm({
    store,
    logDir: join(dir, "logs"),
    workerCommand: { command: "true", args: [] },
    untilIdle: true,
    onEvent: (event) => {
      if (event.type !== "exited") return;
      dispatched += 1;
      if (event.status !== "SUCCEEDED") failed += 1;
    },
  });
  const runSeconds = (performance.now() - runStarted) / 1000;
  const rate = dispatched / runSeconds;
  const peakMiB = process.resourceUsage().maxRSS / 1024;
  const statuses = ids.map((id) => store.getJob(id)?.status).join(", ");
  store.close();

  console.log(`plan: copy -> render (${frames} children, chunk size 1) -> upload; worker: true; compute environment: ${vcpus} vCPUs; farm code: ${built ? "dist/" : "src/ (not built)"}`);
  console.log(`submit:        ${submitSeconds.toFixed(2)} s   (target < 2 s)`);
  console.log(`dispatch:      ${dispatched} children in ${runSeconds.toFixed(1)} s = ${rate.toFixed(0)} children/s   (target >= 500/s)`);
  console.log(`peak memory:   ${peakMiB.toFixed(0)} MB maxRSS   (target < 300 MB)`);
  console.log(`job statuses:  ${statuses}; failed attempts: ${failed}`);
  if (rate < 500) {
    console.log(
      `note: below 500/s on ${availableParallelism()} cores. Each child is a real process: a fork of this runner (which costs more ` +
        `the bigger the runner is), an exec, its own log file and three store transactions; process creation, not the store, bounds the rate here.`,
    );
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
