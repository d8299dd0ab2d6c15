import { describe, it, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, copyFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { openJobStore, type JobStore } from "../../../src/backends/local/job-store.ts";
import { runLocalFarm, type RunnerEvent, type RunnerOptions } from "../../../src/backends/local/runner.ts";
import { brender, makeScene } from "../../helpers/blender.ts";
import { childProcesses, isAlive as alive } from "../../helpers/processes.ts";

// The spare runs the build (dist/cli/main.js worker --job-on-stdin): `npm run build` first.

let root: string;
let count = 0;
let scene: string;
before(async () => {
  root = mkdtempSync(join(tmpdir(), "brender-spare-"));
  scene = await makeScene(join(root, "scene.blend"), { frames: [1, 3], resolution: [32, 18], samples: 1 });
});
after(() => rmSync(root, { recursive: true, force: true }));

function fresh(): { store: JobStore; logDir: string; work: string } {
  count += 1;
  const work = join(root, `work-${count}`);
  mkdirSync(work);
  return { store: openJobStore(join(root, `jobs-${count}.db`), { maxVcpus: 4 }), logDir: join(root, `logs-${count}`), work };
}

/** The runner's spare workers: processes of `parent` started with --job-on-stdin. */
const sparesOf = (parent: number) => childProcesses(parent, "--job-on-stdin");

async function waitFor<T>(what: string, value: () => T | undefined, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const found = value();
    if (found !== undefined) return found;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((done) => setTimeout(done, 20));
  }
}

/** A render job's environment for a project already in `work` (as the copy job would have left it). */
function renderJob(work: string, renderId: string, extra: Record<string, string> = {}) {
  mkdirSync(join(work, renderId, "project"), { recursive: true });
  copyFileSync(scene, join(work, renderId, "project", "scene.blend"));
  const payload = { schemaVersion: 1, renderId, project: { name: "spare", blendFile: "scene.blend" }, type: "animation", frames: "1-3" };
  return { EFS_BLENDER_FOLDER_PATH: work, BRENDER_JOB_PAYLOAD: JSON.stringify(payload), ...extra };
}

/** Runs `body` while a runner with the defaults (a spare worker among them) serves `store`, then stops it. */
async function whileRunning(store: JobStore, logDir: string, options: Pick<RunnerOptions, "onEvent" | "heartbeatMs">, body: () => Promise<void>): Promise<void> {
  const stop = new AbortController();
  const running = runLocalFarm({ store, logDir, pollMs: 20, stop: stop.signal, baseEnv: { PATH: process.env.PATH ?? "", BRENDER_HOME: root }, ...options });
  try {
    await body();
  } finally {
    stop.abort();
    await running;
  }
}

const logOf = (store: JobStore, jobId: string) => readFileSync(store.listAttempts(jobId, 0)[0]!.logFile!, "utf8");

