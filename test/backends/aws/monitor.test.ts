/**
 * Monitoring and control of renders on AWS Batch against moto's server: a
 * render is submitted with submitToBatch, recorded, then described, its
 * logs read from CloudWatch Logs, and cancelled.
 *
 * What moto does, observed (moto 5.2):
 * - With {"batch": {"use_docker": false}} every job is SUCCEEDED before
 *   SubmitJob returns, dependsOn ignored: the first DescribeJobs is final.
 *   Each single job and each array child has one attempt whose log stream is
 *   `<jobDefinitionName>/default/<jobId>` (on AWS `<…>/default/<ecsTaskId>`);
 *   an array parent has no attempt. moto writes no log events: the tests
 *   create the streams under the names DescribeJobs gives and put events.
 * - With Docker enabled but no Docker daemon (these machines), a job that
 *   reaches RUNNING fails at once, but a job waiting on a dependency waits.
 *   moto's job statuses follow its state manager: "immediate" shows a waiting
 *   job as RUNNING, the default "manual" (times 1) as PENDING, like AWS.
 *   The cancel test builds its chain from those two: jobs behind a gate job
 *   that never finishes. moto never fails an array parent (AWS does once its
 *   children ended), so the test reads the children's summary instead.
 */
import { NO_PUBLISH_REASON_PREFIX } from "../../../src/worker/failed-upload.ts";
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DescribeJobsCommand, SubmitJobCommand } from "@aws-sdk/client-batch";
import {
  CloudWatchLogsClient,
  CreateLogGroupCommand,
  CreateLogStreamCommand,
  PutLogEventsCommand,
} from "@aws-sdk/client-cloudwatch-logs";
import { toSubmitJobInputs, type BatchSubmitOptions } from "../../../src/backends/aws/batch-submission.ts";
import { cancelRender, planCancel } from "../../../src/backends/aws/control.ts";
import { findFarm, type FarmResources } from "../../../src/backends/aws/farm-resources.ts";
import { followLogs, logSources, renderLogs, type LogLine } from "../../../src/backends/aws/logs.ts";
import { childStatuses, describeRender, type RenderDescription } from "../../../src/backends/aws/monitor.ts";
import { loadRenderRecord, saveRenderRecord, type AwsRenderRecord } from "../../../src/backends/aws/render-record.ts";
import { resolveResources } from "../../../src/backends/aws/server-sizes.ts";
import { submitToBatch } from "../../../src/backends/aws/submit.ts";
import { compileRenderPlan } from "../../../src/domain/render-plan.ts";
import { parseRenderPayload, type RenderJobPayload } from "../../../src/domain/render-payload.ts";
import { manifestKeyFor } from "../../../src/storage/project-manifest.ts";
import { UserInputError } from "../../../src/errors.ts";
import { createTestFarm, type TestFarm } from "../../helpers/aws-farm.ts";
import { startMotoServer, type MotoServer } from "../../helpers/moto-server.ts";
import { until } from "../../helpers/wait.ts";

let moto: MotoServer;
let farm: TestFarm;
let resources: FarmResources;
let logs: CloudWatchLogsClient;
let home: string;

before(async () => {
  moto = await startMotoServer();
  await moto.configure({ batch: { use_docker: false } });
  farm = await createTestFarm(moto);
  resources = await findFarm("test", { client: farm.cloudFormation });
  logs = new CloudWatchLogsClient({ endpoint: moto.endpoint, region: moto.region, credentials: moto.credentials });
  home = await mkdtemp(join(tmpdir(), "brender-aws-monitor-"));
});

after(async () => {
  await moto?.stop();
  if (home) await rm(home, { recursive: true, force: true });
});

function payloadFor(renderId: string, arraySize: number): RenderJobPayload {
  return parseRenderPayload({
    schemaVersion: 1,
    renderId,
    project: { name: "spring", blendFile: "scene.blend" },
    type: "animation",
    frames: "1-6",
    split: { arraySize },
  });
}

