import { describe, it, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { hostname, tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { openJobStore, type JobStore } from "../../../src/backends/local/job-store.ts";
import {
  deadLocalOwnerPid,
  defaultWorkerCommand,
  exitReason,
  lastWorkerReason,
  runLocalFarm,
  type RunnerEvent,
  type RunnerOptions,
} from "../../../src/backends/local/runner.ts";
import type { PlannedJob } from "../../../src/domain/render-plan.ts";

const FAKE_WORKER = resolve("test/helpers/fake-worker.mjs");
const fakeWorker = { command: process.execPath, args: [FAKE_WORKER] };

type Run = { action: string; index: string | null; attempt: string; jobId: string; pid: number; grandchildPid: number | null; upstreamFailure: string | null };

let root: string;
let count = 0;
before(() => {
  root = mkdtempSync(join(tmpdir(), "brender-runner-"));
});
after(() => rmSync(root, { recursive: true, force: true }));

/** A fresh database, log folder and record file for one test. */
function fresh(maxVcpus = 4): { store: JobStore; dbPath: string; logDir: string; recordFile: string } {
  count += 1;
  const dbPath = join(root, `jobs-${count}.db`);
  return { store: openJobStore(dbPath, { maxVcpus }), dbPath, logDir: join(root, `logs-${count}`), recordFile: join(root, `runs-${count}.jsonl`) };
}

function runs(recordFile: string): Run[] {
  if (!existsSync(recordFile)) return [];
  return readFileSync(recordFile, "utf8").trim().split("\n").filter(Boolean).map((line) => JSON.parse(line) as Run);
}

function farm(store: JobStore, logDir: string, recordFile: string, extra: Partial<RunnerOptions> & { env?: Record<string, string> } = {}): Promise<void> {
  const { env, ...rest } = extra;
  return runLocalFarm({
    store,
    logDir,
    workerCommand: fakeWorker,
    baseEnv: { ...process.env, FAKE_RECORD_FILE: recordFile, ...env },
    pollMs: 20,
    heartbeatMs: 100,
    untilIdle: true,
    ...rest,
  });
}

function groupGone(pid: number): boolean {
  try {
    process.kill(-pid, 0);
    return false;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "ESRCH";
  }
}

/** Gone, or a zombie: dead, only waiting for whoever adopted it to reap it (init may take a while). */
function processGone(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2).startsWith("Z");
  } catch {
    return true;
  }
}

async function waitFor(what: string, condition: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((done) => setTimeout(done, 20));
  }
}

const plan = (renderSize: number, renderEnv: Record<string, string> = {}): PlannedJob[] => [
  { name: "r1-copy", action: "copy_efs", arraySize: 1, dependsOn: [], environment: { BUCKET_KEY: "p/scene.blend" } },
  { name: "r1-render", action: "render", arraySize: renderSize, dependsOn: ["r1-copy"], environment: renderEnv },
  { name: "r1-upload", action: "upload_render_output", arraySize: 1, dependsOn: ["r1-render"], environment: {} },
];

/** A script that runs a runner on a database in its own process (argv: db, logDir, startAt, leaseMs). */
const RUNNER_SCRIPT = `
  import { openJobStore } from ${JSON.stringify(pathToFileURL(resolve("src/backends/local/job-store.ts")).href)};
  import { runLocalFarm } from ${JSON.stringify(pathToFileURL(resolve("src/backends/local/runner.ts")).href)};
  const { mkdirSync, readdirSync, writeFileSync } = await import("node:fs");
  const [dbPath, logDir, barrier, barrierSize, leaseMs] = process.argv.slice(1);
  const store = openJobStore(dbPath);
  // Runners sharing a barrier folder start claiming together, once every one of them has loaded its modules.
  if (barrier) {
    mkdirSync(barrier, { recursive: true });
    writeFileSync(barrier + "/" + process.pid, "");
    while (readdirSync(barrier).length < Number(barrierSize)) await new Promise((done) => setTimeout(done, 2));
  }
  let started = 0;
  await runLocalFarm({
    store, logDir, untilIdle: true, pollMs: 10, heartbeatMs: 100, leaseMs: Number(leaseMs),
    workerCommand: { command: process.execPath, args: [${JSON.stringify(FAKE_WORKER)}] },
    onEvent: (event) => { if (event.type === "started") { started += 1; process.stdout.write("started\\n"); } },
  });
  store.close();
  process.stdout.write(JSON.stringify({ started }) + "\\n");
`;