describe("runner: the spare worker process", () => {
  it("runs a render child in the worker it started before the job existed, with the job's log, events and status", async () => {
    const { store, logDir, work } = fresh();
    const started: RunnerEvent[] = [];
    await whileRunning(store, logDir, { onEvent: (event) => event.type === "started" && started.push(event) }, async () => {
      const spare = await waitFor("the spare worker", () => sparesOf(process.pid)[0]);
      // A job that sets a variable Node reads at its start cannot use the spare: it gets a worker of its own.
      const own = store.submitJob({ name: "own-node", action: "render", environment: renderJob(work, "own-node", { NODE_OPTIONS: "--no-deprecation" }) });
      await waitFor("the first job's end", () => (store.getJob(own)?.status === "SUCCEEDED" || store.getJob(own)?.status === "FAILED" ? true : undefined), 60_000);
      assert.equal(store.getJob(own)?.status, "SUCCEEDED", logOf(store, own));
      assert.notEqual(started[0]?.type === "started" && started[0].pid, spare);
      assert.ok(alive(spare), "the spare still waits");

      const job = store.submitJob({ name: "in-spare", action: "render", environment: renderJob(work, "in-spare") });
      await waitFor("the second job's end", () => (["SUCCEEDED", "FAILED"].includes(store.getJob(job)?.status ?? "") ? true : undefined), 60_000);
      assert.equal(store.getJob(job)?.status, "SUCCEEDED", logOf(store, job));
      assert.equal(started[1]?.type === "started" && started[1].pid, spare, "the render ran in the spare");
      const log = logOf(store, job);
      assert.match(log, /"msg":"job started"/);
      assert.match(log, /"type":"child_finished","child":0,"status":"succeeded","framesDone":3/);
      assert.deepEqual(readdirSync(join(work, "in-spare", "output", "frames")).sort(), ["frame_0001.png", "frame_0002.png", "frame_0003.png"]);
    });
    store.close();
  });

  it("a job that fails in the spare fails with the worker's own reason, as a worker started for it would", async () => {
    const { store, logDir, work } = fresh();
    const bad = renderJob(work, "bad-one", { BRENDER_JOB_PAYLOAD: JSON.stringify({ schemaVersion: 1, renderId: "Bad Id", project: { name: "p", blendFile: "s.blend" }, type: "animation", frames: "1" }) });
    const pids: number[] = [];
    await whileRunning(store, logDir, { onEvent: (event) => event.type === "started" && pids.push(event.pid) }, async () => {
      const spare = await waitFor("the spare worker", () => sparesOf(process.pid)[0]);
      const job = store.submitJob({ name: "bad", action: "render", environment: bad });
      await waitFor("the job's end", () => (store.getJob(job)?.status === "FAILED" ? true : undefined));
      assert.deepEqual(pids, [spare]);
      assert.match(store.getJob(job)?.statusReason ?? "", /^Attempt 1\/1 failed: Invalid render job payload: renderId: must be 3 to 63 lower-case letters/);
      assert.match(logOf(store, job), /brender worker: Invalid render job payload/);
    });
    store.close();
  });

  it("a terminated render in the spare stops Blender and ends FAILED with the termination's reason", async () => {
    const { store, logDir, work } = fresh();
    const slow = await makeScene(join(work, "slow.blend"), { frames: [1, 50], resolution: [320, 180], samples: 256 });
    const environment = renderJob(work, "slow-one");
    copyFileSync(slow, join(work, "slow-one", "project", "scene.blend"));
    await whileRunning(store, logDir, { heartbeatMs: 100 }, async () => {
      const spare = await waitFor("the spare worker", () => sparesOf(process.pid)[0]);
      const job = store.submitJob({ name: "slow", action: "render", attempts: 2, environment });
      const blender = await waitFor("Blender in the spare", () => {
        const children = childProcesses(spare);
        return children.length > 0 && logOf(store, job).includes("frame_started") ? children[0] : undefined;
      }, 60_000);
      store.terminate(job, "Stopped by test");
      await waitFor("the job's end", () => (store.getJob(job)?.status === "FAILED" ? true : undefined));
      assert.equal(store.getJob(job)?.statusReason, "Stopped by test");
      assert.equal(store.listAttempts(job, 0).length, 1, "not retried");
      await waitFor("Blender to be gone", () => (alive(blender) ? undefined : true), 10_000);
      assert.ok(!alive(spare));
    });
    store.close();
  });

  it("a spare whose runner is killed with SIGKILL exits on its own", async () => {
    const { logDir } = fresh();
    const script = `
      import { openJobStore } from ${JSON.stringify(resolve("src/backends/local/job-store.ts"))};
      import { runLocalFarm } from ${JSON.stringify(resolve("src/backends/local/runner.ts"))};
      const store = openJobStore(process.argv[1], { maxVcpus: 2 });
      console.log("running");
      await runLocalFarm({ store, logDir: process.argv[2] });`;
    const runner = spawn(process.execPath, ["--input-type=module", "-e", script, join(root, "killed.db"), logDir], {
      stdio: ["ignore", "pipe", "inherit"], env: { ...process.env, BRENDER_HOME: root },
    });
    try {
      const spare = await waitFor("the runner's spare worker", () => sparesOf(runner.pid!)[0]);
      runner.kill("SIGKILL");
      await waitFor("the spare to exit", () => (alive(spare) ? undefined : true), 5000);
    } finally {
      runner.kill("SIGKILL");
    }
  });
});

describe("brender worker --job-on-stdin", () => {
  it("exits 0 doing nothing when stdin closes before a job, and 2 naming the format when the job is not JSON or misses a field, or --warm-blender comes alone", async () => {
    const none = await brender(["worker", "--job-on-stdin"], { BRENDER_HOME: root }, { input: "" });
    assert.equal(none.code, 0, none.stderr);
    assert.equal(none.stdout + none.stderr, "");
    const bad = await brender(["worker", "--job-on-stdin"], { BRENDER_HOME: root }, { input: "render please\n" });
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /the first line on stdin is not JSON; the runner sends \{"env": \{\.\.\.\}, "logFile": "\.\.\."\}/);
    const both = await brender(["worker", "--job-on-stdin", "--action", "render"], { BRENDER_HOME: root }, { input: "" });
    assert.equal(both.code, 2);
    assert.match(both.stderr, /--job-on-stdin takes the whole job from stdin; drop --action/);
    const shapeless = await brender(["worker", "--job-on-stdin"], { BRENDER_HOME: root }, { input: '{"env": {}}\n' });
    assert.equal(shapeless.code, 2);
    assert.match(shapeless.stderr, /the job on stdin is invalid \(logFile: .*\); the runner sends/);
    const alone = await brender(["worker", "--warm-blender"], { BRENDER_HOME: root });
    assert.equal(alone.code, 2);
    assert.match(alone.stderr, /--warm-blender goes with --job-on-stdin/);
  });
});
