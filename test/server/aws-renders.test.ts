/**
 * AWS farms through the HTTP API, against moto_server (Batch, S3,
 * CloudFormation, CloudWatch Logs, Service Quotas) with the real SDK: the
 * server talks to moto through the standard AWS environment variables, as
 * `brender serve` would talk to AWS.
 *
 * moto's Batch does not run containers (see test/backends/aws/monitor.test.ts):
 * with {"use_docker": false} every job has SUCCEEDED when SubmitJob returns;
 * with Docker "enabled" (no daemon here) and the job state manager set to
 * "manual" with a huge count, jobs stay SUBMITTED until the state manager is
 * switched to "immediate", after which a job that was terminated fails with
 * the reason it was given (its container cannot start).
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { copyFile, mkdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { DescribeJobsCommand } from "@aws-sdk/client-batch";
import { CloudWatchLogsClient, CreateLogGroupCommand, CreateLogStreamCommand, PutLogEventsCommand } from "@aws-sdk/client-cloudwatch-logs";
import { CreateStackCommand } from "@aws-sdk/client-cloudformation";
import sharp from "sharp";
import { CreateBucketCommand, HeadObjectCommand, PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { AwsRenderRecord } from "../../src/backends/aws/render-record.ts";
import { ApiError } from "../../src/server/http-errors.ts";
import { explainAwsError } from "../../src/server/aws/errors.ts";
import { farmsSchema, renderDetailSchema, renderListItemSchema } from "../../src/server/schemas.ts";
import { makeScene } from "../helpers/blender.ts";
import { createTestFarm, TEST_FARM_LOG_GROUP, type TestFarm } from "../helpers/aws-farm.ts";
import { startMotoServer, type MotoServer } from "../helpers/moto-server.ts";
import { closedPort } from "../helpers/s3-server.ts";
import { collectEvents, renderForm, startTestServer, type TestServer } from "./harness.ts";
import { until } from "../helpers/wait.ts";

const BUCKET = "brender-test-bucket";
const AWS_VARIABLES = ["AWS_ENDPOINT_URL", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_REGION", "AWS_PROFILE", "AWS_SESSION_TOKEN"] as const;
const savedEnv = Object.fromEntries(AWS_VARIABLES.map((name) => [name, process.env[name]]));

let moto: MotoServer;
let farm: TestFarm;
let s3: S3Client;
let server: TestServer;
let blend: string;
const cleanups: (() => Promise<void>)[] = [];
const suite = { after: (fn: () => Promise<void>) => void cleanups.push(fn) };

before(async () => {
  moto = await startMotoServer();
  await moto.configure({ batch: { use_docker: false } });
  farm = await createTestFarm(moto);
  s3 = new S3Client({ endpoint: moto.endpoint, region: moto.region, credentials: moto.credentials, forcePathStyle: true });
  await s3.send(new CreateBucketCommand({ Bucket: BUCKET }));
  // The server (and the SDK inside it) find AWS as `brender serve` would: through the environment.
  Object.assign(process.env, {
    AWS_ENDPOINT_URL: moto.endpoint,
    AWS_ACCESS_KEY_ID: moto.credentials.accessKeyId,
    AWS_SECRET_ACCESS_KEY: moto.credentials.secretAccessKey,
    AWS_REGION: moto.region,
  });
  delete process.env.AWS_PROFILE;
  delete process.env.AWS_SESSION_TOKEN;
  server = await startTestServer(suite, { runFarm: false });
  blend = await makeScene(join(server.home, "shot.blend"), { frames: [1, 2], resolution: [16, 16], samples: 1 });
});

after(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
  s3?.destroy();
  await moto?.stop();
  for (const name of AWS_VARIABLES) {
    if (savedEnv[name] === undefined) delete process.env[name];
    else process.env[name] = savedEnv[name];
  }
});



async function readRecord(home: string, renderId: string): Promise<AwsRenderRecord> {
  return AwsRenderRecord.parse(JSON.parse(await readFile(join(home, "aws-renders", `${renderId}.json`), "utf8")));
}

async function getJson(path: string): Promise<{ status: number; body: Record<string, unknown> & Record<string, any> }> {
  const response = await server.api(path);
  return { status: response.status, body: (await response.json()) as Record<string, any> };
}

async function putObject(key: string, body: string | Uint8Array): Promise<void> {
  await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: body }));
}

type SubmitJobBody = { jobName: string; jobQueue: string; dependsOn?: { jobId: string }[]; arrayProperties?: { size: number } };

describe("renders on an AWS farm through the API (moto_server)", () => {
  /** The render that stays queued in moto: listed, described, given outputs, cancelled. */
  let queued: AwsRenderRecord;

  it("submits to the farm: 202, a render record, and SubmitJob requests in plan order with queue, dependsOn and array size", async () => {
    await moto.configure({ batch: { use_docker: true } });
    await moto.setBatchJobTransition({ progression: "manual", times: 1_000_000 });
    await moto.startRecording();
    // A Slack URL is a credential: it must reach no SubmitJob request (the farm's bucket holds it instead).
    const settings = { farm: "test", frames: "1-2", arraySize: 2, queue: "spot-cpu", preset: "medium", attempts: 2, notify: ["https://hooks.slack.com/services/T0/B0/ApiSlackSecret"] };
    const response = await server.api("/api/renders", { method: "POST", body: await renderForm(blend, "shot.blend", settings) });
    const body = (await response.json()) as { renderId: string; warnings?: string[] };
    assert.equal(response.status, 202, JSON.stringify(body));
    assert.ok(body.warnings?.some((warning) => /saved with Blender 3\.4; rendering with 3\.6\.0/.test(warning)), JSON.stringify(body.warnings));

    queued = await readRecord(server.home, body.renderId);
    assert.equal(queued.farm, "test");
    assert.equal(queued.region, moto.region);
    assert.equal(queued.storage, `s3://${BUCKET}`);
    assert.deepEqual(queued.submitOptions, {
      queue: "spot-cpu",
      resources: { vcpus: 8, memoryMiB: 30_720, gpus: 0 },
      attempts: 2,
      timeoutSeconds: 86_400,
      blenderVersion: "3.6.0",
      priority: 0,
    });
    assert.deepEqual(queued.jobs.map((job) => [job.action, job.arraySize]), [["copy_efs", 1], ["render", 2], ["upload_render_output", 1]]);

    const submitRequests = (await moto.recordedRequests()).filter((request) => request.url.endsWith("/v1/submitjob"));
    assert.ok(submitRequests.every((request) => !request.body.includes("ApiSlackSecret")), "no SubmitJob holds the webhook URL");
    const submits = submitRequests.map((request) => JSON.parse(request.body) as SubmitJobBody);
    const [copy, render, upload] = queued.jobs;
    assert.deepEqual(
      submits.map((input) => [input.jobName, input.jobQueue, input.dependsOn ?? null, input.arrayProperties ?? null]),
      [
        [copy!.name, farm.arns.io, null, null],
        [render!.name, "brender-test-spot-cpu", [{ jobId: copy!.jobId }], { size: 2 }],
        // The upload starts after the render; a failed render is published by the farm's event rule instead.
        [upload!.name, farm.arns.io, [{ jobId: render!.jobId }], null],
      ],
    );
    // The project went to the farm's bucket before anything was submitted.
    await s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: queued.bucketKey }));
  });

  it("lists the render with its status from AWS Batch, and describes it as a local one with backend aws:<farm>", async () => {
    const prefix = `${queued.payload.project.name}/output/${queued.renderId}/`;
    const at = new Date().toISOString();
    const events = [
      { type: "frame_started", at, frame: 1 },
      { type: "frame_finished", at, frame: 1, file: "frames/frame_0001.png", seconds: 2.5 },
      { type: "frame_progress", at, frame: 2, sample: 3, samples: 8 },
    ];
    await putObject(`${prefix}events/render-0.jsonl`, events.map((event) => JSON.stringify(event)).join("\n") + "\n");

    const list = await getJson("/api/renders");
    assert.equal(list.status, 200);
    const row = (list.body as unknown as unknown[]).map((item) => renderListItemSchema.parse(item)).find((item) => item.renderId === queued.renderId);
    assert.deepEqual(row, { renderId: queued.renderId, backend: "aws:test", project: queued.payload.project.name, submittedAt: queued.submittedAt, status: "SUBMITTED" });
    // The stream of every render tells a running AWS render's status too.
    const all = await collectEvents(`${server.base}/api/events`, (events) => events.some((event) => event.data.renderId === queued.renderId), 15_000);
    assert.deepEqual(all.find((event) => event.data.renderId === queued.renderId), {
      event: "render",
      data: { renderId: queued.renderId, project: queued.payload.project.name, status: "SUBMITTED" },
    });

    const detail = await getJson(`/api/renders/${queued.renderId}`);
    assert.equal(detail.status, 200, JSON.stringify(detail.body));
    const parsed = renderDetailSchema.parse(detail.body);
    assert.equal(parsed.backend, "aws:test");
    assert.deepEqual(parsed.notify, ["https://hooks.slack.com/…"]);
    assert.ok(!JSON.stringify(detail.body).includes("ApiSlackSecret"));
    assert.equal(parsed.status, "SUBMITTED");
    assert.equal(parsed.stage, "copy_efs");
    assert.deepEqual(
      parsed.jobs.map((job) => [job.name, job.action, job.status, job.arraySize, job.children?.SUBMITTED ?? null]),
      [
        [queued.jobs[0]!.name, "copy_efs", "SUBMITTED", 1, null],
        [queued.jobs[1]!.name, "render", "SUBMITTED", 2, 2],
        [queued.jobs[2]!.name, "upload_render_output", "SUBMITTED", 1, null],
      ],
    );
    // Progress from the events the children publish to the bucket.
    assert.equal(parsed.progress.framesTotal, 2);
    assert.equal(parsed.progress.framesDone, 1);
    assert.deepEqual(parsed.progress.current, [{ child: 0, frame: 2, sample: 3, samples: 8 }]);
    assert.deepEqual(parsed.progress.frameTimes, [{ frame: 1, seconds: 2.5, child: 0 }]);
    assert.equal(parsed.manifest, null);
    assert.deepEqual(parsed.outputs, [], "event files are not outputs");

    // The detail just asked AWS: listing again within 10 s asks nothing.
    await moto.startRecording();
    for (let round = 0; round < 3; round += 1) assert.equal((await server.api("/api/renders")).status, 200);
    const described = (await moto.recordedRequests()).filter((request) => request.url.endsWith("/v1/describejobs"));
    assert.equal(described.length, 0, "statuses are cached");
  });

  it("lists the outputs in the farm's bucket and streams them through the server", async () => {
    const prefix = `${queued.payload.project.name}/output/${queued.renderId}/`;
    const frame = Buffer.from([0x89, 0x50, 0x4e, 0x47, 1, 2, 3, 4, 5]);
    await putObject(`${prefix}frames/frame_0001.png`, frame);
    await putObject(`${prefix}output.zip`, "zip bytes");

    const outputs = await getJson(`/api/renders/${queued.renderId}/outputs`);
    assert.equal(outputs.status, 200);
    assert.deepEqual(outputs.body, [
      { name: "frames/frame_0001.png", size: frame.length, url: `/api/renders/${queued.renderId}/outputs/frames/frame_0001.png` },
      { name: "output.zip", size: 9, url: `/api/renders/${queued.renderId}/outputs/output.zip` },
    ]);
    const detail = renderDetailSchema.parse((await getJson(`/api/renders/${queued.renderId}`)).body);
    assert.deepEqual(detail.outputs.map((output) => output.name), ["frames/frame_0001.png", "output.zip"]);

    const image = await server.api(`/api/renders/${queued.renderId}/outputs/frames/frame_0001.png`);
    assert.equal(image.status, 200);
    assert.equal(image.headers.get("content-type"), "image/png");
    assert.equal(image.headers.get("content-length"), String(frame.length));
    assert.deepEqual(Buffer.from(await image.arrayBuffer()), frame);
    const zip = await server.api(`/api/renders/${queued.renderId}/outputs/output.zip?download`);
    assert.equal(zip.headers.get("content-disposition"), 'attachment; filename="output.zip"');
    assert.equal(await zip.text(), "zip bytes");

    const missing = await server.api(`/api/renders/${queued.renderId}/outputs/frames/frame_0009.png`);
    assert.equal(missing.status, 404);
    assert.match(((await missing.json()) as { error: string }).error, /has no output "frames\/frame_0009\.png"/);

    // Previews of bucket frames: made once from a download; afterwards a HEAD is all AWS is asked.
    const red = await sharp({ create: { width: 32, height: 16, channels: 3, background: { r: 220, g: 0, b: 0 } } }).png().toBuffer();
    await putObject(`${prefix}frames/frame_0003.png`, red);
    const url = `/api/renders/${queued.renderId}/outputs/frames/frame_0003.png?preview=128`;
    const first = await server.api(url);
    assert.equal(first.headers.get("content-type"), "image/jpeg");
    assert.deepEqual(await sharp(Buffer.from(await first.arrayBuffer())).metadata().then(({ width, height }) => [width, height]), [32, 16]);
    await moto.startRecording();
    assert.equal((await server.api(url)).status, 200);
    const s3 = (await moto.recordedRequests()).filter((request) => request.url.includes("frame_0003.png"));
    assert.deepEqual(s3.map((request) => request.method), ["HEAD"], "a cached preview does not fetch the frame again");
    assert.equal((await server.api(`/api/renders/${queued.renderId}/outputs/frames/frame_0009.png?preview=128`)).status, 404);
  });

  it("refuses to retry a render still running (409), and cancels it: TerminateJob along the chain in moto, the upload left to report", async () => {
    const retry = await server.api(`/api/renders/${queued.renderId}/retry`, { method: "POST" });
    assert.equal(retry.status, 409);
    assert.match(((await retry.json()) as { error: string }).error, /is still running; wait for it, or 'brender cancel /);

    await moto.startRecording();
    const response = await server.api(`/api/renders/${queued.renderId}/cancel`, { method: "POST" });
    const body = (await response.json()) as Record<string, unknown>;
    assert.equal(response.status, 202, JSON.stringify(body));
    // The render (and its 2 queued children) and the copy, none of them started.
    assert.deepEqual(body, { renderId: queued.renderId, cancelled: 4, terminating: 0 });
    const terminated = (await moto.recordedRequests())
      .filter((request) => request.url.endsWith("/v1/terminatejob"))
      .map((request) => JSON.parse(request.body) as { jobId: string; reason: string });
    const [copy, render] = queued.jobs;
    assert.deepEqual(terminated, [
      { jobId: render!.jobId, reason: "Cancelled by user" },
      { jobId: copy!.jobId, reason: "Cancelled by user" },
    ]);

    // Let moto's jobs move on: the terminated copy fails with the user's reason, the children fail behind it.
    await moto.setBatchJobTransition({ progression: "immediate" });
    const ended = await until(
      () => getJson(`/api/renders/${queued.renderId}`).then(({ body }) => renderDetailSchema.parse(body)),
      (detail) => detail.jobs[0]!.status === "FAILED" && detail.jobs[1]!.children?.FAILED === 2,
      "the cancelled jobs to fail",
    );
    assert.equal(ended.jobs[0]!.reason, "Cancelled by user");
    await moto.setBatchJobTransition(undefined);
    await moto.configure({ batch: { use_docker: false } });
  });

  it("a finished render: SUCCEEDED from its jobs and manifest, logs from CloudWatch, and retry submits the same plan again", async () => {
    const inspected = await server.api("/api/inspect", { method: "POST", body: await renderForm(blend, "shot.blend") });
    const { uploadId } = (await inspected.json()) as { uploadId: string };
    const submitted = await server.api("/api/renders", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ uploadId, settings: { farm: "test", frames: "1-2", region: moto.region } }),
    });
    const { renderId } = (await submitted.json()) as { renderId: string };
    assert.equal(submitted.status, 202);
    const record = await readRecord(server.home, renderId);
    const prefix = `${record.payload.project.name}/output/${renderId}/`;
    // What the upload job writes last (moto runs no container).
    await putObject(
      `${prefix}manifest.json`,
      JSON.stringify({
        schemaVersion: 1, renderId, project: record.payload.project.name, blendFile: "shot.blend", type: "animation", status: "succeeded",
        frames: { expected: "1-2", expectedCount: 2, rendered: "1-2", renderedCount: 2, missing: [] },
        files: [], outputs: { prefix }, warnings: ["a warning from the render"], finishedAt: new Date().toISOString(), renderSeconds: 3,
        frameTimes: [{ frame: 1, seconds: 1.25 }, { frame: 2, seconds: 1.75 }],
      }),
    );

    const detail = renderDetailSchema.parse((await getJson(`/api/renders/${renderId}`)).body);
    assert.equal(detail.status, "SUCCEEDED");
    assert.equal(detail.stage, undefined);
    assert.deepEqual(detail.jobs.map((job) => job.status), ["SUCCEEDED", "SUCCEEDED", "SUCCEEDED"]);
    assert.deepEqual([detail.progress.framesDone, detail.progress.framesTotal], [2, 2]);
    assert.deepEqual(detail.progress.frameTimes, [{ frame: 1, seconds: 1.25 }, { frame: 2, seconds: 1.75 }]);
    assert.deepEqual(detail.warnings, ["a warning from the render"]);
    assert.equal(detail.manifest?.status, "succeeded");
    assert.deepEqual(detail.outputs.map((output) => output.name), ["manifest.json"]);

    // Its event stream tells the same as for a local render: frames, progress, then the final status.
    await putObject(`${prefix}frames/frame_0002.png`, Buffer.from([0x89, 0x50, 0x4e, 0x47]));
    const streamed = await collectEvents(`${server.base}/api/events?render=${renderId}`, (events) => events.some((event) => event.event === "render"), 15_000);
    assert.deepEqual(streamed.filter((event) => event.event === "frame").map((event) => [event.data.frame, event.data.url]), [[2, `/api/renders/${renderId}/outputs/frames/frame_0002.png`]]);
    assert.deepEqual(streamed.find((event) => event.event === "progress")?.data.framesDone, 2);
    assert.deepEqual(streamed.find((event) => event.event === "render")?.data, { renderId, project: record.payload.project.name, status: "SUCCEEDED" });

    // A final state is cached for good: listing asks AWS nothing about this render again.
    await moto.startRecording();
    const rows = (await getJson("/api/renders")).body as unknown as { renderId: string; status: string }[];
    assert.equal(rows.find((row) => row.renderId === renderId)?.status, "SUCCEEDED");
    const asked = (await moto.recordedRequests())
      .filter((request) => request.url.endsWith("/v1/describejobs"))
      .flatMap((request) => (JSON.parse(request.body) as { jobs: string[] }).jobs);
    assert.ok(record.jobs.every((job) => !asked.includes(job.jobId)), `asked again: ${asked.join(", ")}`);

    // Logs: every attempt's CloudWatch stream, named by DescribeJobs.
    const logs = new CloudWatchLogsClient({ endpoint: moto.endpoint, region: moto.region, credentials: moto.credentials });
    const copy = record.jobs[0]!;
    const described = await farm.batch.send(new DescribeJobsCommand({ jobs: [copy.jobId] }));
    const stream = described.jobs![0]!.attempts![0]!.container!.logStreamName!;
    await logs.send(new CreateLogGroupCommand({ logGroupName: TEST_FARM_LOG_GROUP }));
    await logs.send(new CreateLogStreamCommand({ logGroupName: TEST_FARM_LOG_GROUP, logStreamName: stream }));
    await logs.send(
      new PutLogEventsCommand({
        logGroupName: TEST_FARM_LOG_GROUP,
        logStreamName: stream,
        logEvents: ["copying the project", "copied 1 file"].map((message, index) => ({ message, timestamp: Date.now() - 1000 + index })),
      }),
    );
    logs.destroy();
    const logText = await server.api(`/api/renders/${renderId}/logs`);
    assert.equal(logText.status, 200);
    assert.equal(await logText.text(), `==> ${copy.name}, attempt 1 <==\ncopying the project\ncopied 1 file\n`);

    await moto.startRecording();
    const retried = await server.api(`/api/renders/${renderId}/retry`, { method: "POST" });
    assert.equal(retried.status, 202, await retried.clone().text());
    assert.deepEqual(await retried.json(), { renderId });
    const again = await readRecord(server.home, renderId);
    assert.deepEqual(again.jobs.map((job) => job.name), record.jobs.map((job) => job.name));
    assert.ok(again.jobs.every((job, index) => job.jobId !== record.jobs[index]!.jobId), "new jobs recorded");
    const submits = (await moto.recordedRequests()).filter((request) => request.url.endsWith("/v1/submitjob"));
    assert.equal(submits.length, 3);
    const rowAfter = ((await getJson("/api/renders")).body as unknown as { renderId: string; status: string }[]).find((row) => row.renderId === renderId);
    assert.equal(rowAfter?.status, "SUCCEEDED", "the new jobs are asked about");
  });

  it("bad AWS input: 400 naming the field with the CLI's message, nothing submitted", async () => {
    await moto.startRecording();
    const cases: [unknown, string, RegExp][] = [
      [{ farm: "nope" }, "settings.farm", /^No Brender farm "nope" in us-east-1: deploy it with 'brender farm deploy nope'/],
      [{ farm: "test", queue: "on-demand-gpu" }, "settings.queue", /^Farm "test" has no on-demand-gpu queue: use settings\.queue spot-cpu/],
      [{ farm: "test", queue: "fast" }, "settings.queue", /^settings\.queue: /],
      [{ farm: "test", memory: 1024 }, "settings.memory", /without settings\.vcpus/],
      [{ farm: "no such farm" }, "settings.farm", /^settings\.farm: must be "local" or a farm name/],
      [{ queue: "spot-cpu" }, "settings.queue", /^settings\.queue is for AWS farms; set settings\.farm to an AWS farm or drop settings\.queue\.$/],
      [{ preset: "small" }, "settings.preset", /^settings\.preset is for AWS farms/],
    ];
    for (const [settings, field, message] of cases) {
      const response = await server.api("/api/renders", { method: "POST", body: await renderForm(blend, "shot.blend", settings) });
      const body = (await response.json()) as { error: string; field?: string };
      assert.equal(response.status, 400, JSON.stringify(body));
      assert.equal(body.field, field, JSON.stringify(body));
      assert.match(body.error, message);
    }
    const submits = (await moto.recordedRequests()).filter((request) => request.url.endsWith("/v1/submitjob"));
    assert.equal(submits.length, 0);
  });

  it("GET /api/farms offers the farms renders went to and those deployed in the account, each with its queues", async () => {
    // A farm deployed but never rendered on: only CloudFormation knows it.
    await farm.cloudFormation.send(
      new CreateStackCommand({ StackName: "brender-farm-fresh", TemplateBody: JSON.stringify({ Resources: { Placeholder: { Type: "AWS::CloudFormation::WaitConditionHandle" } } }) }),
    );
    const farms = farmsSchema.parse((await getJson("/api/farms")).body);
    const queues = ["spot-cpu", "on-demand-cpu", "spot-gpu", "on-demand-gpu"];
    assert.deepEqual(farms.aws.map(({ lastSubmittedAt: _, ...entry }) => entry), [
      { farm: "fresh", region: moto.region, renders: 0, stackStatus: "CREATE_COMPLETE", queues },
      { farm: "test", region: moto.region, renders: 2, stackStatus: "CREATE_COMPLETE", queues },
    ]);
    assert.equal(farms.discoveryError, undefined);
  });

  it("with AWS unreachable the list still answers, UNKNOWN with why; the detail is a one-line 502", async (t) => {
    process.env.AWS_ENDPOINT_URL = `http://127.0.0.1:${await closedPort()}`;
    try {
      const offline = await startTestServer(t, { runFarm: false });
      await mkdir(join(offline.home, "aws-renders"), { recursive: true });
      await copyFile(join(server.home, "aws-renders", `${queued.renderId}.json`), join(offline.home, "aws-renders", `${queued.renderId}.json`));
      const response = await offline.api("/api/renders");
      assert.equal(response.status, 200);
      const rows = (await response.json()) as { renderId: string; status: string; statusError?: string }[];
      assert.equal(rows.length, 1);
      assert.equal(rows[0]!.status, "UNKNOWN");
      assert.match(rows[0]!.statusError ?? "", /^Cannot reach AWS \(ECONNREFUSED\): check the network, AWS_REGION and AWS_ENDPOINT_URL/);
      const detail = await offline.api(`/api/renders/${queued.renderId}`);
      assert.equal(detail.status, 502);
      assert.match(((await detail.json()) as { error: string }).error, /^Cannot reach AWS \(ECONNREFUSED\)/);
    } finally {
      process.env.AWS_ENDPOINT_URL = moto.endpoint;
    }
  });
});

describe("AWS errors (pure)", () => {
  it("turns AWS failures into one-line 502s and leaves input errors alone", () => {
    const credentials = explainAwsError(Object.assign(new Error("Could not load credentials from any providers"), { name: "CredentialsProviderError" }));
    assert.ok(credentials instanceof ApiError);
    assert.equal(credentials.statusCode, 502);
    assert.match(credentials.message, /^No AWS credentials found: set AWS_PROFILE, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, where 'brender serve' runs/);
    const refused = explainAwsError(Object.assign(new Error("The security token included in the request is invalid.\nmore"), { name: "UnrecognizedClientException", $metadata: { httpStatusCode: 400 } }));
    assert.ok(refused instanceof ApiError && refused.statusCode === 502 && !refused.message.includes("\n"));
    const plain = new Error("a bug");
    assert.equal(explainAwsError(plain), plain);
  });
});