const options = (payload: RenderJobPayload): BatchSubmitOptions => ({
  queue: "spot-cpu",
  resources: resolveResources({ preset: "medium" }),
  attempts: 2,
  timeoutSeconds: 600,
  blenderVersion: "3.6.0",
  tags: { renderId: payload.renderId, project: payload.project.name },
});

function planOf(payload: RenderJobPayload) {
  return compileRenderPlan(payload, { bucketKey: manifestKeyFor("spring", payload.renderId), bucketName: resources.bucket });
}

/** Saves the record the CLI would write after submitting, and reads it back as `status` would. */
async function record(payload: RenderJobPayload, jobIds: readonly string[]): Promise<AwsRenderRecord> {
  const plan = planOf(payload);
  await saveRenderRecord(home, {
    renderId: payload.renderId,
    farm: resources.name,
    region: resources.region,
    storage: `s3://${resources.bucket}`,
    payload,
    bucketKey: manifestKeyFor("spring", payload.renderId),
    submittedAt: new Date().toISOString(),
    jobs: plan.map((job, index) => ({ name: job.name, action: job.action, jobId: jobIds[index]!, arraySize: job.arraySize })),
  });
  return await loadRenderRecord(home, payload.renderId);
}



async function collect(lines: AsyncIterable<LogLine>): Promise<LogLine[]> {
  const all: LogLine[] = [];
  for await (const line of lines) all.push(line);
  return all;
}

const JOB_DEFINITION_NAME = "brender-test-blender-3-6-0";
const quiet = { SUBMITTED: 0, PENDING: 0, RUNNABLE: 0, STARTING: 0, RUNNING: 0, SUCCEEDED: 0, FAILED: 0 };

describe("describeRender (Batch on moto, use_docker false)", () => {
  const payload = payloadFor("r-20261122-000000-000101", 3);
  let saved: AwsRenderRecord;

  before(async () => {
    const submitted = await submitToBatch(planOf(payload), resources, options(payload), { batchClient: farm.batch });
    saved = await record(payload, submitted.map((job) => job.jobId));
  });

  it("follows the jobs until the render is final, with attempts, log streams and the array summary", async () => {
    const seen: string[] = [];
    const described = await until(
      () => describeRender(farm.batch, saved),
      (value) => {
        seen.push(value.status);
        return value.status !== "RUNNING";
      },
      "the render to end",
    );
    // moto without Docker finishes jobs inside SubmitJob: the first look is already final.
    assert.deepEqual(seen, ["SUCCEEDED"]);
    assert.equal(described.status, "SUCCEEDED");
    assert.equal(described.reason, undefined);
    const [copy, render, upload] = described.jobs;
    assert.deepEqual(
      described.jobs.map((job) => [job.name, job.action, job.jobId, job.status, job.arraySize]),
      saved.jobs.map((job) => [job.name, job.action, job.jobId, "SUCCEEDED", job.arraySize]),
    );
    for (const single of [copy!, upload!]) {
      assert.equal(single.statusSummary, undefined);
      assert.equal(single.attempts.length, 1);
      assert.equal(single.attempts[0]!.logStreamName, `${JOB_DEFINITION_NAME}/default/${single.jobId}`);
      assert.ok(single.startedAt! <= single.stoppedAt!);
    }
    assert.equal(render!.arraySize, 3);
    assert.deepEqual(render!.statusSummary, { ...quiet, SUCCEEDED: 3 });
    assert.deepEqual(render!.attempts, [], "an array parent runs nothing itself");
    assert.equal(render!.children, undefined, "children are described only on request");
  });

  it("describes every array child on request, and lists children per status with ListJobs", async () => {
    const described = await describeRender(farm.batch, saved, { children: true });
    const render = described.jobs[1]!;
    assert.deepEqual(
      render.children!.map((child) => [child.index, child.jobId, child.status, child.attempts.map((attempt) => attempt.logStreamName)]),
      [0, 1, 2].map((index) => [index, `${render.jobId}:${index}`, "SUCCEEDED", [`${JOB_DEFINITION_NAME}/default/${render.jobId}:${index}`]]),
    );

    const children = await childStatuses(farm.batch, render.jobId, 3);
    assert.deepEqual(
      children.map((child) => [child.index, child.jobId, child.status]),
      [0, 1, 2].map((index) => [index, `${render.jobId}:${index}`, "SUCCEEDED"]),
    );
    assert.deepEqual(await childStatuses(farm.batch, render.jobId, 3, { statuses: ["RUNNING", "FAILED"] }), []);
    assert.deepEqual(await childStatuses(farm.batch, described.jobs[0]!.jobId, 1), [], "a single job has no children");
  });

  it("says so when AWS Batch no longer knows a job", async () => {
    const gone = { ...saved, jobs: saved.jobs.map((job, index) => (index === 2 ? { ...job, jobId: "0b1d5c1e-0000-4000-8000-000000000000" } : job)) };
    await assert.rejects(describeRender(farm.batch, gone), (error: unknown) => {
      assert.ok(error instanceof UserInputError);
      assert.match(error.message, /^AWS Batch no longer knows job 0b1d5c1e-0000-4000-8000-000000000000 \("r-20261122-000000-000101-upload"\) of render r-20261122-000000-000101: /);
      return true;
    });
  });
});

