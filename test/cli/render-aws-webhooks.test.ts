/**
 * `render --backend aws --notify URL` on moto: a webhook URL is a credential, so it must not be in
 * what AWS Batch keeps (SubmitJob requests, DescribeJobs, ListJobs), while the upload job, run with
 * exactly the environment Batch holds, still posts to the full URL.
 */
import { describe, it, before, after } from "node:test";
import assert from "node:assert/strict";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { DescribeJobsCommand, ListJobsCommand, type JobDetail } from "@aws-sdk/client-batch";
import { GetObjectTaggingCommand, ListObjectsV2Command, type S3Client } from "@aws-sdk/client-s3";
import { renderEventSchema } from "../../src/domain/render-event.ts";
import { brender, makeScene, tempDir } from "../helpers/blender.ts";
import type { MotoServer } from "../helpers/moto-server.ts";
import { motoCliEnv, startTestFarmOnMoto, type TestFarm } from "../helpers/aws-farm.ts";

// Stands for the token in a Slack URL's path (hooks.slack.com/services/T…/B…/<token>) and a query secret.
const PATH_SECRET = "XoxbPathSecret4711";
const QUERY_SECRET = "querySecret0815";

let moto: MotoServer;
let farm: TestFarm;
let s3: S3Client;
let receiver: Server;
const received: { url: string; body: string }[] = [];

before(async () => {
  ({ moto, farm, s3 } = await startTestFarmOnMoto());
  receiver = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on("data", (chunk: Buffer) => chunks.push(chunk));
    request.on("end", () => {
      received.push({ url: request.url ?? "", body: Buffer.concat(chunks).toString() });
      response.writeHead(200).end();
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, "127.0.0.1", resolve));
});

after(async () => {
  receiver?.closeAllConnections();
  await new Promise((resolve) => receiver?.close(resolve));
  await moto?.stop();
});

const awsEnv = (home: string) => ({ ...motoCliEnv(moto, home), BRENDER_AWS_POLL_MS: "200" });

async function bucketKeys(): Promise<string[]> {
  const listed = await s3.send(new ListObjectsV2Command({ Bucket: "brender-test-bucket" }));
  return (listed.Contents ?? []).map((object) => object.Key!);
}

function assertNoSecret(text: string, where: string): void {
  assert.ok(!text.includes(PATH_SECRET), `${where} holds the URL's secret path`);
  assert.ok(!text.includes(QUERY_SECRET), `${where} holds the URL's query secret`);
}

