import { describe, it, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { openJobStore, type JobStore, type JobStoreOptions } from "../../../src/backends/local/job-store.ts";
import type { PlannedJob } from "../../../src/domain/render-plan.ts";
import { UserInputError } from "../../../src/errors.ts";

let root: string;
let count = 0;
before(() => {
  root = mkdtempSync(join(tmpdir(), "brender-job-store-"));
});
after(() => rmSync(root, { recursive: true, force: true }));

/** A fresh store on its own database file, with a clock the test moves. */
function fresh(options: JobStoreOptions = {}): { store: JobStore; clock: { now: number }; path: string } {
  const clock = { now: 1_000_000 };
  const path = join(root, `jobs-${(count += 1)}.db`);
  const store = openJobStore(path, { now: () => clock.now, maxVcpus: 64, ...options });
  return { store, clock, path };
}

const plan = (renderSize = 3): PlannedJob[] => [
  { name: "r1-copy", action: "copy_efs", arraySize: 1, dependsOn: [], environment: { BUCKET_KEY: "p/scene.blend" } },
  { name: "r1-render", action: "render", arraySize: renderSize, dependsOn: ["r1-copy"], environment: { X: "1" } },
  { name: "r1-upload", action: "upload_render_output", arraySize: 1, dependsOn: ["r1-render"], environment: {} },
];

/** Claims and succeeds everything runnable, returning "name[index]" in claim order. */
function drain(store: JobStore, exitCode = 0): string[] {
  const order: string[] = [];
  for (let child = store.claimNext("w", 60_000); child; child = store.claimNext("w", 60_000)) {
    order.push(`${child.jobName}[${child.index}]`);
    assert.ok(store.markRunning(child.jobId, child.index, child.attempt));
    store.finishAttempt(child.jobId, child.index, child.attempt, { exitCode });
  }
  return order;
}

describe("job store", () => {
  it("seeds the default compute environment, queue and job definition", () => {
    const { store } = fresh();
    assert.equal(store.getComputeEnvironment()?.maxVcpus, 64);
    assert.deepEqual(store.listJobQueues().map((queue) => [queue.name, queue.state]), [["default", "ENABLED"]]);
    assert.deepEqual(store.listJobDefinitions().map((definition) => [definition.name, definition.revision, definition.attempts]), [["brender-worker", 1, 1]]);
    store.close();
  });

  it("runs a copy -> render(array 3) -> upload plan in dependency order", () => {
    const { store } = fresh();
    const [copy, render, upload] = store.submitPlan(plan(), { renderId: "r1" });
    assert.ok(copy && render && upload);
    assert.equal(store.getJob(copy)?.status, "RUNNABLE");
    assert.equal(store.getJob(render)?.status, "PENDING");
    assert.deepEqual(store.getJob(render)?.dependsOn, [{ jobId: copy, type: "SEQUENTIAL" }]);
    assert.equal(store.getJob(upload)?.status, "PENDING");

    const first = store.claimNext("w", 60_000);
    assert.equal(first?.jobId, copy);
    assert.equal(first?.environment.JOB_ACTION_TYPE, "copy_efs");
    assert.equal(first?.environment.BUCKET_KEY, "p/scene.blend");
    assert.equal(first?.environment.AWS_BATCH_JOB_ARRAY_INDEX, undefined);
    assert.equal(store.claimNext("w", 60_000), undefined, "nothing else may run before the copy ends");
    assert.equal(store.getJob(copy)?.status, "STARTING");
    store.markRunning(copy, 0, first.attempt);
    assert.equal(store.getJob(copy)?.status, "RUNNING");
    store.finishAttempt(copy, 0, first.attempt, { exitCode: 0 });
    assert.equal(store.getJob(copy)?.status, "SUCCEEDED");
    assert.equal(store.getJob(render)?.status, "RUNNABLE");

    const child = store.claimNext("w", 60_000);
    assert.equal(child?.jobId, render);
    assert.equal(child?.index, 0);
    assert.equal(child?.environment.AWS_BATCH_JOB_ARRAY_INDEX, "0");
    assert.equal(child?.environment.AWS_BATCH_JOB_ARRAY_SIZE, "3");
    assert.equal(child?.environment.X, "1");
    assert.equal(store.getJob(render)?.status, "STARTING");
    store.markRunning(render, 0, child.attempt);
    assert.equal(store.getJob(render)?.status, "RUNNING");
    assert.deepEqual(store.getJob(render)?.statusSummary, { SUBMITTED: 0, PENDING: 0, RUNNABLE: 2, STARTING: 0, RUNNING: 1, SUCCEEDED: 0, FAILED: 0 });
    store.finishAttempt(render, 0, child.attempt, { exitCode: 0 });

    assert.deepEqual(drain(store), ["r1-render[1]", "r1-render[2]", "r1-upload[0]"]);
    for (const id of [copy, render, upload]) assert.equal(store.getJob(id)?.status, "SUCCEEDED");
    assert.equal(store.getJob(render)?.statusSummary.SUCCEEDED, 3);
    assert.deepEqual(store.listJobs({ renderId: "r1" }).map((job) => job.name), ["r1-upload", "r1-render", "r1-copy"]);
    store.close();
  });

  it("retries a failing child, then fails it with the attempt's reason and fails its dependents like AWS Batch", () => {
    const { store } = fresh();
    const [copy, render, upload] = store.submitPlan(plan(2), { jobs: { "r1-render": { attempts: 3 } } });
    assert.ok(copy && render && upload);
    const copyChild = store.claimNext("w", 60_000);
    assert.equal(copyChild?.jobId, copy);
    store.finishAttempt(copy, 0, copyChild.attempt, { exitCode: 0 });
    for (let attempt = 1; attempt <= 3; attempt += 1) {
      const child = store.claimNext("w", 60_000);
      assert.equal(child?.index, 0, "the failed child comes back first");
      assert.equal(child.environment.AWS_BATCH_JOB_ATTEMPT, String(attempt));
      const result = store.finishAttempt(render, 0, child.attempt, { exitCode: 1, reason: "frame 3 missing" });
      assert.equal(result.status, attempt < 3 ? "RUNNABLE" : "FAILED");
    }
    const [failed] = store.listChildren(render, { status: "FAILED" });
    assert.equal(failed?.statusReason, "Attempt 3/3 failed: frame 3 missing");
    assert.deepEqual(store.listAttempts(render, 0).map((attempt) => [attempt.attempt, attempt.exitCode, attempt.reason]), [
      [1, 1, "frame 3 missing"],
      [2, 1, "frame 3 missing"],
      [3, 1, "frame 3 missing"],
    ]);
    assert.equal(store.getJob(render)?.status, "RUNNABLE", "child 1 still runs after child 0 failed");
    assert.deepEqual(drain(store), ["r1-render[1]"]);
    assert.equal(store.getJob(render)?.status, "FAILED");
    assert.equal(store.getJob(render)?.statusReason, "1 of 2 children failed; child 0: Attempt 3/3 failed: frame 3 missing");
    assert.equal(store.getJob(upload)?.status, "FAILED");
    assert.equal(store.getJob(upload)?.statusReason, "Dependent job r1-render failed");
    assert.equal(store.claimNext("w", 60_000), undefined);
    store.close();
  });

  it("runs a job with runOnDependencyFailure once its dependency failed, so the failure is reported", () => {
    const { store } = fresh();
    const [copy, render, upload] = store.submitPlan(plan(2), { jobs: { "r1-upload": { runOnDependencyFailure: true } } });
    assert.ok(copy && render && upload);
    const claimed = store.claimNext("w", 60_000);
    assert.equal(claimed?.jobId, copy);
    store.finishAttempt(copy, 0, claimed.attempt, { exitCode: 1 });
    assert.equal(store.getJob(copy)?.statusReason, "Attempt 1/1 failed: exit code 1");
    assert.equal(store.getJob(render)?.status, "FAILED");
    assert.equal(store.getJob(render)?.statusReason, "Dependent job r1-copy failed");
    assert.equal(store.getJob(upload)?.status, "RUNNABLE");
    assert.deepEqual(drain(store), ["r1-upload[0]"]);
    store.close();
  });

  it("follows N_TO_N dependencies child by child", () => {
    const { store } = fresh();
    const a = store.submitJob({ name: "a", action: "render", arraySize: 3 });
    const b = store.submitJob({ name: "b", action: "render", arraySize: 3, dependsOn: [{ jobId: a, type: "N_TO_N" }] });
    const first = store.claimNext("w", 60_000);
    assert.equal(first?.jobId, a);
    store.finishAttempt(a, 0, first.attempt, { exitCode: 0 });
    assert.equal(store.listChildren(b)[0]?.status, "RUNNABLE");
    assert.equal(store.listChildren(b)[1]?.status, "PENDING");
    const second = store.claimNext("w", 60_000);
    assert.equal(second?.jobId, a, "jobs submitted first run first");
    store.finishAttempt(a, 1, second.attempt, { exitCode: 1 });
    assert.equal(store.listChildren(b)[1]?.status, "FAILED");
    assert.equal(store.listChildren(b)[1]?.statusReason, "Dependent job a failed");
    assert.throws(
      () => store.submitJob({ name: "c", action: "render", arraySize: 2, dependsOn: [{ jobId: a, type: "N_TO_N" }] }),
      (error: unknown) => error instanceof UserInputError && /N_TO_N needs two array jobs of the same size/.test(error.message),
    );
    store.close();
  });

  it("orders claims by queue priority, job priority, then submission", () => {
    const { store, clock } = fresh();
    store.putJobQueue({ name: "urgent", priority: 10 });
    const low = store.submitJob({ name: "low", action: "render" });
    clock.now += 1;
    const high = store.submitJob({ name: "high", action: "render", priority: 5 });
    clock.now += 1;
    const urgent = store.submitJob({ name: "urgent", action: "render", queue: "urgent" });
    assert.deepEqual([1, 2, 3].map(() => store.claimNext("w", 60_000)?.jobId), [urgent, high, low]);
    store.close();
  });

  it("never runs more vCPUs than the compute environment allows", () => {
    const { store } = fresh({ maxVcpus: 2 });
    const job = store.submitJob({ name: "wide", action: "render", arraySize: 5 });
    const a = store.claimNext("w", 60_000);
    const b = store.claimNext("w", 60_000);
    assert.ok(a && b);
    assert.equal(store.claimNext("w", 60_000), undefined);
    store.finishAttempt(job, a.index, a.attempt, { exitCode: 0 });
    assert.equal(store.claimNext("w", 60_000)?.index, 2);
    store.close();
  });

  it("cancels queued jobs and terminates running ones without retrying them", () => {
    const { store } = fresh();
    const queued = store.submitJob({ name: "queued", action: "render", arraySize: 2, attempts: 3 });
    const running = store.submitJob({ name: "running", action: "render", arraySize: 2, attempts: 3, priority: 9 });
    const waiting = store.submitJob({ name: "waiting", action: "upload_render_output", dependsOn: [{ jobId: queued }] });

    assert.deepEqual(store.cancel(queued), { cancelled: 2, running: 0 });
    assert.equal(store.getJob(queued)?.status, "FAILED");
    assert.equal(store.getJob(queued)?.statusReason, "Cancelled by user");
    assert.equal(store.getJob(waiting)?.statusReason, "Dependent job queued failed");

    const child = store.claimNext("owner-1", 60_000);
    assert.equal(child?.jobId, running);
    store.markRunning(running, child.index, child.attempt);
    assert.deepEqual(store.cancel(running), { cancelled: 1, running: 1 }, "cancel leaves a running child alone");
    assert.deepEqual(store.terminate(running), { cancelled: 0, terminating: 1 });
    assert.deepEqual(store.heartbeat("owner-1").terminate, [{ jobId: running, index: child.index, attempt: child.attempt }]);
    assert.deepEqual(store.heartbeat("someone-else").terminate, []);
    const result = store.finishAttempt(running, child.index, child.attempt, { exitCode: null, reason: "killed by SIGTERM" });
    assert.equal(result.status, "FAILED", "a terminated child is not retried");
    assert.equal(store.listChildren(running)[0]?.statusReason, "Terminated by user");
    assert.equal(store.getJob(running)?.status, "FAILED");
    assert.equal(store.claimNext("w", 60_000), undefined);
    assert.throws(() => store.cancel("no-such-job"), UserInputError);
    store.close();
  });

  it("gives a child whose worker died back as a new attempt, without using one of its attempts", () => {
    const { store, clock, path } = fresh();
    const job = store.submitJob({ name: "one", action: "render", attempts: 1 });
    const lost = store.claimNext("dead", 10_000);
    assert.ok(lost);
    store.markRunning(job, 0, lost.attempt);
    clock.now += 5_000;
    assert.equal(store.heartbeat("dead").renewed, 1); // lease now ends at +15 s
    clock.now += 9_000;
    assert.deepEqual(store.recoverExpiredLeases(), [], "the renewed lease has not expired");
    clock.now += 7_000;
    // claimNext recovers expired leases itself, here from another store on the same file.
    const other = openJobStore(path, { now: () => clock.now });
    const again = other.claimNext("alive", 10_000);
    assert.equal(again?.jobId, job);
    assert.equal(again?.attempt, 2);
    assert.equal(again?.environment.AWS_BATCH_JOB_ATTEMPT, "1", "the lost try did not count");
    assert.deepEqual(store.finishAttempt(job, 0, lost.attempt, { exitCode: 0 }), { accepted: false, status: "STARTING" }, "the dead owner's late report is ignored");
    other.finishAttempt(job, 0, again.attempt, { exitCode: 0 });
    assert.equal(store.getJob(job)?.status, "SUCCEEDED");
    assert.deepEqual(store.listAttempts(job, 0).map((attempt) => [attempt.attempt, attempt.ownerId, attempt.counted, attempt.reason]), [
      [1, "dead", false, "worker lost"],
      [2, "alive", true, undefined],
    ]);
    other.close();
    store.close();
  });

  it("puts back a dead owner's children at once, without waiting for their leases", () => {
    const { store } = fresh();
    const job = store.submitJob({ name: "pair", action: "render", arraySize: 3, attempts: 1 });
    const doomed = [store.claimNext("host:1:dead", 600_000), store.claimNext("host:1:dead", 600_000)];
    const alive = store.claimNext("host:2:alive", 600_000);
    assert.ok(doomed[0] && doomed[1] && alive);
    store.markRunning(job, doomed[0].index, doomed[0].attempt);
    assert.deepEqual(store.listInFlightOwners().sort(), ["host:1:dead", "host:2:alive"]);
    store.terminate(job);
    // Terminated children of a dead owner end FAILED; the live owner's child is untouched.
    assert.deepEqual(store.recoverOwner("host:1:dead").map((ref) => ref.index).sort(), [doomed[0].index, doomed[1].index].sort());
    assert.deepEqual(store.listInFlightOwners(), ["host:2:alive"]);
    assert.equal(store.listChildren(job, { status: "FAILED" }).length, 2);
    assert.deepEqual(store.recoverOwner("host:1:dead"), [], "nothing left to recover");
    assert.equal(store.countUnfinishedJobs(), 1);
    store.finishAttempt(job, alive.index, alive.attempt, { exitCode: null, reason: "killed by SIGTERM" });
    assert.equal(store.countUnfinishedJobs(), 0);
    store.close();
  });

  it("gives a recovered owner's children back as new attempts that do not count", () => {
    const { store } = fresh();
    const job = store.submitJob({ name: "one", action: "render", attempts: 1 });
    const lost = store.claimNext("host:1:dead", 600_000);
    assert.ok(lost);
    store.markRunning(job, 0, lost.attempt);
    assert.equal(store.claimNext("host:2:alive", 600_000), undefined, "the child is busy");
    assert.deepEqual(store.recoverOwner("host:1:dead"), [{ jobId: job, index: 0, attempt: 1 }]);
    const again = store.claimNext("host:2:alive", 600_000);
    assert.equal(again?.attempt, 2);
    assert.equal(again?.environment.AWS_BATCH_JOB_ATTEMPT, "1");
    assert.deepEqual(store.listAttempts(job, 0).map((attempt) => [attempt.counted, attempt.reason]), [
      [false, "worker lost"],
      [true, undefined],
    ]);
    store.close();
  });

  it("reports attempts past their deadline; a timed-out attempt is retried while attempts remain", () => {
    const { store, clock } = fresh({ logDir: join(root, "logs") });
    const job = store.submitJob({ name: "slow", action: "render", attempts: 2, timeoutSeconds: 60 });
    const first = store.claimNext("w", 600_000);
    assert.ok(first);
    assert.equal(first.timeoutSeconds, 60);
    assert.equal(first.logFile, join(root, "logs", job, "0-1.log"));
    clock.now += 10_000;
    store.markRunning(job, 0, first.attempt); // the clock starts when the process runs
    clock.now += 59_000;
    assert.deepEqual(store.expiredAttempts(), []);
    clock.now += 1_000;
    const [expired] = store.expiredAttempts();
    assert.deepEqual(expired, { jobId: job, index: 0, attempt: 1, ownerId: "w", timeoutSeconds: 60, reason: "Attempt timed out after 60 s" });
    assert.equal(store.finishAttempt(job, 0, 1, { exitCode: null, reason: expired.reason }).status, "RUNNABLE");
    const second = store.claimNext("w", 600_000);
    assert.ok(second);
    clock.now += 61_000;
    assert.equal(store.expiredAttempts(undefined, "w").length, 1);
    assert.equal(store.expiredAttempts(undefined, "other").length, 0);
    store.finishAttempt(job, 0, second.attempt, { exitCode: null, reason: "Attempt timed out after 60 s" });
    assert.equal(store.getJob(job)?.statusReason, "Attempt 2/2 failed: Attempt timed out after 60 s");
    store.close();
  });

  it("refuses bad submissions with a message naming the problem", () => {
    const { store } = fresh();
    const refuses = (submit: () => unknown, pattern: RegExp) =>
      assert.throws(submit, (error: unknown) => error instanceof UserInputError && pattern.test(error.message));
    refuses(() => store.submitJob({ name: "x", action: "render", arraySize: 10_001 }), /array size of job "x" 10001/);
    refuses(() => store.submitJob({ name: "x", action: "render", queue: "nope" }), /job queue "nope" does not exist/);
    refuses(() => store.submitJob({ name: "x", action: "render", definition: "nope" }), /job definition "nope" does not exist/);
    refuses(() => store.submitJob({ name: "x", action: "render", dependsOn: [{ jobId: "ghost" }] }), /"ghost", which does not exist/);
    refuses(() => store.submitPlan([{ name: "a", action: "render", arraySize: 1, dependsOn: ["b"], environment: {} }]), /depends on "b"/);
    store.putJobQueue({ name: "off", state: "DISABLED" });
    refuses(() => store.submitJob({ name: "x", action: "render", queue: "off" }), /is DISABLED/);
    assert.equal(store.listJobs().length, 0, "nothing was submitted");
    store.close();
  });

  it("uses a registered job definition's settings", () => {
    const { store } = fresh();
    const definition = store.registerJobDefinition({ name: "blender-4", blenderExecutable: "/opt/blender-4/blender", attempts: 2, timeoutSeconds: 30 });
    assert.equal(definition.revision, 1);
    const job = store.submitJob({ name: "x", action: "render", definition: "blender-4" });
    assert.equal(store.getJob(job)?.attempts, 2);
    assert.equal(store.getJob(job)?.timeoutSeconds, 30);
    assert.equal(store.claimNext("w", 1000)?.environment.BLENDER_EXECUTABLE, "/opt/blender-4/blender");
    store.close();
  });

  it("never hands the same child to two processes sharing the database", async () => {
    const { store, path } = fresh();
    const job = store.submitJob({ name: "shared", action: "render", arraySize: 200 });
    store.close();
    const storeUrl = pathToFileURL(resolve("src/backends/local/job-store.ts")).href;
    const script = `
      import { openJobStore } from ${JSON.stringify(storeUrl)};
      const store = openJobStore(process.argv[1]);
      const claimed = [];
      // Start together, and hold each child a moment, so the two really race.
      while (Date.now() < Number(process.argv[3])) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 5);
      for (let child = store.claimNext(process.argv[2], 60000); child; child = store.claimNext(process.argv[2], 60000)) {
        claimed.push(child.index);
        Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 1);
        store.finishAttempt(child.jobId, child.index, child.attempt, { exitCode: 0 });
      }
      store.close();
      process.stdout.write(JSON.stringify(claimed));
    `;
    const startAt = String(Date.now() + 1500);
    const run = (owner: string) =>
      new Promise<number[]>((done, fail) => {
        const child = spawn(process.execPath, ["--input-type=module", "-e", script, path, owner, startAt], { stdio: ["ignore", "pipe", "inherit"] });
        let out = "";
        child.stdout.on("data", (chunk: Buffer) => (out += chunk.toString()));
        child.on("error", fail);
        child.on("exit", (code) => (code === 0 ? done(JSON.parse(out) as number[]) : fail(new Error(`worker ${owner} exited ${code}`))));
      });
    const [first, second] = await Promise.all([run("p1"), run("p2")]);
    console.log(`the two processes claimed ${first.length} and ${second.length} children`);
    assert.ok(first.length > 0 && second.length > 0, "both processes took part");
    const all = [...first, ...second].sort((x, y) => x - y);
    assert.deepEqual(all, Array.from({ length: 200 }, (_, index) => index), "every child claimed exactly once");
    const check = openJobStore(path);
    assert.equal(check.getJob(job)?.status, "SUCCEEDED");
    assert.equal(check.getJob(job)?.statusSummary.SUCCEEDED, 200);
    check.close();
  });

  it("recovers the child of a process killed with SIGKILL once its lease expires", async () => {
    const { store, path } = fresh();
    const job = store.submitJob({ name: "victim", action: "render", attempts: 1 });
    store.close();
    const storeUrl = pathToFileURL(resolve("src/backends/local/job-store.ts")).href;
    const script = `
      import { openJobStore } from ${JSON.stringify(storeUrl)};
      const store = openJobStore(process.argv[1]);
      const child = store.claimNext("doomed", 300);
      store.markRunning(child.jobId, child.index, child.attempt);
      process.stdout.write("claimed");
      setInterval(() => {}, 1000);
    `;
    await new Promise<void>((done, fail) => {
      const child = spawn(process.execPath, ["--input-type=module", "-e", script, path], { stdio: ["ignore", "pipe", "inherit"] });
      child.stdout.once("data", () => child.kill("SIGKILL"));
      child.on("error", fail);
      child.on("exit", (_code, signal) => (signal === "SIGKILL" ? done() : fail(new Error(`worker ended with ${signal}`))));
    });
    const survivor = openJobStore(path);
    assert.equal(survivor.getJob(job)?.status, "RUNNING", "the dead process's child still looks busy until its lease ends");
    assert.equal(survivor.claimNext("survivor", 60_000), undefined);
    await new Promise((done) => setTimeout(done, 400));
    const again = survivor.claimNext("survivor", 60_000);
    assert.equal(again?.jobId, job);
    assert.equal(again?.attempt, 2);
    survivor.finishAttempt(job, 0, again.attempt, { exitCode: 0 });
    assert.equal(survivor.getJob(job)?.status, "SUCCEEDED");
    assert.deepEqual(survivor.listAttempts(job, 0).map((attempt) => attempt.reason ?? "ok"), ["worker lost", "ok"]);
    survivor.close();
  });

  it("submits a 100,000-child array job quickly and dispatches it quickly", () => {
    const { store } = fresh({ maxArraySize: 100_000, maxVcpus: 4 });
    const started = performance.now();
    const job = store.submitJob({ name: "huge", action: "render", arraySize: 100_000 });
    const submitMs = performance.now() - started;
    assert.equal(store.getJob(job)?.statusSummary.RUNNABLE, 100_000);
    const dispatchStarted = performance.now();
    let dispatched = 0;
    while (performance.now() - dispatchStarted < 1000) {
      const child = store.claimNext("w", 60_000);
      assert.ok(child);
      store.finishAttempt(child.jobId, child.index, child.attempt, { exitCode: 0 });
      dispatched += 1;
    }
    const perSecond = dispatched / ((performance.now() - dispatchStarted) / 1000);
    console.log(`100,000 children submitted in ${submitMs.toFixed(0)} ms; dispatched ${perSecond.toFixed(0)} children/s`);
    assert.ok(submitMs < 20_000, `submit took ${submitMs} ms`);
    assert.ok(perSecond > 50, `dispatch rate ${perSecond}/s`);
    assert.equal(store.getJob(job)?.statusSummary.SUCCEEDED, dispatched);
    assert.equal(store.getJob(job)?.status, "RUNNABLE");
    store.close();
  });
});
