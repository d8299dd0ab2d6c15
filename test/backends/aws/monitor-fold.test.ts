/**
 * The pure parts of AWS monitoring and control: folding job statuses into the
 * render's, reading AWS's job details (including states moto never produces:
 * an attempt in progress, retries, failures), the cancel plan and the order
 * of log streams.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import type { JobDetail } from "@aws-sdk/client-batch";
import { planCancel } from "../../../src/backends/aws/control.ts";
import { logSources } from "../../../src/backends/aws/logs.ts";
import { attemptsOf, renderStatusOf, toJobView, toStatusSummary, type BatchJobView, type RenderDescription } from "../../../src/backends/aws/monitor.ts";
import { JOB_STATUSES, type JobStatus } from "../../../src/domain/job-status.ts";

const job = (name: string, status: JobStatus, extra: Partial<BatchJobView> = {}): BatchJobView => ({
  name,
  action: "render",
  jobId: `${name}-id`,
  status,
  arraySize: 1,
  attempts: [],
  ...extra,
});

describe("renderStatusOf", () => {
  it("is RUNNING while any job is not final, SUCCEEDED when all succeeded, else FAILED with the first failure", () => {
    fc.assert(
      fc.property(fc.array(fc.constantFrom(...JOB_STATUSES), { minLength: 1, maxLength: 6 }), (statuses) => {
        const jobs = statuses.map((status, index) => job(`j${index}`, status, { statusReason: `reason ${index}` }));
        const folded = renderStatusOf(jobs);
        const firstFailed = statuses.indexOf("FAILED");
        if (statuses.some((status) => status !== "SUCCEEDED" && status !== "FAILED")) {
          assert.deepEqual(folded, { status: "RUNNING" });
        } else if (firstFailed === -1) {
          assert.deepEqual(folded, { status: "SUCCEEDED" });
        } else {
          assert.deepEqual(folded, { status: "FAILED", reason: `j${firstFailed}: reason ${firstFailed}` });
        }
      }),
    );
  });

  it("explains a failure without a status reason from its last attempt", () => {
    const exited = job("render", "FAILED", { attempts: [{ reason: "Host EC2 (instance i-1) terminated." }, { exitCode: 1 }] });
    assert.deepEqual(renderStatusOf([job("copy", "SUCCEEDED"), exited]), { status: "FAILED", reason: "render: exited with code 1" });
    const reclaimed = job("render", "FAILED", { attempts: [{ exitCode: 137, reason: "OutOfMemoryError: Container killed due to memory usage" }] });
    assert.equal(renderStatusOf([reclaimed]).reason, "render: OutOfMemoryError: Container killed due to memory usage");
    assert.equal(renderStatusOf([job("render", "FAILED")]).reason, "render: failed");
  });
});

describe("toJobView and attemptsOf", () => {
  const recorded = { name: "r-1-render", action: "render" as const, jobId: "abc", arraySize: 4 };

  it("reads an array parent the way AWS describes it (PENDING while children run)", () => {
    const detail: JobDetail = {
      jobId: "abc",
      jobName: "r-1-render",
      jobQueue: "q",
      jobDefinition: "d",
      status: "PENDING",
      startedAt: 1000,
      arrayProperties: { size: 4, statusSummary: { RUNNING: 2, SUCCEEDED: 1, RUNNABLE: 1 } },
    };
    assert.deepEqual(toJobView(recorded, detail), {
      name: "r-1-render",
      action: "render",
      jobId: "abc",
      status: "PENDING",
      arraySize: 4,
      statusSummary: { SUBMITTED: 0, PENDING: 0, RUNNABLE: 1, STARTING: 0, RUNNING: 2, SUCCEEDED: 1, FAILED: 0 },
      startedAt: 1000,
      attempts: [],
    });
  });

  it("lists finished attempts, then the one in progress from the job's container", () => {
    const detail: JobDetail = {
      jobId: "x",
      jobName: "r-1-copy",
      jobQueue: "q",
      jobDefinition: "d",
      status: "RUNNING",
      startedAt: 30,
      container: { logStreamName: "def/default/task-2" },
      attempts: [
        {
          container: { exitCode: undefined, logStreamName: "def/default/task-1" },
          startedAt: 10,
          stoppedAt: 20,
          statusReason: "Host EC2 (instance i-0abc) terminated.",
        },
      ],
    };
    assert.deepEqual(attemptsOf(detail), [
      { reason: "Host EC2 (instance i-0abc) terminated.", logStreamName: "def/default/task-1", startedAt: 10, stoppedAt: 20 },
      { logStreamName: "def/default/task-2" },
    ]);
    // Once the job ended, AWS lists the last attempt itself: no duplicate.
    const ended: JobDetail = {
      ...detail,
      status: "SUCCEEDED",
      container: { logStreamName: "def/default/task-2", exitCode: 0 },
      attempts: [...detail.attempts!, { container: { exitCode: 0, logStreamName: "def/default/task-2" }, startedAt: 30, stoppedAt: 40 }],
    };
    assert.deepEqual(attemptsOf(ended).map((attempt) => [attempt.logStreamName, attempt.exitCode]), [
      ["def/default/task-1", undefined],
      ["def/default/task-2", 0],
    ]);
  });

  it("refuses a status AWS does not document, and ignores unknown summary keys", () => {
    assert.throws(() => toJobView(recorded, { jobId: "abc", jobName: "n", jobQueue: "q", jobDefinition: "d", status: "PAUSED" as never, startedAt: 0 }), /status "PAUSED"/);
    assert.deepEqual(toStatusSummary({ RUNNING: 1, WEIRD: 5 }).RUNNING, 1);
    assert.equal(Object.keys(toStatusSummary({ WEIRD: 5 })).length, JOB_STATUSES.length);
  });
});

describe("planCancel", () => {
  const described = (statuses: [JobStatus, JobStatus, JobStatus]): RenderDescription => ({
    status: "RUNNING",
    jobs: [
      job("copy", statuses[0], { action: "copy_efs" }),
      job("render", statuses[1], { arraySize: 5, statusSummary: { SUBMITTED: 0, PENDING: 1, RUNNABLE: 1, STARTING: 1, RUNNING: 1, SUCCEEDED: 1, FAILED: 0 } }),
      job("upload", statuses[2], { action: "upload_render_output" }),
    ],
  });

  it("stops the later jobs first, skips final ones and, by default, the upload", () => {
    assert.deepEqual(planCancel(described(["RUNNING", "PENDING", "RUNNING"])), [
      { name: "render", jobId: "render-id", effect: "cancel", children: { queued: 2, inFlight: 2 } },
      { name: "copy", jobId: "copy-id", effect: "terminate" },
    ]);
    assert.deepEqual(
      planCancel(described(["SUCCEEDED", "PENDING", "RUNNING"]), { includeUpload: true }).map((step) => [step.name, step.effect]),
      [
        ["upload", "terminate"],
        ["render", "cancel"],
      ],
    );
    assert.deepEqual(planCancel(described(["SUCCEEDED", "FAILED", "SUCCEEDED"]), { includeUpload: true }), []);
  });

  it("never stops a final job and keeps the plan's order reversed", () => {
    fc.assert(
      fc.property(fc.array(fc.constantFrom(...JOB_STATUSES), { minLength: 3, maxLength: 3 }), fc.boolean(), (statuses, includeUpload) => {
        const steps = planCancel(described(statuses as [JobStatus, JobStatus, JobStatus]), { includeUpload });
        const stopped = steps.map((step) => step.name);
        const expected = ["upload", "render", "copy"].filter((name, index) => {
          const status = statuses[2 - index]!;
          return status !== "SUCCEEDED" && status !== "FAILED" && (includeUpload || name !== "upload");
        });
        assert.deepEqual(stopped, expected);
      }),
    );
  });
});

describe("logSources", () => {
  it("orders streams job by job, child by child, attempt by attempt, and skips attempts without a stream", () => {
    const described: RenderDescription = {
      status: "RUNNING",
      jobs: [
        job("copy", "SUCCEEDED", { attempts: [{ logStreamName: "c1" }, { logStreamName: "c2" }] }),
        job("render", "PENDING", {
          arraySize: 2,
          children: [
            { index: 0, jobId: "r:0", status: "RUNNING", attempts: [{ logStreamName: "r0a1" }, { logStreamName: "r0a2" }] },
            { index: 1, jobId: "r:1", status: "RUNNABLE", attempts: [{ exitCode: 1 }] },
          ],
        }),
        job("upload", "RUNNING", { attempts: [{ logStreamName: "u1" }] }),
      ],
    };
    assert.deepEqual(logSources(described), [
      { job: "copy", attempt: 1, logStreamName: "c1" },
      { job: "copy", attempt: 2, logStreamName: "c2" },
      { job: "render", child: 0, attempt: 1, logStreamName: "r0a1" },
      { job: "render", child: 0, attempt: 2, logStreamName: "r0a2" },
      { job: "upload", attempt: 1, logStreamName: "u1" },
    ]);
  });
});
