import { describe, it } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { emptySummary } from "../../../src/domain/job-status.ts";
import type { ChildRow, JobRow } from "../../../src/backends/local/store/rows.ts";
import {
  attemptFromRow,
  childFromRow,
  claimedChild,
  computeEnvironmentFromRow,
  definitionFromRow,
  jobFromRow,
  optionalNumber,
  optionalString,
  queueFromRow,
} from "../../../src/backends/local/store/views.ts";

/** A single render job waiting on a dependency; tests override what they look at. */
const BASE_JOB: JobRow = {
  id: "job-1",
  seq: 1,
  name: "r1-render",
  queue: "default",
  definition: "brender-worker",
  definition_revision: 2,
  action: "render",
  environment: JSON.stringify({ BUCKET_KEY: "p/scene.blend" }),
  array_size: 1,
  attempts: 3,
  timeout_seconds: null,
  vcpus: 1,
  blender_executable: null,
  priority: 0,
  created_at: 1000,
  started_at: null,
  stopped_at: null,
  status: "PENDING",
  status_reason: null,
  run_on_dependency_failure: 0,
  render_id: null,
  tags: "{}",
  cancel_reason: null,
  terminate_reason: null,
};

const jobRow = (overrides: Partial<JobRow> = {}): JobRow => ({ ...BASE_JOB, ...overrides });

const claim = { index: 0, attempt: 1, attemptsUsed: 0, leaseExpiresAt: 61_000, logFile: undefined };

