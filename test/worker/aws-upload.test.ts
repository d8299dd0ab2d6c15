/**
 * The upload job as it runs on AWS, every AWS call going to moto's servers on
 * loopback: it uploads to moto's S3, reads the host from a local IMDS
 * stand-in, and e-mails through moto's SES v2 (sent messages read back from
 * /moto-api/data.json). A render that failed is published by the publisher
 * job (`--after-failed-upload`), which reads the upload job Batch failed
 * unstarted, and its upstream jobs, from moto's Batch.
 *
 * Batch runs in a second moto server (reached through AWS_ENDPOINT_URL_BATCH):
 * once Batch resources exist, moto's /moto-api/data.json answers 500, and
 * that is where SES's sent messages are read.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdir, readdir, writeFile } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { DescribeJobsCommand, TerminateJobCommand } from "@aws-sdk/client-batch";
import { CreateBucketCommand, GetObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { CreateEmailIdentityCommand, SESv2Client } from "@aws-sdk/client-sesv2";
import { CloudFrontClient, CreateDistributionCommand, CreateKeyGroupCommand, CreatePublicKeyCommand, type DistributionConfig } from "@aws-sdk/client-cloudfront";
import { CreateSecretCommand, SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { createVerify } from "node:crypto";
import { pino } from "pino";
import { makeLinkKeyPair } from "../../src/backends/aws/farm/link-key.ts";
import { cannedPolicy } from "../../src/storage/cloudfront-link.ts";
import { eventFileName, workLayout } from "../../src/domain/layout.ts";
import { NO_PUBLISH_REASON_PREFIX } from "../../src/worker/failed-upload.ts";
import { runWorker } from "../../src/worker/main.ts";
import { tempDir } from "../helpers/blender.ts";
import { startMotoServer, type MotoServer } from "../helpers/moto-server.ts";
import { batchFixture, type BatchFixture } from "./aws-batch-fixture.ts";
import { payloadFor, writeRenderedFrames } from "./harness.ts";

const BUCKET = "brender-renders";
const SENDER = "renders@example.com";
const ARTIST = "artist@example.com";

type MotoMessage = { id: string; source: string; subject: string; body: string; destinations: { ToAddresses?: string[] } };

let moto: MotoServer;
let motoBatch: MotoServer;
let fixture: BatchFixture;
let s3: S3Client;
let imds: Server;
let silentImds: Server;
let missingImds: Server;

async function listen(server: Server): Promise<string> {
  // Tests share the stand-ins: one that already listens is reused.
  if (!server.listening) await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

before(async () => {
  [moto, motoBatch] = await Promise.all([startMotoServer(), startMotoServer()]);
  fixture = await batchFixture(motoBatch);
  const config = { endpoint: moto.endpoint, region: moto.region, credentials: moto.credentials };
  s3 = new S3Client({ ...config, forcePathStyle: true });
  await s3.send(new CreateBucketCommand({ Bucket: BUCKET }));
  const ses = new SESv2Client(config);
  await ses.send(new CreateEmailIdentityCommand({ EmailIdentity: SENDER }));
  ses.destroy();
  // IMDSv2 of a spot g5.xlarge, and ECS task metadata, on one loopback server.
  imds = createServer((request, response) => {
    if (request.method === "PUT" && request.url === "/latest/api/token") return void response.end("token");
    if (request.url === "/ecs/task") return void response.end(JSON.stringify({ AvailabilityZone: "us-east-1c" }));
    if (request.headers["x-aws-ec2-metadata-token"] !== "token") return void response.writeHead(401).end();
    if (request.url === "/latest/meta-data/instance-type") return void response.end("g5.xlarge");
    if (request.url === "/latest/meta-data/instance-life-cycle") return void response.end("spot");
    response.writeHead(404).end();
  });
  silentImds = createServer(() => {});
  missingImds = createServer((_request, response) => response.writeHead(404).end());
});

after(async () => {
  for (const server of [imds, silentImds, missingImds]) {
    server?.closeAllConnections();
    await new Promise((resolve) => server?.close(resolve));
  }
  s3?.destroy();
  fixture?.batch.destroy();
  await Promise.all([moto?.stop(), motoBatch?.stop()]);
});

async function sentMessages(): Promise<MotoMessage[]> {
  const data = (await (await fetch(`${moto.endpoint}/moto-api/data.json`)).json()) as { ses?: { Message?: MotoMessage[] } };
  return data.ses?.Message ?? [];
}

async function manifestOf(renderId: string): Promise<Record<string, unknown> & { status: string; reason?: string; host?: Record<string, unknown> }> {
  const answer = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: `proj/output/${renderId}/manifest.json` }));
  return JSON.parse(await answer.Body!.transformToString()) as never;
}

/** A work folder holding rendered frames `frames` of `renderId`, as the render job leaves it. */
async function renderedWork(t: { after: (fn: () => Promise<void>) => void }, renderId: string, frames: readonly number[]) {
  const home = await tempDir(t);
  await writeRenderedFrames(join(home, "work"), renderId, frames);
  return home;
}