function runnerProcess(dbPath: string, logDir: string, env: Record<string, string>, options: { barrier?: { dir: string; size: number }; leaseMs?: number } = {}): ChildProcess {
  const barrier = options.barrier ? [options.barrier.dir, String(options.barrier.size)] : ["", "0"];
  return spawn(process.execPath, ["--input-type=module", "-e", RUNNER_SCRIPT, dbPath, logDir, ...barrier, String(options.leaseMs ?? 30_000)], {
    stdio: ["ignore", "pipe", "inherit"],
    env: { ...process.env, ...env },
  });
}

describe("local farm runner", () => {
  it("runs a copy -> render(array 3) -> upload plan in order, logs every attempt, and returns when idle", async () => {
    const { store, logDir, recordFile } = fresh();
    const [copy, render, upload] = store.submitPlan(plan(3));
    assert.ok(copy && render && upload);
    const events: RunnerEvent[] = [];
    await farm(store, logDir, recordFile, { onEvent: (event) => events.push(event) });
    const order = runs(recordFile);
    assert.deepEqual(order.map((run) => run.action), ["copy_efs", "render", "render", "render", "upload_render_output"]);
    assert.deepEqual(order.slice(1, 4).map((run) => run.index).sort(), ["0", "1", "2"]);
    assert.deepEqual(order.slice(1, 4).map((run) => run.jobId).sort(), [`${render}:0`, `${render}:1`, `${render}:2`], "AWS_BATCH_JOB_ID is <job>:<index> for arrays");
    assert.equal(order[0]?.jobId, copy);
    assert.ok(order.every((run) => run.attempt === "1"));
    for (const id of [copy, render, upload]) assert.equal(store.getJob(id)?.status, "SUCCEEDED");
    const logFile = join(logDir, render, "2-1.log");
    assert.match(readFileSync(logFile, "utf8"), /"event":"child_finished"/, "the worker's stdout is in the attempt's log");
    assert.equal(store.listAttempts(render, 2)[0]?.logFile, logFile);
    assert.equal(events.filter((event) => event.type === "started").length, 5);
    assert.deepEqual(
      events.filter((event) => event.type === "exited").map((event) => event.type === "exited" && event.status),
      ["SUCCEEDED", "SUCCEEDED", "SUCCEEDED", "SUCCEEDED", "SUCCEEDED"],
    );
    store.close();
  });

  it("retries a failing child, then fails it with the reason from the worker's last stderr line", async () => {
    const { store, logDir, recordFile } = fresh();
    const failing = store.submitJob({ name: "failing", action: "render", attempts: 3, environment: { FAKE_EXIT: "1" } });
    const flaky = store.submitJob({ name: "flaky", action: "render", attempts: 2, environment: { FAKE_FAIL_ON_ATTEMPT: "1" } });
    await farm(store, logDir, recordFile);
    assert.equal(store.getJob(failing)?.status, "FAILED");
    assert.equal(store.getJob(failing)?.statusReason, "Attempt 3/3 failed: frame 0 failed (attempt 3)");
    assert.deepEqual(store.listAttempts(failing, 0).map((attempt) => [attempt.exitCode, attempt.reason]), [
      [1, "frame 0 failed (attempt 1)"],
      [1, "frame 0 failed (attempt 2)"],
      [1, "frame 0 failed (attempt 3)"],
    ]);
    assert.match(readFileSync(join(logDir, failing, "0-2.log"), "utf8"), /some log line\nbrender worker: frame 0 failed \(attempt 2\)/, "stderr is in the log");
    assert.equal(store.getJob(flaky)?.status, "SUCCEEDED");
    assert.deepEqual(runs(recordFile).filter((run) => run.jobId === flaky).map((run) => run.attempt), ["1", "2"]);
    store.close();
  });

  it("tells a runOnDependencyFailure job which dependency failed, in BRENDER_UPSTREAM_FAILURE", async () => {
    const { store, logDir, recordFile } = fresh();
    const [, render, upload] = store.submitPlan(plan(1, { FAKE_EXIT: "1" }), { jobs: { "r1-upload": { runOnDependencyFailure: true } } });
    assert.ok(render && upload);
    await farm(store, logDir, recordFile);
    assert.equal(store.getJob(render)?.status, "FAILED");
    assert.equal(store.getJob(upload)?.status, "SUCCEEDED");
    const uploadRun = runs(recordFile).find((run) => run.action === "upload_render_output");
    assert.equal(uploadRun?.upstreamFailure, "r1-render: Attempt 1/1 failed: frame 0 failed (attempt 1)");
    assert.equal(runs(recordFile).find((run) => run.action === "copy_efs")?.upstreamFailure, null, "only runOnDependencyFailure jobs get it");
    store.close();
  });

  it("kills the whole process group of a terminated child quickly and does not retry it", async () => {
    const { store, logDir, recordFile } = fresh();
    const job = store.submitJob({ name: "sleeper", action: "render", attempts: 3 });
    let started = 0;
    let terminating: Promise<void> | undefined;
    const running = farm(store, logDir, recordFile, {
      // The record comes late, as on a busy machine: "started" alone does not mean the grandchild exists yet.
      env: { FAKE_SLEEP_MS: "60000", FAKE_GRANDCHILD: "1", FAKE_RECORD_DELAY_MS: "300" },
      onEvent: (event) => {
        if (event.type !== "started") return;
        terminating = waitFor("the worker's record", () => runs(recordFile).length === 1).then(() => {
          started = Date.now();
          store.terminate(job, "Stopped by test");
        });
      },
    });
    await running;
    await terminating;
    const elapsed = Date.now() - started;
    assert.ok(elapsed < 3000, `terminated after ${elapsed} ms`);
    assert.equal(store.getJob(job)?.status, "FAILED");
    assert.equal(store.getJob(job)?.statusReason, "Stopped by test");
    const [run] = runs(recordFile);
    assert.ok(run?.grandchildPid);
    assert.ok(processGone(run.pid), "the worker is dead");
    assert.ok(processGone(run.grandchildPid), "the grandchild died with the group");
    assert.equal(runs(recordFile).length, 1, "not retried");
    store.close();
  });

  it("kills an attempt at its timeout and retries it, finishing the attempt once", async () => {
    const { store, logDir, recordFile } = fresh();
    const job = store.submitJob({ name: "slow", action: "render", attempts: 2, timeoutSeconds: 1 });
    const exits: RunnerEvent[] = [];
    await farm(store, logDir, recordFile, { env: { FAKE_SLEEP_MS: "60000,0" }, onEvent: (event) => event.type === "exited" && exits.push(event) });
    assert.equal(store.getJob(job)?.status, "SUCCEEDED");
    assert.deepEqual(store.listAttempts(job, 0).map((attempt) => [attempt.counted, attempt.exitCode, attempt.reason]), [
      [true, undefined, "Attempt timed out after 1 s"],
      [true, 0, undefined],
    ]);
    assert.equal(exits.length, 2, "one exit per attempt");
    assert.equal(exits[0]?.type === "exited" && exits[0].reason, "Attempt timed out after 1 s");
    assert.ok(groupGone(runs(recordFile)[0]?.pid ?? 0));
    store.close();
  });

  it("stops on abort: kills its children and gives their attempts back without using one", async () => {
    const { store, logDir, recordFile } = fresh();
    const job = store.submitJob({ name: "pair", action: "render", arraySize: 2, attempts: 1 });
    const controller = new AbortController();
    const stopping = farm(store, logDir, recordFile, { untilIdle: false, signal: controller.signal, env: { FAKE_SLEEP_MS: "60000,0" } });
    await waitFor("both workers to run", () => runs(recordFile).length === 2);
    const abortedAt = Date.now();
    controller.abort();
    await stopping;
    assert.ok(Date.now() - abortedAt < 3000, "the workers died on SIGTERM, without waiting for SIGKILL");
    const first = runs(recordFile);
    assert.equal(first.length, 2);
    for (const run of first) assert.ok(groupGone(run.pid), `worker ${run.pid} is gone`);
    assert.equal(store.getJob(job)?.statusSummary.RUNNABLE, 2);
    assert.deepEqual(store.listAttempts(job, 0).map((attempt) => [attempt.counted, attempt.reason]), [[false, "worker lost"]]);
    // The next runner finishes them: attempt 2, but the lost try did not count.
    await farm(store, logDir, recordFile);
    assert.equal(store.getJob(job)?.status, "SUCCEEDED");
    assert.deepEqual(runs(recordFile).slice(2).map((run) => run.attempt), ["1", "1"]);
    store.close();
  });

  it("after a runner is killed with SIGKILL, its worker exits and a second runner recovers the child at once", async () => {
    const { store, dbPath, logDir, recordFile } = fresh();
    const job = store.submitJob({ name: "victim", action: "render", attempts: 1 });
    const doomed = runnerProcess(dbPath, logDir, { FAKE_RECORD_FILE: recordFile, FAKE_SLEEP_MS: "60000" }, { leaseMs: 120_000 });
    await new Promise<void>((done, fail) => {
      doomed.stdout?.once("data", () => doomed.kill("SIGKILL"));
      doomed.on("error", fail);
      doomed.on("exit", (_code, signal) => (signal === "SIGKILL" ? done() : fail(new Error(`runner ended with ${signal}`))));
    });
    await waitFor("the record of the first run", () => runs(recordFile).length === 1);
    const orphan = runs(recordFile)[0];
    assert.ok(orphan);
    await waitFor("the orphaned worker to exit (its stdin closed)", () => processGone(orphan.pid), 5000);
    assert.equal(store.getJob(job)?.status, "RUNNING", "the lease (2 min) has not expired");
    const recovered: RunnerEvent[] = [];
    const started = Date.now();
    await farm(store, logDir, recordFile, { onEvent: (event) => event.type === "recovered" && recovered.push(event) });
    assert.ok(Date.now() - started < 5000, "recovered without waiting for the lease");
    assert.equal(store.getJob(job)?.status, "SUCCEEDED");
    assert.equal(recovered.length, 1);
    assert.match(recovered[0]?.type === "recovered" ? recovered[0].ownerId : "", new RegExp(`^${hostname()}:${doomed.pid}:`));
    assert.deepEqual(store.listAttempts(job, 0).map((attempt) => [attempt.counted, attempt.reason ?? "ok"]), [
      [false, "worker lost"],
      [true, "ok"],
    ]);
    store.close();
  });

  it("two runner processes on one database run each of 50 children exactly once", async () => {
    const { store, dbPath, logDir, recordFile } = fresh(6);
    const job = store.submitJob({ name: "shared", action: "render", arraySize: 50 });
    // Both runners start claiming once both have loaded (a busy machine may take seconds to load one: a
    // clock-time start let the first claim every slot before the second was ready), and each worker holds
    // until both runners have started one, so "both took part" does not depend on the machine's speed.
    const barrier = { dir: join(root, `barrier-${count}`), size: 2 };
    const env = { FAKE_RECORD_FILE: recordFile, FAKE_SLEEP_MS: "50", FAKE_WAIT_FOR_RUNNERS: "2" };
    const finished = [runnerProcess(dbPath, logDir, env, { barrier }), runnerProcess(dbPath, logDir, env, { barrier })].map(
      (child) =>
        new Promise<number>((done, fail) => {
          let out = "";
          child.stdout?.on("data", (chunk: Buffer) => (out += chunk.toString()));
          child.on("error", fail);
          child.on("exit", (code) => {
            const summary = /\{"started":(\d+)\}/.exec(out);
            if (code === 0 && summary) done(Number(summary[1]));
            else fail(new Error(`runner exited ${code}`));
          });
        }),
    );
    const started = await Promise.all(finished);
    console.log(`the two runners started ${started.join(" and ")} children`);
    assert.ok(started.every((each) => each > 0), "both runners took part");
    assert.equal(started.reduce((sum, each) => sum + each, 0), 50);
    const indexes = runs(recordFile).map((run) => Number(run.index)).sort((a, b) => a - b);
    assert.deepEqual(indexes, Array.from({ length: 50 }, (_, index) => index), "every child ran exactly once");
    assert.equal(store.getJob(job)?.status, "SUCCEEDED");
    store.close();
  });

  it("fails an attempt whose worker cannot be started, naming the command", async () => {
    const { store, logDir, recordFile } = fresh();
    const job = store.submitJob({ name: "nowhere", action: "render" });
    await farm(store, logDir, recordFile, { workerCommand: { command: join(root, "no-such-worker"), args: [] } });
    assert.equal(store.getJob(job)?.status, "FAILED");
    assert.match(store.getJob(job)?.statusReason ?? "", /could not start the worker ".*no-such-worker": .*ENOENT/);
    store.close();
  });

  it("describes exits and recognises dead owners on this host", () => {
    assert.equal(exitReason("frame 3 failed", 1, null), "frame 3 failed");
    assert.equal(exitReason(undefined, 2, null), "exited with code 2");
    assert.equal(exitReason(undefined, null, "SIGKILL"), "killed by SIGKILL");
    assert.equal(lastWorkerReason('{"level":50}\nbrender worker: first\n{"event":"x"}\nbrender worker: frame 7 is missing\n'), "frame 7 is missing");
    assert.equal(lastWorkerReason("Blender says brender worker: no\n"), undefined, "only at the start of a line");
    assert.equal(deadLocalOwnerPid(`${hostname()}:${process.pid}:abc`), undefined, "this process is alive");
    assert.equal(deadLocalOwnerPid(`${hostname()}:${process.ppid}:abc`), undefined, "the parent is alive");
    assert.equal(deadLocalOwnerPid(`${hostname()}:2147483646:abc`), 2147483646);
    assert.equal(deadLocalOwnerPid("elsewhere:2147483646:abc"), undefined, "another host's pids mean nothing here");
    assert.equal(deadLocalOwnerPid("owner-1"), undefined);
    const command = defaultWorkerCommand();
    assert.equal(command.command, process.execPath);
    assert.deepEqual(command.args, [resolve("dist/cli/main.js"), "worker"]);
  });
});
