import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { JobActionType } from "../../src/domain/job-actions.ts";
import { emptySummary, type JobStatus, type StatusSummary } from "../../src/domain/job-status.ts";
import { foldRenderStatus } from "../../src/domain/render-status.ts";

const job = (action: JobActionType, status: JobStatus, summary?: Partial<StatusSummary>) => ({
  action,
  status,
  ...(summary ? { statusSummary: { ...emptySummary(), ...summary } } : {}),
});
const succeeded = { status: "succeeded" as const };

describe("foldRenderStatus: one render status for both backends, the CLI and the API", () => {
  it("shows the job in progress, an array job by its furthest child (AWS keeps the parent PENDING)", () => {
    const running = [job("copy_efs", "SUCCEEDED"), job("render", "PENDING", { RUNNING: 1, RUNNABLE: 3 }), job("upload_render_output", "RUNNING")];
    assert.deepEqual(foldRenderStatus(running, undefined), { status: "RUNNING", stage: "render", terminal: false });
    const waiting = [job("copy_efs", "RUNNABLE"), job("render", "PENDING", { PENDING: 4 })];
    assert.deepEqual(foldRenderStatus(waiting, undefined), { status: "RUNNABLE", stage: "copy_efs", terminal: false });
  });

  it("succeeds only when every job did and the manifest says the outputs are complete", () => {
    const all = [job("copy_efs", "SUCCEEDED"), job("render", "SUCCEEDED"), job("upload_render_output", "SUCCEEDED")];
    assert.deepEqual(foldRenderStatus(all, succeeded), { status: "SUCCEEDED", terminal: true });
    // Where the CLI's old fold (jobs only) said SUCCEEDED and the API's said FAILED: the API was right, no manifest means no complete outputs.
    assert.deepEqual(foldRenderStatus(all, undefined), { status: "FAILED", reason: "the render did not finish", terminal: true });
    assert.deepEqual(foldRenderStatus(all, { status: "failed", reason: "frames missing: 3" }), { status: "FAILED", reason: "frames missing: 3", terminal: true });
  });

  it("names a failure by the manifest's reason, else the jobs'", () => {
    const failed = [job("copy_efs", "SUCCEEDED"), job("render", "FAILED"), job("upload_render_output", "SUCCEEDED")];
    assert.deepEqual(foldRenderStatus(failed, undefined, "r-render: Essential container in task exited"), { status: "FAILED", reason: "r-render: Essential container in task exited", terminal: true });
    assert.deepEqual(foldRenderStatus(failed, { status: "failed", reason: "frame 3 failed" }, "r-render: exit 1"), { status: "FAILED", reason: "frame 3 failed", terminal: true });
    // A manifest that says succeeded does not hide a failed job.
    assert.equal(foldRenderStatus(failed, succeeded).status, "FAILED");
  });

  it("without jobs (AWS Batch forgot them) the manifest alone tells, else UNKNOWN", () => {
    assert.deepEqual(foldRenderStatus(undefined, undefined), { status: "UNKNOWN", terminal: false });
    assert.deepEqual(foldRenderStatus(undefined, succeeded), { status: "SUCCEEDED", terminal: true });
    assert.deepEqual(foldRenderStatus(undefined, { status: "failed", reason: "cancelled" }), { status: "FAILED", reason: "cancelled", terminal: true });
  });
});