function uploadEnv(home: string, renderId: string, extra: Record<string, string>): NodeJS.ProcessEnv {
  return {
    JOB_ACTION_TYPE: "upload_render_output",
    BRENDER_JOB_PAYLOAD: JSON.stringify(payloadFor(renderId, { frames: "1-2", video: { enabled: false }, notify: { email: ARTIST } })),
    BRENDER_HOME: home,
    EFS_BLENDER_FOLDER_PATH: join(home, "work"),
    BRENDER_STORAGE: `s3://${BUCKET}`,
    AWS_ENDPOINT_URL: moto.endpoint,
    AWS_ENDPOINT_URL_BATCH: motoBatch.endpoint,
    AWS_REGION: moto.region,
    AWS_ACCESS_KEY_ID: moto.credentials.accessKeyId,
    AWS_SECRET_ACCESS_KEY: moto.credentials.secretAccessKey,
    BRENDER_SES_FROM: SENDER,
    AWS_BATCH_JOB_ID: "upload-job-id",
    ...extra,
  };
}

const silent = pino({ level: "silent" });

/** The href targets of an HTML mail, unescaped. */
function linksIn(html: string): string[] {
  return [...html.matchAll(/href="([^"]+)"/g)].map((match) => match[1]!.replace(/&amp;/g, "&"));
}

/** A distribution in front of the bucket that trusts `keyGroupId`, as the farm stack's (moto needs only the shape). */
function linkDistributionConfig(reference: string, keyGroupId: string): DistributionConfig {
  const originId = "farm-bucket";
  return {
    CallerReference: reference,
    Comment: "brender links",
    Enabled: true,
    Origins: { Quantity: 1, Items: [{ Id: originId, DomainName: `${BUCKET}.s3.us-east-1.amazonaws.com`, S3OriginConfig: { OriginAccessIdentity: "" } }] },
    DefaultCacheBehavior: {
      TargetOriginId: originId,
      ViewerProtocolPolicy: "https-only",
      TrustedKeyGroups: { Enabled: true, Quantity: 1, Items: [keyGroupId] },
      ForwardedValues: { QueryString: false, Cookies: { Forward: "none" } },
      MinTTL: 0,
    },
  };
}

