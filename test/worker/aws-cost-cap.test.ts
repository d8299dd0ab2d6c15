/**
 * A render stopped at its cost cap while it runs, as on AWS: a render child
 * (real Blender) checks the render's spend after each frame by describing
 * the array's children, and past the cap terminates the render; the
 * publisher then publishes the frames rendered so far with the cap's reason.
 *
 * moto finishes (or fails) every Batch job within a moment of submission, so
 * it cannot hold children that run for minutes. The running part therefore
 * talks to a loopback Batch that answers DescribeJobs and TerminateJob in
 * AWS's REST-JSON shapes, with the children's start times injected and
 * TerminateJob on the parent cascading to the children as AWS documents;
 * the publishing part runs against moto's Batch and S3.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdir, readdir, readFile } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { CreateBucketCommand, GetObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { pino } from "pino";
import { eventFileName, outputLayout, workLayout } from "../../src/domain/layout.ts";
import { runWorker } from "../../src/worker/main.ts";
import { makeScene, tempDir } from "../helpers/blender.ts";
import { startMotoServer, type MotoServer } from "../helpers/moto-server.ts";
import { batchFixture, type BatchFixture } from "./aws-batch-fixture.ts";
import { payloadFor } from "./harness.ts";

const BUCKET = "brender-cap";
const minute = 60_000;
const silent = pino({ level: "silent" });

type StandInJob = { jobId: string; status: string; startedAt?: number; stoppedAt?: number; statusReason?: string; attempts: object[] };

/** A loopback AWS Batch holding one array render: DescribeJobs, and TerminateJob recorded and cascaded. */
async function batchStandIn(jobs: Map<string, StandInJob>) {
  const terminated: { jobId: string; reason: string }[] = [];
  const server: Server = createServer((request, response) => {
    let body = "";
    request.on("data", (chunk: Buffer) => (body += chunk.toString()));
    request.on("end", () => {
      const input = JSON.parse(body || "{}") as { jobs?: string[]; jobId?: string; reason?: string };
      response.setHeader("content-type", "application/json");
      if (request.url === "/v1/describejobs") {
        const found = (input.jobs ?? []).flatMap((id) => (jobs.has(id) ? [{ jobName: "r", jobQueue: "q", jobDefinition: "d", createdAt: 1, ...jobs.get(id)! }] : []));
        return void response.end(JSON.stringify({ jobs: found }));
      }
      if (request.url === "/v1/terminatejob") {
        terminated.push({ jobId: input.jobId!, reason: input.reason! });
        for (const [id, job] of jobs) {
          if ((id === input.jobId || id.startsWith(`${input.jobId}:`)) && job.status !== "SUCCEEDED" && job.status !== "FAILED") {
            Object.assign(job, { status: "FAILED", stoppedAt: Date.now(), statusReason: input.reason });
          }
        }
        return void response.end("{}");
      }
      response.writeHead(404).end(JSON.stringify({ message: `no ${request.url}` }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, terminated, close: () => new Promise((resolve) => server.close(resolve)) };
}

let moto: MotoServer;
let fixture: BatchFixture;
let s3: S3Client;
before(async () => {
  moto = await startMotoServer();
  fixture = await batchFixture(moto);
  s3 = new S3Client({ endpoint: moto.endpoint, region: moto.region, credentials: moto.credentials, forcePathStyle: true });
  await s3.send(new CreateBucketCommand({ Bucket: BUCKET }));
});
after(async () => {
  s3?.destroy();
  fixture?.batch.destroy();
  await moto?.stop();
});

describe("the cost cap while a render runs (AWS)", () => {
  it("a child past the cap terminates the render and stops Blender; the publisher publishes the frames so far with the reason", async (t) => {
    const renderId = "r-20261207-070000-00cap1";
    const home = await tempDir(t);
    const work = join(home, "work");
    const layout = workLayout(work, renderId);
    await mkdir(layout.project, { recursive: true });
    // Frames slow enough (about a second each) that Blender is still rendering when the check answers.
    await makeScene(join(layout.project, "scene.blend"), { frames: [1, 8], resolution: [160, 90], samples: 48 });
    const payload = payloadFor(renderId, { frames: "1-8", split: { arraySize: 2 }, video: { enabled: false } });

    // The other child has run 40 minutes; at $1.20 a child-hour the render has spent $0.80 of its $1.00 when this child starts.
    const now = Date.now();
    const jobs = new Map<string, StandInJob>([
      ["parent", { jobId: "parent", status: "PENDING", attempts: [] }],
      ["parent:0", { jobId: "parent:0", status: "RUNNING", startedAt: now, attempts: [] }],
      ["parent:1", { jobId: "parent:1", status: "RUNNING", startedAt: now - 40 * minute, attempts: [] }],
    ]);
    const batch = await batchStandIn(jobs);
    t.after(() => batch.close());
    let describedAtStart = false;
    const result = await runWorker({
      env: {
        JOB_ACTION_TYPE: "render",
        BRENDER_JOB_PAYLOAD: JSON.stringify(payload),
        BRENDER_HOME: home,
        EFS_BLENDER_FOLDER_PATH: work,
        BRENDER_STORAGE: `s3://${BUCKET}`,
        AWS_ENDPOINT_URL: moto.endpoint,
        AWS_ENDPOINT_URL_BATCH: batch.endpoint,
        AWS_REGION: moto.region,
        AWS_ACCESS_KEY_ID: moto.credentials.accessKeyId,
        AWS_SECRET_ACCESS_KEY: moto.credentials.secretAccessKey,
        AWS_BATCH_JOB_ID: "parent:0",
        AWS_BATCH_JOB_ARRAY_INDEX: "0",
        AWS_BATCH_JOB_ARRAY_SIZE: "2",
        BRENDER_COST_CAP: JSON.stringify({ maxUsd: 1, usdPerChildHour: 1.2 }),
        BRENDER_COST_CHECK_SECONDS: "0",
      },
      stdout: (line) => {
        // Once this child has started Blender, the other child is billed 11 hours more (as if it had run on): the next check passes the cap.
        if (!describedAtStart && line.includes('"render_settings"')) {
          describedAtStart = true;
          jobs.get("parent:1")!.startedAt = now - 11 * 60 * minute;
        }
      },
      log: silent,
    });

    assert.equal(batch.terminated[0]?.jobId, "parent", "the array parent is terminated first");
    const reason = batch.terminated[0]!.reason;
    assert.match(reason, /^stopped at the cost cap: spent \$13\.\d\d of \$1\.00$/);
    assert.deepEqual(batch.terminated.slice(1).map((call) => call.jobId).sort(), ["parent:0", "parent:1"], "and every child in flight");
    assert.equal(jobs.get("parent:1")!.status, "FAILED");
    assert.deepEqual(result, { exitCode: 1, error: reason });

    const frames = (await readdir(outputLayout(layout.output).frames)).filter((name) => name.endsWith(".png")).sort();
    assert.ok(frames.length >= 1 && frames.length < 4, `rendered some of its four frames before the stop, got ${frames.join(", ")}`);
    const events = (await readFile(join(layout.events, eventFileName(0)), "utf8")).trim().split("\n").map((line) => JSON.parse(line) as Record<string, unknown>);
    assert.deepEqual(events.at(-1)?.type, "child_finished");
    assert.equal(events.at(-1)?.status, "failed");
    assert.equal(events.at(-1)?.reason, reason);
    assert.equal(events.at(-1)?.framesDone, frames.length);

    // The rest as on AWS: Batch fails the upload unstarted, and the farm's publisher job publishes what exists.
    await fixture.succeeded(`${renderId}-copy`);
    const render = await fixture.failing(`${renderId}-render`, reason);
    await fixture.settled(render);
    const upload = await fixture.dependent(`${renderId}-upload`, [render], {
      JOB_ACTION_TYPE: "upload_render_output",
      BRENDER_JOB_PAYLOAD: JSON.stringify(payload),
      BRENDER_STORAGE: `s3://${BUCKET}`,
    });
    await fixture.settled(upload);
    const published = await runWorker({
      env: {
        BRENDER_HOME: home,
        EFS_BLENDER_FOLDER_PATH: work,
        AWS_ENDPOINT_URL: moto.endpoint,
        AWS_REGION: moto.region,
        AWS_ACCESS_KEY_ID: moto.credentials.accessKeyId,
        AWS_SECRET_ACCESS_KEY: moto.credentials.secretAccessKey,
        AWS_BATCH_JOB_ID: "publisher-job",
        BRENDER_IMDS_ENDPOINT: "http://127.0.0.1:9",
        BRENDER_AFTER_FAILED_UPLOAD: upload,
      },
      stdout: () => {},
      log: silent,
    });
    assert.equal(published.exitCode, 1);
    const manifest = JSON.parse(
      await (await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: `proj/output/${renderId}/manifest.json` }))).Body!.transformToString(),
    ) as { status: string; reason: string; frames: { rendered: string } };
    assert.equal(manifest.status, "failed");
    assert.equal(manifest.reason, `${renderId}-render: ${reason}`);
    assert.equal(manifest.frames.rendered.split(/[,-]/).length >= 1, true);
    assert.equal(manifest.frames.rendered, frames.length === 1 ? "1" : `1-${frames.length}`);
  });

  it("a render of one child already past its cap stops before Blender starts; an unreadable cap is exit 2", async (t) => {
    const renderId = "r-20261207-070000-00cap2";
    const home = await tempDir(t);
    const work = join(home, "work");
    const layout = workLayout(work, renderId);
    await mkdir(layout.project, { recursive: true });
    await makeScene(join(layout.project, "scene.blend"), { frames: [1, 2], resolution: [16, 9], samples: 1 });
    const payload = payloadFor(renderId, { frames: "1-2", video: { enabled: false } });
    // One child is no array job: Batch's id has no ":index", and the job itself is described and terminated.
    const jobs = new Map<string, StandInJob>([["solo", { jobId: "solo", status: "RUNNING", startedAt: Date.now() - 100 * 60 * minute, attempts: [] }]]);
    const batch = await batchStandIn(jobs);
    t.after(() => batch.close());
    const env = {
      JOB_ACTION_TYPE: "render",
      BRENDER_JOB_PAYLOAD: JSON.stringify(payload),
      BRENDER_HOME: home,
      EFS_BLENDER_FOLDER_PATH: work,
      AWS_ENDPOINT_URL_BATCH: batch.endpoint,
      AWS_REGION: "us-east-1",
      AWS_ACCESS_KEY_ID: "test",
      AWS_SECRET_ACCESS_KEY: "test",
      AWS_BATCH_JOB_ID: "solo",
      // No Blender may start: this one would fail the test.
      BLENDER_EXECUTABLE: "/nonexistent/blender",
      BRENDER_COST_CAP: JSON.stringify({ maxUsd: 2, usdPerChildHour: 0.5 }),
    };
    const result = await runWorker({ env, stdout: () => {}, log: silent });
    assert.deepEqual(result, { exitCode: 1, error: "stopped at the cost cap: spent $50.00 of $2.00" });
    assert.deepEqual(batch.terminated, [{ jobId: "solo", reason: "stopped at the cost cap: spent $50.00 of $2.00" }]);
    assert.deepEqual(await readdir(outputLayout(layout.output).frames), []);

    const unreadable = await runWorker({ env: { ...env, BRENDER_COST_CAP: "5 dollars" }, stdout: () => {}, log: silent });
    assert.equal(unreadable.exitCode, 2);
    assert.match(unreadable.error ?? "", /BRENDER_COST_CAP is not \{"maxUsd": N, "usdPerChildHour": N\}/);
  });
});
