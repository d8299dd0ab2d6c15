import { describe, it, before, after } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { openJobStore, type JobStore } from "../../../src/backends/local/job-store.ts";
import { prewarmActionThreads, takePrewarmed } from "../../../src/backends/local/action-threads.ts";
import { runLocalFarm, type RunnerEvent, type RunnerOptions } from "../../../src/backends/local/runner.ts";

const FAKE_WORKER = resolve("test/helpers/fake-worker.mjs");
const FAKE_THREAD = pathToFileURL(resolve("test/helpers/fake-thread.mjs"));
const REAL_THREAD = pathToFileURL(resolve("src/worker/thread.ts"));
// The default runner's threads run dist/worker/thread.js: `npm run build` first.

let root: string;
let count = 0;
before(() => {
  root = mkdtempSync(join(tmpdir(), "brender-threads-"));
});
after(() => rmSync(root, { recursive: true, force: true }));

function fresh(): { store: JobStore; logDir: string } {
  count += 1;
  return { store: openJobStore(join(root, `jobs-${count}.db`), { maxVcpus: 4 }), logDir: join(root, `logs-${count}`) };
}

function farm(store: JobStore, logDir: string, extra: Partial<RunnerOptions> = {}): Promise<void> {
  return runLocalFarm({
    store,
    logDir,
    workerCommand: { command: process.execPath, args: [FAKE_WORKER] },
    actionThreads: { actions: ["copy_efs", "upload_render_output", "remove_efs"], entry: FAKE_THREAD },
    baseEnv: { PATH: process.env.PATH ?? "" },
    pollMs: 20,
    heartbeatMs: 100,
    untilIdle: true,
    ...extra,
  });
}

const log = (store: JobStore, jobId: string, attempt = 1) => readFileSync(store.listAttempts(jobId, 0)[attempt - 1]!.logFile!, "utf8");