describe("render --backend aws --notify URL (moto): the URL stays out of AWS Batch", () => {
  it("submits without the URL, the upload job posts to the full URL, then deletes it; status shows scheme and host only; retry stores it again", async (t) => {
    const home = await tempDir(t);
    const port = (receiver.address() as AddressInfo).port;
    const hook = `http://127.0.0.1:${port}/services/T01/B02/${PATH_SECRET}?token=${QUERY_SECRET}`;
    const blend = await makeScene(join(home, "shot.blend"), { frames: [1, 2], resolution: [16, 16], samples: 1 });

    await moto.startRecording();
    const submitted = await brender(["render", blend, "--backend", "aws", "--farm", "test", "--notify", hook, "--detach", "--json"], awsEnv(home));
    assert.equal(submitted.code, 0, submitted.stderr);
    const { renderId } = JSON.parse(submitted.stdout) as { renderId: string };

    const submits = (await moto.recordedRequests()).filter((request) => request.url.endsWith("/v1/submitjob"));
    assert.equal(submits.length, 3, "copy, render and upload were submitted");
    for (const request of submits) assertNoSecret(request.body, `SubmitJob ${JSON.parse(request.body).jobName}`);
    const uploadSubmit = JSON.parse(submits[2]!.body) as { containerOverrides: { environment: { name: string; value: string }[] } };
    const sentPayload = JSON.parse(uploadSubmit.containerOverrides.environment.find((variable) => variable.name === "BRENDER_JOB_PAYLOAD")!.value);
    const key = `shot/projects/${renderId}.webhooks.json`;
    assert.deepEqual(sentPayload.notify.storedWebhooks, { key, targets: [`http://127.0.0.1:${port}/…`] });

    const record = JSON.parse(await readFile(join(home, "aws-renders", `${renderId}.json`), "utf8")) as { jobs: { jobId: string; arraySize: number }[] };
    const ids = record.jobs.map((job) => job.jobId);
    const described = await farm.batch.send(new DescribeJobsCommand({ jobs: ids }));
    assert.equal(described.jobs?.length, 3);
    assertNoSecret(JSON.stringify(described), "DescribeJobs");
    const listed = await Promise.all([farm.arns.io, farm.arns.spotCpu].map((jobQueue) => farm.batch.send(new ListJobsCommand({ jobQueue, filters: [{ name: "JOB_NAME", values: [`${renderId}*`] }] }))));
    assertNoSecret(JSON.stringify(listed), "ListJobs");

    // The URL is in the farm's private bucket beside the project manifest, tagged to expire with the outputs.
    assert.ok((await bucketKeys()).includes(key));
    const tagging = await s3.send(new GetObjectTaggingCommand({ Bucket: "brender-test-bucket", Key: key }));
    assert.deepEqual(tagging.TagSet, [{ Key: "brender:kind", Value: "render-output" }]);

    // Each job run as its container would be, with the environment Batch holds.
    const work = join(home, "efs");
    for (const job of record.jobs) {
      const detail: JobDetail = described.jobs!.find((candidate) => candidate.jobId === job.jobId)!;
      const env: Record<string, string> = Object.fromEntries((detail.container?.environment ?? []).map((pair) => [pair.name!, pair.value!]));
      const run = await brender(["worker"], { ...awsEnv(join(home, "container")), ...env, EFS_BLENDER_FOLDER_PATH: work, BRENDER_LOG_LEVEL: "warn" });
      assert.equal(run.code, 0, `${env.JOB_ACTION_TYPE}: ${run.stderr}`);
      assertNoSecret(run.stdout + run.stderr, `the ${env.JOB_ACTION_TYPE} job's output`);
    }
    assert.equal(received.length, 1, "the upload job told the webhook");
    assert.equal(received[0]!.url, `/services/T01/B02/${PATH_SECRET}?token=${QUERY_SECRET}`, "posted to the full URL");
    const event = renderEventSchema.parse(JSON.parse(received[0]!.body));
    assert.equal(event.type, "render.succeeded");
    assert.equal(event.render.id, renderId);
    assert.ok(!(await bucketKeys()).includes(key), "the stored URL was deleted with the render's work");

    const status = await brender(["status", renderId], awsEnv(home));
    assert.equal(status.code, 0, status.stderr);
    assert.match(status.stdout, new RegExp(`notify: http://127\\.0\\.0\\.1:${port}/…\\n`));
    assert.match(status.stdout, /webhook render\.succeeded to http:\/\/127\.0\.0\.1:\d+\/… delivered/);
    const json = await brender(["status", renderId, "--json"], awsEnv(home));
    assert.deepEqual(JSON.parse(json.stdout).notify, [`http://127.0.0.1:${port}/…`]);
    for (const [where, text] of [["status", status.stdout], ["status --json", json.stdout], ["render", submitted.stdout + submitted.stderr]] as const) assertNoSecret(text, where);

    // The record (this machine, mode 0600) keeps the URL, so a retry stores it again for its own upload.
    await moto.startRecording();
    const retried = await brender(["retry", renderId], awsEnv(home));
    assert.equal(retried.code, 0, retried.stderr);
    const resubmits = (await moto.recordedRequests()).filter((request) => request.url.endsWith("/v1/submitjob"));
    assert.equal(resubmits.length, 3);
    for (const request of resubmits) assertNoSecret(request.body, "a retry's SubmitJob");
    assert.ok((await bucketKeys()).includes(key), "retry stored the URL again");
  });
});