describe("store views", () => {
  it("reads SQL NULL as undefined and keeps every other value", () => {
    assert.equal(optionalString(null), undefined);
    assert.equal(optionalNumber(null), undefined);
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.integer()), (value) => {
        assert.equal(optionalString(value), String(value));
        assert.equal(optionalNumber(value), Number(value));
      }),
    );
  });

  it("maps job definitions, queues and compute environments", () => {
    const row = { name: "d", revision: 2, blender_executable: null, vcpus: 4, memory_mib: 4096, attempts: 2, timeout_seconds: null };
    assert.deepEqual(definitionFromRow(row), { name: "d", revision: 2, blenderExecutable: undefined, vcpus: 4, memoryMiB: 4096, attempts: 2, timeoutSeconds: undefined });
    assert.deepEqual(definitionFromRow({ ...row, blender_executable: "/opt/blender", timeout_seconds: 60 }), {
      name: "d",
      revision: 2,
      blenderExecutable: "/opt/blender",
      vcpus: 4,
      memoryMiB: 4096,
      attempts: 2,
      timeoutSeconds: 60,
    });
    assert.deepEqual(queueFromRow({ name: "q", priority: 5, state: "DISABLED", compute_environment: "local" }), {
      name: "q",
      priority: 5,
      state: "DISABLED",
      computeEnvironment: "local",
    });
    assert.equal(queueFromRow({ name: "q", priority: 5, state: "ENABLED", compute_environment: "local" }).state, "ENABLED");
    assert.deepEqual(computeEnvironmentFromRow({ name: "local", max_vcpus: 8, state: "ENABLED" }), { name: "local", maxVcpus: 8, state: "ENABLED" });
  });

  it("maps a job row with its dependencies and counts, parsing its JSON columns", () => {
    const summary = { ...emptySummary(), PENDING: 1 };
    const dependsOn = [{ jobId: "job-0", type: "SEQUENTIAL" as const }];
    const view = jobFromRow(jobRow({ tags: '{"project":"p"}', run_on_dependency_failure: 1, render_id: "r1", timeout_seconds: 30 }), dependsOn, summary);
    assert.deepEqual(view.environment, { BUCKET_KEY: "p/scene.blend" });
    assert.deepEqual(view.tags, { project: "p" });
    assert.equal(view.runOnDependencyFailure, true);
    assert.equal(view.renderId, "r1");
    assert.equal(view.timeoutSeconds, 30);
    assert.equal(view.startedAt, undefined);
    assert.equal(view.statusReason, undefined);
    assert.equal(view.definitionRevision, 2);
    assert.deepEqual(view.dependsOn, dependsOn);
    assert.deepEqual(view.statusSummary, summary);
    assert.equal(jobFromRow(jobRow(), [], summary).runOnDependencyFailure, false);
  });

  it("maps children and attempts", () => {
    const child: ChildRow = {
      job_id: "job-1",
      idx: 4,
      status: "RUNNING",
      status_reason: null,
      attempts_used: 1,
      attempt_seq: 3,
      owner: "runner-a",
      lease_ms: 60_000,
      lease_expires_at: 70_000,
      deadline_at: null,
      terminate_requested: 1,
      started_at: 5000,
      stopped_at: null,
    };
    assert.deepEqual(childFromRow(child), {
      jobId: "job-1",
      index: 4,
      status: "RUNNING",
      statusReason: undefined,
      attemptsUsed: 1,
      attempt: 3,
      ownerId: "runner-a",
      leaseExpiresAt: 70_000,
      deadlineAt: undefined,
      terminateRequested: true,
      startedAt: 5000,
      stoppedAt: undefined,
    });
    const attempt = {
      job_id: "job-1",
      idx: 4,
      attempt: 2,
      owner: "runner-a",
      counted: 0,
      created_at: 100,
      started_at: 200,
      stopped_at: 300,
      deadline_at: null,
      exit_code: null,
      reason: "Worker lost",
      log_file: null,
    };
    assert.deepEqual(attemptFromRow(attempt), {
      jobId: "job-1",
      index: 4,
      attempt: 2,
      ownerId: "runner-a",
      counted: false,
      claimedAt: 100,
      startedAt: 200,
      stoppedAt: 300,
      deadlineAt: undefined,
      exitCode: undefined,
      reason: "Worker lost",
      logFile: undefined,
    });
    assert.equal(attemptFromRow({ ...attempt, counted: 1, exit_code: 0 }).exitCode, 0);
  });

  it("gives a single job's child AWS Batch's variables without array ones", () => {
    const claimed = claimedChild(jobRow({ render_id: "r1" }), { ...claim, attempt: 4, attemptsUsed: 2, logFile: "/logs/job-1/0-4.log" });
    assert.deepEqual(claimed.environment, {
      BUCKET_KEY: "p/scene.blend",
      JOB_ACTION_TYPE: "render",
      AWS_BATCH_JOB_ID: "job-1",
      AWS_BATCH_JOB_ATTEMPT: "3",
      AWS_BATCH_JQ_NAME: "default",
    });
    assert.equal(claimed.attempt, 4);
    assert.equal(claimed.logFile, "/logs/job-1/0-4.log");
    assert.equal(claimed.renderId, "r1");
    assert.equal(claimed.leaseExpiresAt, 61_000);
  });

  it("gives an array child its index and size; the job may set BLENDER_EXECUTABLE but not AWS Batch's variables", () => {
    const environment = JSON.stringify({ BLENDER_EXECUTABLE: "/mine", AWS_BATCH_JOB_ID: "forged", JOB_ACTION_TYPE: "copy_efs" });
    const claimed = claimedChild(jobRow({ array_size: 10, environment, blender_executable: "/definition" }), { ...claim, index: 7 });
    assert.equal(claimed.environment.BLENDER_EXECUTABLE, "/mine");
    assert.equal(claimed.environment.AWS_BATCH_JOB_ID, "job-1:7");
    assert.equal(claimed.environment.JOB_ACTION_TYPE, "render");
    assert.equal(claimed.environment.AWS_BATCH_JOB_ARRAY_INDEX, "7");
    assert.equal(claimed.environment.AWS_BATCH_JOB_ARRAY_SIZE, "10");
    assert.equal(claimed.arraySize, 10);
    assert.equal(claimed.index, 7);
    assert.equal(claimedChild(jobRow({ blender_executable: "/definition" }), claim).environment.BLENDER_EXECUTABLE, "/definition");
  });
});