describe("upload_render_output on AWS (moto)", () => {
  it("uploads, records the host and e-mails through SES", async (t) => {
    const renderId = "r-20261122-000000-000020";
    const home = await renderedWork(t, renderId, [1, 2]);
    const endpoint = await listen(imds);
    const result = await runWorker({
      env: uploadEnv(home, renderId, {
        BRENDER_IMDS_ENDPOINT: endpoint,
        ECS_CONTAINER_METADATA_URI_V4: `${endpoint}/ecs`,
      }),
      stdout: () => {},
      log: silent,
    });
    assert.deepEqual(result, { exitCode: 0 });
    const manifest = await manifestOf(renderId);
    assert.equal(manifest.status, "succeeded");
    assert.deepEqual(manifest.host, { instanceType: "g5.xlarge", spot: true, availabilityZone: "us-east-1c" });
    const mail = (await sentMessages()).find((message) => message.body.includes(renderId));
    assert.ok(mail, "SES got the notification");
    assert.equal(mail.source, SENDER);
    assert.deepEqual(mail.destinations.ToAddresses, [ARTIST]);
    assert.equal(mail.subject, 'Brender: "proj" rendered 2/2 frames');
    assert.match(mail.body, /Instance type<\/th><td[^>]*>g5\.xlarge/);
    assert.match(mail.body, /Spot<\/th><td[^>]*>yes/);
    // The outbox copy is written as well.
    assert.equal((await readdir(join(home, "outbox"))).filter((name) => name.endsWith(".eml")).length, 1);
  });

  it("prices the render from Batch's own attempt times and the hosts its children reported, next to the estimate, in the manifest and the e-mail", async (t) => {
    const renderId = "r-20261122-000000-000030";
    const copy = await fixture.succeeded(`${renderId}-copy`);
    const render = await fixture.succeeded(`${renderId}-render`, 3, [copy]);
    const upload = await fixture.succeeded(`${renderId}-upload`, 1, [render]);
    const home = await renderedWork(t, renderId, [1, 2]);
    // Children 0 and 1 read their host from the instance metadata; child 2 could not.
    const events = workLayout(join(home, "work"), renderId).events;
    await mkdir(events, { recursive: true });
    for (const child of [0, 1, 2]) {
      const host = child < 2 ? { host: { instanceType: "c6i.large", spot: true } } : {};
      const started = { type: "child_started", at: new Date().toISOString(), child, frames: "1", frameCount: 1, attempt: 1, ...host };
      await writeFile(join(events, eventFileName(child)), `${JSON.stringify(started)}\n`);
    }
    const estimate = { target: "aws" as const, seconds: { low: 60, expected: 90, high: 150 }, usd: { low: 0.01, expected: 0.02, high: 0.04 }, queue: "spot-cpu", madeAt: "2026-11-22T00:00:00.000Z" };
    const env = uploadEnv(home, renderId, {
      BRENDER_JOB_PAYLOAD: JSON.stringify(payloadFor(renderId, { frames: "1-2", video: { enabled: false }, notify: { email: ARTIST }, estimate })),
      AWS_BATCH_JOB_ID: upload,
      AWS_BATCH_CE_NAME: "brender-test-spot-cpu",
      BRENDER_RENDER_QUEUE: "spot-cpu",
      BRENDER_RENDER_VCPUS: "2",
      BRENDER_IMDS_ENDPOINT: await listen(missingImds),
    });
    assert.deepEqual(await runWorker({ env, stdout: () => {}, log: silent }), { exitCode: 0 });

    // What the cost must be built from: Batch's own startedAt/stoppedAt of every child's and io job's attempt.
    const described = (await fixture.batch.send(new DescribeJobsCommand({ jobs: [copy, upload, `${render}:0`, `${render}:1`, `${render}:2`] }))).jobs!;
    const hoursOf = (ids: readonly string[]) =>
      described.filter((job) => ids.includes(job.jobId!)).flatMap((job) => job.attempts ?? []).reduce((sum, a) => sum + (a.stoppedAt! - a.startedAt!) / 3_600_000, 0);
    const { cost } = (await manifestOf(renderId)) as unknown as { cost: { estimate: unknown; actual: Record<string, unknown> } };
    assert.deepEqual(cost.estimate, estimate);
    assert.equal(cost.actual.kind, "aws");
    assert.equal(cost.actual.attempts, 3, "one attempt of each of the three children");
    assert.equal(cost.actual.attemptsWithHost, 2);
    assert.deepEqual(cost.actual.hosts, ["c6i.large spot"]);
    assert.ok(Math.abs((cost.actual.childHours as number) - hoursOf([`${render}:0`, `${render}:1`, `${render}:2`])) < 1e-4);
    assert.ok(Math.abs((cost.actual.ioHours as number) - hoursOf([copy, upload])) < 1e-4);
    const mail = (await sentMessages()).find((message) => message.body.includes(renderId));
    assert.ok(mail);
    assert.match(mail.body, /Cost<\/th><td[^>]*>estimated about 1m 30s \(1m 00s–2m 30s\), about \$0\.0200 \(\$0\.0100–\$0\.0400\) on spot-cpu; actual \$0\.0000 \(0\.000 child-hours, 3 attempts, 1 priced at the queue&#39;s range\)/);
  });

  it("publishes a render whose upload Batch failed unstarted (the event rule's publisher job): uploads what exists, reports the render's failure, e-mails", async (t) => {
    const renderId = "r-20261122-000000-000021";
    const copy = await fixture.succeeded(`${renderId}-copy`);
    const render = await fixture.failing(`${renderId}-render`, "Host EC2 (instance i-0abc) terminated.");
    await fixture.settled(render);
    const home = await renderedWork(t, renderId, [1]);
    // The upload as the submission sent it: its environment lives in Batch, not in the publisher's.
    const submitted = uploadEnv(home, renderId, {});
    const uploadVariables = Object.fromEntries(
      ["JOB_ACTION_TYPE", "BRENDER_JOB_PAYLOAD", "BRENDER_STORAGE", "BRENDER_SES_FROM"].map((name) => [name, submitted[name]!]),
    );
    const upload = await fixture.dependent(`${renderId}-upload`, [render], uploadVariables);
    await fixture.settled(upload);
    assert.equal(copy.length > 0, true);

    const publisherEnv = Object.fromEntries(Object.entries(submitted).filter(([name]) => !(name in uploadVariables)));
    const result = await runWorker({
      env: { ...publisherEnv, BRENDER_AFTER_FAILED_UPLOAD: upload, BRENDER_IMDS_ENDPOINT: await listen(missingImds) },
      stdout: () => {},
      log: silent,
    });
    const reason = `${renderId}-render: Host EC2 (instance i-0abc) terminated.`;
    assert.equal(result.exitCode, 1);
    assert.equal(result.error, `Render ${renderId} is incomplete: ${reason}`);
    const manifest = await manifestOf(renderId);
    assert.equal(manifest.status, "failed");
    assert.equal(manifest.reason, reason);
    assert.equal((manifest.frames as { rendered: string }).rendered, "1");
    const mail = (await sentMessages()).find((message) => message.body.includes(renderId));
    assert.ok(mail);
    assert.match(mail.subject, /FAILED — 1 of 2 frames missing/);
    assert.ok(mail.body.includes("Host EC2 (instance i-0abc) terminated."));
    assert.ok(mail.body.includes(`#jobs/detail/${render}`), "the failure e-mail links to the failed job's page and logs");
  });

  it("the publisher does nothing for an upload that ran, or one stopped with 'cancel --include-upload'", async (t) => {
    const renderId = "r-20261122-000000-000023";
    const home = await renderedWork(t, renderId, [1, 2]);
    const env = uploadEnv(home, renderId, {});
    const ranItself = await fixture.succeeded(`${renderId}-upload`);
    // Stopped while it waited for its dependency (a gate that never opens: moto does not check the id).
    const cancelled = await fixture.dependent(`${renderId}-upload2`, ["never-submitted"], {});
    await fixture.batch.send(new TerminateJobCommand({ jobId: cancelled, reason: `${NO_PUBLISH_REASON_PREFIX}Cancelled by user` }));
    await fixture.settled(cancelled);
    const stopped = (await fixture.batch.send(new DescribeJobsCommand({ jobs: [cancelled] }))).jobs![0]!;
    assert.deepEqual([stopped.status, stopped.attempts?.length ?? 0], ["FAILED", 0], "it never started");
    for (const upload of [ranItself, cancelled]) {
      const result = await runWorker({ env: { ...env, JOB_ACTION_TYPE: "", BRENDER_AFTER_FAILED_UPLOAD: upload }, stdout: () => {}, log: silent });
      assert.deepEqual(result, { exitCode: 0 });
    }
    await assert.rejects(manifestOf(renderId), "nothing was published");
  });

  it("e-mails CloudFront links signed with the farm's key, valid for the 7 days the e-mail states", async (t) => {
    const renderId = "r-20261122-000000-000024";
    const home = await renderedWork(t, renderId, [1, 2]);
    const keys = makeLinkKeyPair();
    const config = { endpoint: moto.endpoint, region: moto.region, credentials: moto.credentials };
    // The farm's link distribution as the stack makes it, in moto: public key, key group, distribution, private key secret.
    const cloudFront = new CloudFrontClient(config);
    const publicKey = await cloudFront.send(new CreatePublicKeyCommand({ PublicKeyConfig: { CallerReference: renderId, Name: "brender-links", EncodedKey: keys.publicKeyPem } }));
    const keyGroup = await cloudFront.send(new CreateKeyGroupCommand({ KeyGroupConfig: { Name: "brender-links", Items: [publicKey.PublicKey!.Id!] } }));
    const distribution = await cloudFront.send(new CreateDistributionCommand({ DistributionConfig: linkDistributionConfig(renderId, keyGroup.KeyGroup!.Id!) }));
    cloudFront.destroy();
    const secrets = new SecretsManagerClient(config);
    const secret = await secrets.send(new CreateSecretCommand({ Name: `links-${renderId}`, SecretString: keys.privateKeyPem }));
    secrets.destroy();
    const domain = distribution.Distribution!.DomainName!;

    const before = Date.now();
    const result = await runWorker({
      env: uploadEnv(home, renderId, {
        BRENDER_IMDS_ENDPOINT: await listen(missingImds),
        BRENDER_LINK_DOMAIN: domain,
        BRENDER_LINK_KEY_ID: publicKey.PublicKey!.Id!,
        BRENDER_LINK_KEY_SECRET_ARN: secret.ARN!,
      }),
      stdout: () => {},
      log: silent,
    });
    assert.deepEqual(result, { exitCode: 0 });
    const mail = (await sentMessages()).find((message) => message.body.includes(renderId));
    assert.ok(mail);
    const zip = linksIn(mail.body).find((link) => link.includes("output.zip"));
    assert.ok(zip?.startsWith(`https://${domain}/proj/output/${renderId}/output.zip?Expires=`), `a CloudFront link: ${zip}`);
    const url = new URL(zip!);
    assert.equal(url.searchParams.get("Key-Pair-Id"), publicKey.PublicKey!.Id);
    const expires = Number(url.searchParams.get("Expires"));
    const signature = Buffer.from(url.searchParams.get("Signature")!.replace(/-/g, "+").replace(/_/g, "=").replace(/~/g, "/"), "base64");
    assert.ok(createVerify("RSA-SHA1").update(cannedPolicy(zip!.slice(0, zip!.indexOf("?")), expires)).verify(keys.publicKeyPem, signature));
    assert.ok(Math.abs(expires - (before / 1000 + 604_800)) < 60, "7 days out");
    const until = /Links work until<\/th><td[^>]*>([^<]+)</.exec(mail.body)?.[1];
    assert.equal(until, new Date(expires * 1000).toISOString(), "the e-mail states the signed expiry");
    assert.ok(!mail.body.includes("X-Amz-"), "no presigned S3 link");
  });

  it("without a link distribution, e-mails presigned links with their TRUE expiry: the job credentials' (2 h), never 7 days", async (t) => {
    const renderId = "r-20261122-000000-000025";
    const home = await renderedWork(t, renderId, [1, 2]);
    const credentialsExpire = new Date(Date.now() + 2 * 3600_000);
    const result = await runWorker({
      env: uploadEnv(home, renderId, {
        BRENDER_IMDS_ENDPOINT: await listen(missingImds),
        // Temporary credentials as a role or SSO hands them out, with their expiry.
        AWS_SESSION_TOKEN: "role-session-token",
        AWS_CREDENTIAL_EXPIRATION: credentialsExpire.toISOString(),
      }),
      stdout: () => {},
      log: silent,
    });
    assert.deepEqual(result, { exitCode: 0 });
    const mail = (await sentMessages()).find((message) => message.body.includes(renderId));
    assert.ok(mail);
    const until = /Links work until<\/th><td[^>]*>([^<]+)</.exec(mail.body)?.[1];
    assert.ok(until, "the e-mail states when the links stop working");
    assert.ok(Date.parse(until) <= credentialsExpire.getTime(), `${until} is not after the credentials' ${credentialsExpire.toISOString()}`);
    for (const link of linksIn(mail.body).filter((link) => link.includes("X-Amz-Expires"))) {
      assert.ok(Number(new URL(link).searchParams.get("X-Amz-Expires")) <= 7_200, link);
    }
    assert.doesNotMatch(mail.body, /7 days|604800/);
  });

  it("goes on without host details when IMDS never answers", async (t) => {
    const renderId = "r-20261122-000000-000022";
    const home = await renderedWork(t, renderId, [1, 2]);
    const started = performance.now();
    const result = await runWorker({
      env: uploadEnv(home, renderId, { BRENDER_IMDS_ENDPOINT: await listen(silentImds) }),
      stdout: () => {},
      log: silent,
    });
    assert.deepEqual(result, { exitCode: 0 });
    const manifest = await manifestOf(renderId);
    assert.equal(manifest.status, "succeeded");
    assert.equal(manifest.host, undefined);
    assert.ok(performance.now() - started < 10_000);
  });
});