/** The render whose logs are written (shared with the follow test at the end). */
let described: RenderDescription;
const base = Date.now() - 60_000;

describe("renderLogs (CloudWatch Logs on moto)", () => {
  const payload = payloadFor("r-20261122-000000-000102", 3);
  /** What was written, per stream. */
  const written = new Map<string, string[]>();

  before(async () => {
    const submitted = await submitToBatch(planOf(payload), resources, options(payload), { batchClient: farm.batch });
    const saved = await record(payload, submitted.map((job) => job.jobId));
    described = await describeRender(farm.batch, saved, { children: true });
    await logs.send(new CreateLogGroupCommand({ logGroupName: farm.logGroup }));
    for (const source of logSources(described)) {
      // Child 1 never wrote a line: its stream does not exist.
      if (source.child === 1) continue;
      await logs.send(new CreateLogStreamCommand({ logGroupName: farm.logGroup, logStreamName: source.logStreamName }));
      // The copy writes more than one GetLogEvents page (10,000 events), in two PutLogEvents batches (at most 10,000 each).
      const count = source.job.endsWith("-copy") ? 10_003 : 2;
      const lines = Array.from({ length: count }, (_, index) => `${source.job}${source.child !== undefined ? `[${source.child}]` : ""} line ${index}`);
      written.set(source.logStreamName, lines);
      for (let start = 0; start < lines.length; start += 10_000) {
        await logs.send(
          new PutLogEventsCommand({
            logGroupName: farm.logGroup,
            logStreamName: source.logStreamName,
            logEvents: lines.slice(start, start + 10_000).map((message, offset) => ({ message, timestamp: base + start + offset })),
          }),
        );
      }
    }
  });

  it("reads every attempt's stream in plan order, child by child, across pages, skipping streams not there", async () => {
    const lines = await collect(renderLogs(logs, farm.logGroup, described));
    const [copy, render, upload] = described.jobs;
    const expected = [
      ...written.get(copy!.attempts[0]!.logStreamName!)!.map((line) => ({ job: copy!.name, attempt: 1, line })),
      ...[0, 2].flatMap((child) =>
        written.get(render!.children![child]!.attempts[0]!.logStreamName!)!.map((line) => ({ job: render!.name, child, attempt: 1, line })),
      ),
      ...written.get(upload!.attempts[0]!.logStreamName!)!.map((line) => ({ job: upload!.name, attempt: 1, line })),
    ];
    assert.equal(lines.length, 10_003 + 2 + 2 + 2);
    assert.deepEqual(
      lines.map(({ timestamp: _, ...rest }) => rest),
      expected,
    );
    const copyTimes = lines.filter((line) => line.job === copy!.name).map((line) => line.timestamp);
    assert.deepEqual(copyTimes.slice(0, 3), [base, base + 1, base + 2]);
    assert.equal(copyTimes.at(-1), base + 10_002);
  });

  it("follows a render that has ended: everything once, then stops", async () => {
    const statuses: string[] = [];
    const followed = await collect(
      followLogs(logs, farm.batch, farm.logGroup, await loadRenderRecord(home, payload.renderId), {
        intervalMs: 50,
        onDescribe: (value) => statuses.push(value.status),
      }),
    );
    assert.deepEqual(statuses, ["SUCCEEDED"]);
    assert.equal(followed.length, 10_009);
  });

  it("refuses a log group that does not exist", async () => {
    await assert.rejects(collect(renderLogs(logs, "/brender/nope", described)), (error: unknown) => {
      assert.ok(error instanceof UserInputError);
      assert.match(error.message, /^The log group "\/brender\/nope" the farm's jobs write to does not exist: /);
      return true;
    });
  });

  it("refuses to guess an array job's logs when its children were not described", async () => {
    const withoutChildren = await describeRender(farm.batch, await loadRenderRecord(home, payload.renderId));
    assert.throws(() => logSources(withoutChildren), /describe the render with \{ children: true \}/);
  });
});

describe("cancelRender and followLogs on jobs that wait (Batch on moto with Docker enabled, no daemon)", () => {
  const payload = payloadFor("r-20261122-000000-000103", 3);
  let saved: AwsRenderRecord;
  let gate: string;
  const reason = "Cancelled by user";

  before(async () => {
    await moto.configure({ batch: { use_docker: true } });
    const inputs = toSubmitJobInputs(planOf(payload), resources, options(payload));
    const submit = async (index: number, dependsOn: string) =>
      (await farm.batch.send(new SubmitJobCommand({ ...inputs[index]!, dependsOn: [{ jobId: dependsOn }] }))).jobId!;
    const states = async (ids: string[]) => (await farm.batch.send(new DescribeJobsCommand({ jobs: ids }))).jobs!;

    // A gate that never opens (moto does not check dependency ids; AWS would refuse this one).
    await moto.setBatchJobTransition({ progression: "immediate" });
    gate = (
      await farm.batch.send(
        new SubmitJobCommand({ jobName: "gate", jobQueue: resources.queues.io, jobDefinition: inputs[0]!.jobDefinition, dependsOn: [{ jobId: "never-submitted" }] }),
      )
    ).jobId!;
    // "immediate": copy and the render's children show RUNNING while they wait.
    const copy = await submit(0, gate);
    const render = await submit(1, copy);
    await until(() => states([copy, render]), (jobs) => jobs.every((job) => job.status === "RUNNING") && jobs[1]?.arrayProperties?.statusSummary?.["RUNNING"] === 3, "copy and render running");
    // Back to moto's default "manual": the upload waits PENDING (for the gate, standing in for the render it depends on).
    await moto.setBatchJobTransition(undefined);
    const upload = await submit(2, gate);
    await until(() => states([upload]), (jobs) => jobs[0]?.status === "PENDING", "upload pending");
    saved = await record(payload, [copy, render, upload]);
  });

  after(async () => {
    await moto.configure({ batch: { use_docker: false } });
  });

  it("terminates running jobs and children, leaves the upload to report, then cancels a job waiting on a dependency", async () => {
    const described = await describeRender(farm.batch, saved);
    assert.equal(described.status, "RUNNING");
    assert.deepEqual(described.jobs.map((job) => job.status), ["RUNNING", "RUNNING", "PENDING"]);
    assert.deepEqual(described.jobs[1]!.statusSummary, { ...quiet, RUNNING: 3 });
    const [copyId, renderId, uploadId] = saved.jobs.map((job) => job.jobId);

    // By default the upload is left alone: it publishes what exists and reports the cancellation.
    await moto.startRecording();
    const summary = await cancelRender(farm.batch, described, reason);
    assert.deepEqual(
      { ...summary, steps: summary.steps.map((step) => [step.name, step.effect]) },
      {
        cancelled: 0,
        terminated: 2,
        untouched: 1,
        children: { cancelled: 0, terminated: 3 },
        steps: [
          [`${payload.renderId}-render`, "terminate"],
          [`${payload.renderId}-copy`, "terminate"],
        ],
      },
    );
    const calls = (await moto.recordedRequests()).filter((request) => /\/v1\/(terminatejob|canceljob)$/.test(request.url));
    const sent = calls.map((request) => [request.url.split("/").at(-1), JSON.parse(request.body).jobId, JSON.parse(request.body).reason]);
    assert.deepEqual(sent, [
      ["terminatejob", renderId, reason],
      ...[0, 1, 2].map((index) => ["terminatejob", `${renderId}:${index}`, reason]),
      ["terminatejob", copyId, reason],
    ]);

    const ended = await until(
      () => describeRender(farm.batch, saved),
      (value) => value.jobs[0]!.status === "FAILED" && value.jobs[1]!.statusSummary!.FAILED === 3,
      "copy and children to fail",
    );
    assert.equal(ended.jobs[0]!.statusReason, reason);
    for (const child of (await describeRender(farm.batch, saved, { children: true })).jobs[1]!.children!) {
      assert.deepEqual([child.status, child.statusReason], ["FAILED", reason]);
    }
    assert.equal(ended.jobs[2]!.status, "PENDING", "the upload was not touched");

    // Stopping the whole chain: the upload, still waiting on its dependency, is cancelled.
    const again = await describeRender(farm.batch, saved);
    assert.deepEqual(
      planCancel(again, { includeUpload: true }).filter((step) => step.jobId !== renderId),
      [{ name: `${payload.renderId}-upload`, jobId: uploadId, effect: "cancel" }],
      "only moto's never-ending array parent is left besides the upload",
    );
    const whole = await cancelRender(farm.batch, again, reason, { includeUpload: true });
    assert.equal(whole.cancelled, 1);
    const upload = await until(() => describeRender(farm.batch, saved), (value) => value.jobs[2]!.status === "FAILED", "upload to fail");
    // The reason tells the farm's publisher job not to publish this render.
    assert.equal(upload.jobs[2]!.statusReason, NO_PUBLISH_REASON_PREFIX + reason);
  });

  it("follows logs round by round, reading each line once, until aborted", async () => {
    // The copy of the logs test (ended, 10,003 lines) and the gate, which never ends.
    const copy = described.jobs[0]!;
    const record = { jobs: [{ name: copy.name, action: copy.action, jobId: copy.jobId, arraySize: 1 }, { name: "gate", action: "render" as const, jobId: gate, arraySize: 1 }] };
    const stream = copy.attempts[0]!.logStreamName!;
    const controller = new AbortController();
    const statuses: string[] = [];
    const seen: LogLine[] = [];
    const follower = followLogs(logs, farm.batch, farm.logGroup, record, {
      intervalMs: 100,
      signal: controller.signal,
      onDescribe: (value) => {
        statuses.push(value.status);
        // Round 2 must find nothing new (no line read twice); round 3 is cut short.
        if (statuses.length === 3) controller.abort();
      },
    });
    for await (const line of follower) {
      seen.push(line);
      if (seen.length === 10_003) {
        // Written while the stream is being followed: read after the lines before them.
        await logs.send(
          new PutLogEventsCommand({
            logGroupName: farm.logGroup,
            logStreamName: stream,
            logEvents: ["late 1", "late 2"].map((message, offset) => ({ message, timestamp: base + 10_003 + offset })),
          }),
        );
      }
    }
    assert.deepEqual(statuses, ["RUNNING", "RUNNING", "RUNNING"]);
    assert.equal(seen.length, 10_005);
    assert.deepEqual(seen.slice(-3).map((line) => line.line), [`${copy.name} line 10002`, "late 1", "late 2"]);
  });
});
