/**
 * awaitUpstreamJobs against moto's AWS Batch (see aws-batch-fixture.ts for
 * how moto is made to succeed or fail a job). moto cannot hold a job in
 * RUNNING for a chosen time (its jobs end within milliseconds), so the
 * polling itself (waiting while a job or an array's children run) is checked
 * with aws-sdk-client-mock.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { BatchClient, DescribeJobsCommand } from "@aws-sdk/client-batch";
import { mockClient } from "aws-sdk-client-mock";
import fc from "fast-check";
import { JobFailedError, UserInputError } from "../../src/errors.ts";
import { awaitUpstreamJobs, parseAwaitJobs } from "../../src/worker/await-jobs.ts";
import { parseWorkerEnv } from "../../src/worker/env.ts";
import { closedPort } from "../helpers/s3-server.ts";
import { startMotoServer, type MotoServer } from "../helpers/moto-server.ts";
import { batchFixture, type BatchFixture } from "./aws-batch-fixture.ts";

describe("parseAwaitJobs", () => {
  it("reads name=jobId pairs in order, array job ids included", () => {
    assert.deepEqual(parseAwaitJobs("r1-copy=aaa,r1-render=bbb:3"), [
      { name: "r1-copy", jobId: "aaa" },
      { name: "r1-render", jobId: "bbb:3" },
    ]);
  });

  it("round-trips any list of pairs", () => {
    const token = fc.stringMatching(/^[A-Za-z0-9_:.-]{1,20}$/);
    fc.assert(
      fc.property(fc.array(fc.tuple(token, token).map(([name, jobId]) => ({ name, jobId })), { minLength: 1, maxLength: 10 }), (jobs) => {
        assert.deepEqual(parseAwaitJobs(jobs.map((job) => `${job.name}=${job.jobId}`).join(",")), jobs);
      }),
    );
  });

  it("names a malformed pair", () => {
    assert.throws(() => parseAwaitJobs("r1-copy=aaa,r1-render"), (error: Error) => {
      assert.ok(error instanceof UserInputError);
      assert.match(error.message, /"r1-render"/);
      return true;
    });
    assert.throws(() => parseWorkerEnv({ JOB_ACTION_TYPE: "upload_render_output", BRENDER_AWAIT_JOBS: "copy=a=b" }), /BRENDER_AWAIT_JOBS="copy=a=b"/);
  });
});

describe("awaitUpstreamJobs against moto", () => {
  let moto: MotoServer;
  let fixture: BatchFixture;
  before(async () => {
    moto = await startMotoServer();
    fixture = await batchFixture(moto);
  });
  after(async () => {
    fixture?.batch.destroy();
    await moto?.stop();
  });

  it("returns at once without BRENDER_AWAIT_JOBS", async () => {
    assert.deepEqual(await awaitUpstreamJobs({}, { batchClient: fixture.batch }), {});
  });

  it("reports nothing when every job, array parent included, succeeded", async () => {
    const copy = await fixture.succeeded("ok-copy");
    const render = await fixture.succeeded("ok-render", 3);
    const result = await awaitUpstreamJobs({ BRENDER_AWAIT_JOBS: `ok-copy=${copy},ok-render=${render}` }, { batchClient: fixture.batch, pollMs: 20 });
    assert.deepEqual(result, {});
  });

  it("reports a failed job with Batch's reason", async () => {
    const copy = await fixture.succeeded("bad-copy");
    const render = await fixture.failing("bad-render", "Essential container in task exited");
    const waits: string[][] = [];
    const result = await awaitUpstreamJobs(
      { BRENDER_AWAIT_JOBS: `bad-copy=${copy},bad-render=${render}` },
      { batchClient: fixture.batch, pollMs: 50, onWaiting: (pending) => waits.push([...pending]) },
    );
    assert.deepEqual(result, { failed: "bad-render: Essential container in task exited", failedJobIds: [render] });
    // Whether moto had failed it by the first look varies; only the render can have been waited for.
    assert.ok(waits.every((pending) => pending.length === 1 && pending[0] === "bad-render"));
  });

  it("lists every failed job in the given order", async () => {
    const copy = await fixture.failing("two-copy", "CannotPullContainerError: no image");
    const render = await fixture.failing("two-render", "Dependent Job failed");
    await Promise.all([fixture.settled(copy), fixture.settled(render)]);
    const result = await awaitUpstreamJobs({ BRENDER_AWAIT_JOBS: `two-copy=${copy},two-render=${render}` }, { batchClient: fixture.batch, pollMs: 20 });
    assert.equal(result.failed, "two-copy: CannotPullContainerError: no image; two-render: Dependent Job failed");
  });

  it("asks DescribeJobs for at most 100 ids at a time", async () => {
    const ids = await Promise.all(Array.from({ length: 105 }, (_, index) => fixture.succeeded(`many-${index}`)));
    await moto.startRecording();
    const result = await awaitUpstreamJobs(
      { BRENDER_AWAIT_JOBS: ids.map((id, index) => `many-${index}=${id}`).join(",") },
      { batchClient: fixture.batch, pollMs: 20 },
    );
    assert.deepEqual(result, {});
    const describes = (await moto.recordedRequests()).filter((request) => request.url.includes("/v1/describejobs"));
    const sizes = describes.map((request) => (JSON.parse(request.body) as { jobs: string[] }).jobs.length).sort((a, b) => b - a);
    assert.deepEqual(sizes, [100, 5]);
  });

  it("gives up on a job Batch does not know, naming it", async () => {
    await assert.rejects(
      awaitUpstreamJobs({ BRENDER_AWAIT_JOBS: "ghost-render=00000000-0000-0000-0000-000000000000" }, { batchClient: fixture.batch, pollMs: 10 }),
      (error: Error) => {
        assert.ok(error instanceof JobFailedError);
        assert.match(error.message, /ghost-render \(00000000-0000-0000-0000-000000000000\) is unknown to AWS Batch/);
        return true;
      },
    );
  });

  it("stops waiting when the job is terminated", async () => {
    const controller = new AbortController();
    const started = performance.now();
    setTimeout(() => controller.abort(), 100);
    await assert.rejects(
      awaitUpstreamJobs({ BRENDER_AWAIT_JOBS: "slow-render=11111111-0000-0000-0000-000000000000" }, {
        batchClient: fixture.batch,
        pollMs: 60_000,
        signal: controller.signal,
      }),
      /Stopped while waiting for upstream jobs \(slow-render\)/,
    );
    assert.ok(performance.now() - started < 5000);
  });
});

describe("awaitUpstreamJobs when AWS Batch cannot be reached", () => {
  it("fails after a few rounds, saying what to check", async () => {
    const batchClient = new BatchClient({
      endpoint: `http://127.0.0.1:${await closedPort()}`,
      region: "us-east-1",
      credentials: { accessKeyId: "x", secretAccessKey: "y" },
      maxAttempts: 1,
    });
    try {
      await assert.rejects(awaitUpstreamJobs({ BRENDER_AWAIT_JOBS: "r-copy=abc" }, { batchClient, pollMs: 5 }), (error: Error) => {
        assert.ok(error instanceof JobFailedError);
        assert.match(error.message, /Could not read the state of the upstream jobs \(r-copy\)/);
        assert.match(error.message, /batch:DescribeJobs/);
        return true;
      });
    } finally {
      batchClient.destroy();
    }
  });
});

describe("awaitUpstreamJobs polling (aws-sdk-client-mock: moto cannot keep a job running)", () => {
  it("keeps polling while the array parent runs, asking only for what is unfinished", async () => {
    const batch = mockClient(BatchClient);
    try {
      const running = { jobId: "arr", jobName: "r-render", status: "RUNNING", arrayProperties: { size: 4, statusSummary: { RUNNING: 2, FAILED: 1, SUCCEEDED: 1 } } };
      const failed = { ...running, status: "FAILED", arrayProperties: { size: 4, statusSummary: { FAILED: 2, SUCCEEDED: 2 } } };
      batch
        .on(DescribeJobsCommand)
        .resolvesOnce({ jobs: [{ jobId: "cp", jobName: "r-copy", status: "SUCCEEDED" }, running] as never })
        .resolvesOnce({ jobs: [running] as never })
        .resolves({ jobs: [failed] as never });
      const waits: string[][] = [];
      const result = await awaitUpstreamJobs(
        { BRENDER_AWAIT_JOBS: "r-copy=cp,r-render=arr" },
        { batchClient: new BatchClient({ region: "us-east-1" }), pollMs: 5, onWaiting: (pending) => waits.push([...pending]) },
      );
      // A child failing does not end the wait: the parent's status does. Without a reason, the children are counted.
      assert.deepEqual(result, { failed: "r-render: 2 of 4 children failed", failedJobIds: ["arr"] });
      assert.deepEqual(waits, [["r-render"], ["r-render"]]);
      const asked = batch.commandCalls(DescribeJobsCommand).map((call) => call.args[0].input.jobs);
      assert.deepEqual(asked, [["cp", "arr"], ["arr"], ["arr"]]);
    } finally {
      batch.restore();
    }
  });
});