describe("runner: copy and upload in worker threads", () => {
  it("runs Node actions in its own process and renders in worker processes, with the same statuses, logs and retries", async () => {
    const { store, logDir } = fresh();
    const [copy, render, upload] = store.submitPlan([
      { name: "copy", action: "copy_efs", arraySize: 1, dependsOn: [], environment: {} },
      { name: "render", action: "render", arraySize: 2, dependsOn: ["copy"], environment: {} },
      { name: "upload", action: "upload_render_output", arraySize: 1, dependsOn: ["render"], environment: { FAKE_EXIT: "1" } },
    ]);
    const failing = store.submitJob({ name: "retried", action: "remove_efs", attempts: 2, environment: { FAKE_EXIT: "2" } });
    const events: RunnerEvent[] = [];
    await farm(store, logDir, { onEvent: (event) => events.push(event) });
    const pids = new Map(events.flatMap((event) => (event.type === "started" ? [[`${event.jobName}#${event.index}`, event.pid] as const] : [])));
    assert.equal(pids.get("copy#0"), process.pid, "copy ran in the runner's process");
    assert.equal(pids.get("upload#0"), process.pid);
    assert.notEqual(pids.get("render#0"), process.pid, "renders run in processes of their own");
    assert.equal(store.getJob(copy!)?.status, "SUCCEEDED");
    assert.equal(store.getJob(render!)?.status, "SUCCEEDED");
    assert.match(log(store, copy!), new RegExp(`fake thread ran copy_efs in pid ${process.pid}`));
    assert.equal(store.getJob(upload!)?.status, "FAILED");
    assert.equal(store.getJob(upload!)?.statusReason, "Attempt 1/1 failed: fake failure 1", "the reason is the worker's last line, as from a process");
    assert.equal(store.getJob(failing)?.status, "FAILED");
    assert.deepEqual(store.listAttempts(failing, 0).map((attempt) => [attempt.counted, attempt.reason]), [[true, "fake failure 2"], [true, "fake failure 2"]], "retried like a process");
    assert.match(log(store, failing, 2), /brender worker: fake failure 2/);
    store.close();
  });

  it("a thread that crashes fails only its own job: the runner and its other jobs go on", async () => {
    const { store, logDir } = fresh();
    const crashing = store.submitJob({ name: "crashing", action: "copy_efs", environment: { FAKE_CRASH: "1" } });
    const rendering = store.submitJob({ name: "rendering", action: "render", environment: { FAKE_SLEEP_MS: "800" } });
    const later = store.submitJob({ name: "later", action: "upload_render_output", dependsOn: [{ jobId: crashing }], runOnDependencyFailure: true });
    await farm(store, logDir);
    assert.equal(store.getJob(crashing)?.status, "FAILED");
    assert.equal(store.getJob(crashing)?.statusReason, "Attempt 1/1 failed: the job's worker thread crashed: fake thread crash");
    assert.match(log(store, crashing), /brender worker: the job's worker thread crashed: fake thread crash/);
    assert.equal(store.getJob(rendering)?.status, "SUCCEEDED", "the render running meanwhile finished");
    assert.equal(store.getJob(later)?.status, "SUCCEEDED", "a later thread job ran");
    store.close();
  });

  it("a terminated thread job is asked to stop (its abort signal) and ends FAILED with the termination's reason", async () => {
    const { store, logDir } = fresh();
    const job = store.submitJob({ name: "hanging", action: "copy_efs", attempts: 3, environment: { FAKE_HANG: "1" } });
    await farm(store, logDir, { onEvent: (event) => event.type === "started" && store.terminate(job, "Stopped by test") });
    assert.equal(store.getJob(job)?.status, "FAILED");
    assert.equal(store.getJob(job)?.statusReason, "Stopped by test");
    assert.equal(store.listAttempts(job, 0).length, 1, "not retried");
    assert.match(log(store, job), /brender worker: aborted/);
    store.close();
  });

  it("the real thread entry runs the real worker: a job's failure is reported like `brender worker`'s", async () => {
    const { store, logDir } = fresh();
    const work = join(root, "work");
    mkdirSync(join(work, "render-1"), { recursive: true });
    const payload = JSON.stringify({ schemaVersion: 1, renderId: "render-1", project: { name: "p", blendFile: "s.blend" }, type: "animation", frames: "1" });
    const removed = store.submitJob({ name: "clean", action: "remove_efs", environment: { EFS_BLENDER_FOLDER_PATH: work, BRENDER_JOB_PAYLOAD: payload } });
    const noKey = store.submitJob({ name: "copy", action: "copy_efs", environment: { EFS_BLENDER_FOLDER_PATH: work, BRENDER_JOB_PAYLOAD: payload } });
    await farm(store, logDir, { actionThreads: { actions: ["copy_efs", "remove_efs"], entry: REAL_THREAD }, baseEnv: { PATH: process.env.PATH ?? "", BRENDER_HOME: root } });
    assert.equal(store.getJob(removed)?.status, "SUCCEEDED", log(store, removed));
    assert.match(log(store, removed), /"msg":"render folder removed"/);
    assert.ok(!existsSync(join(work, "render-1")), "the action did its work");
    assert.equal(store.getJob(noKey)?.status, "FAILED");
    assert.match(store.getJob(noKey)?.statusReason ?? "", /^Attempt 1\/1 failed: copy_efs needs BUCKET_KEY/);
    store.close();
  });
});

describe("runner: the threads `brender render` warms before inspecting", () => {
  it("a default runner takes the prewarmed threads (the build's thread entry) and runs its first Node job in them", async () => {
    const { store, logDir } = fresh();
    const work = join(root, "prewarm-work");
    mkdirSync(join(work, "render-2"), { recursive: true });
    const payload = JSON.stringify({ schemaVersion: 1, renderId: "render-2", project: { name: "p", blendFile: "s.blend" }, type: "animation", frames: "1" });
    const job = store.submitJob({ name: "clean", action: "remove_efs", environment: { EFS_BLENDER_FOLDER_PATH: work, BRENDER_JOB_PAYLOAD: payload } });
    prewarmActionThreads();
    const pids: number[] = [];
    await runLocalFarm({
      store, logDir, untilIdle: true, pollMs: 20, baseEnv: { PATH: process.env.PATH ?? "", BRENDER_HOME: root },
      onEvent: (event) => event.type === "started" && pids.push(event.pid),
    });
    assert.equal(takePrewarmed(), undefined, "the runner took them");
    assert.deepEqual(pids, [process.pid]);
    assert.equal(store.getJob(job)?.status, "SUCCEEDED", log(store, job));
    assert.ok(!existsSync(join(work, "render-2")));
    store.close();
  });
});

describe("runner: stop", () => {
  it("stops at once when `stop` aborts, without waiting for its next poll, giving running children back", async () => {
    const { store, logDir } = fresh();
    const job = store.submitJob({ name: "long", action: "render", environment: { FAKE_SLEEP_MS: "60000,0" } });
    const stop = new AbortController();
    const running = farm(store, logDir, { untilIdle: false, pollMs: 60_000, heartbeatMs: 60_000, stop: stop.signal, onEvent: (event) => event.type === "started" && setTimeout(() => stop.abort(), 50) });
    const started = Date.now();
    await running;
    assert.ok(Date.now() - started < 4000, `stopped after ${Date.now() - started} ms`);
    assert.equal(store.getJob(job)?.statusSummary.RUNNABLE, 1, "the child goes back to the queue, its try not counted");
    store.close();
  });
});
