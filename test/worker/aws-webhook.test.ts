/**
 * The upload job's webhooks as on an AWS farm, every AWS call going to moto on
 * loopback: the signing secret is read from Secrets Manager with the job's
 * credentials (the job's environment holds only its ARN), and the signed
 * event reaches a real HTTP receiver.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { access, mkdir } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { Writable } from "node:stream";
import { CreateBucketCommand, GetObjectCommand, ListObjectsV2Command, PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { CreateSecretCommand, SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { pino } from "pino";
import sharp from "sharp";
import { outputLayout, workLayout } from "../../src/domain/layout.ts";
import { renderEventSchema } from "../../src/domain/render-event.ts";
import { verifySignature } from "../../src/notify/webhook-signature.ts";
import { runWorker } from "../../src/worker/main.ts";
import { tempDir } from "../helpers/blender.ts";
import { startMotoServer, type MotoServer } from "../helpers/moto-server.ts";
import { payloadFor } from "./harness.ts";
import type { RenderJobPayloadInput } from "../../src/domain/render-payload.ts";

const BUCKET = "brender-hooks";
const SECRET = "farm-secret-from-secrets-manager-0123456789";

let moto: MotoServer;
let s3: S3Client;
let secretArn: string;
let receiver: Server;
const received: Array<{ body: string; signature: string | undefined }> = [];

before(async () => {
  moto = await startMotoServer();
  const config = { endpoint: moto.endpoint, region: moto.region, credentials: moto.credentials };
  s3 = new S3Client({ ...config, forcePathStyle: true });
  await s3.send(new CreateBucketCommand({ Bucket: BUCKET }));
  const secrets = new SecretsManagerClient(config);
  secretArn = (await secrets.send(new CreateSecretCommand({ Name: "brender-farm-hooks-webhook", SecretString: SECRET }))).ARN!;
  secrets.destroy();
  receiver = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on("data", (chunk: Buffer) => chunks.push(chunk));
    request.on("end", () => {
      received.push({ body: Buffer.concat(chunks).toString(), signature: request.headers["x-brender-signature"] as string | undefined });
      response.writeHead(200).end();
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, "127.0.0.1", resolve));
});

after(async () => {
  receiver?.closeAllConnections();
  await new Promise((resolve) => receiver?.close(resolve));
  s3?.destroy();
  await moto?.stop();
});

async function renderedWork(t: { after: (fn: () => Promise<void>) => void }, renderId: string, frames: readonly number[]) {
  const home = await tempDir(t);
  const framesFolder = outputLayout(workLayout(join(home, "work"), renderId).output).frames;
  await mkdir(framesFolder, { recursive: true });
  for (const frame of frames) {
    await sharp({ create: { width: 16, height: 9, channels: 3, background: { r: 200, g: 40, b: 10 } } }).png().toFile(join(framesFolder, `frame_000${frame}.png`));
  }
  return home;
}

/** The upload job's environment as on the farm: the bucket, the secret's ARN, moto for every AWS call. */
function uploadEnv(home: string, payload: RenderJobPayloadInput, extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  return {
    JOB_ACTION_TYPE: "upload_render_output",
    BRENDER_JOB_PAYLOAD: JSON.stringify(payload),
    BRENDER_HOME: home,
    EFS_BLENDER_FOLDER_PATH: join(home, "work"),
    BRENDER_STORAGE: `s3://${BUCKET}`,
    BRENDER_WEBHOOK_SECRET_ARN: secretArn,
    BRENDER_IMDS_ENDPOINT: "http://127.0.0.1:9",
    AWS_ENDPOINT_URL: moto.endpoint,
    AWS_REGION: moto.region,
    AWS_ACCESS_KEY_ID: moto.credentials.accessKeyId,
    AWS_SECRET_ACCESS_KEY: moto.credentials.secretAccessKey,
    ...extra,
  };
}

/** Runs the worker in-process, keeping every log line it wrote (debug included). */
async function runLogged(env: NodeJS.ProcessEnv) {
  let logged = "";
  const log = pino({ level: "debug" }, new Writable({ write: (chunk, _enc, done) => void ((logged += chunk.toString()), done()) }));
  const result = await runWorker({ env, stdout: () => {}, log });
  return { result, logged };
}

describe("upload_render_output webhooks on AWS (moto)", () => {
  it("reads the secret from Secrets Manager, posts a signed render.cancelled for a cancelled render, and logs neither secret nor URL token", async (t) => {
    const renderId = "r-20261207-000000-000031";
    const home = await renderedWork(t, renderId, [1]);
    const hook = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook?token=tokenNotForLogs`;
    const env = uploadEnv(home, payloadFor(renderId, { frames: "1-2", video: { enabled: false }, notify: { webhooks: [hook] } }), {
      // What the publisher (src/worker/failed-upload.ts) sets for an upload whose render job was cancelled.
      BRENDER_UPSTREAM_FAILURE: `${renderId}-render: Cancelled by user`,
    });
    const { result, logged } = await runLogged(env);
    assert.equal(result.exitCode, 1, "frame 2 is missing");
    assert.equal(received.length, 1, logged);
    const [got] = received;
    assert.equal(verifySignature(SECRET, got!.body, got!.signature), true, "signed with the Secrets Manager value");
    const event = renderEventSchema.parse(JSON.parse(got!.body));
    assert.equal(event.type, "render.cancelled");
    assert.equal(event.render.id, renderId);
    assert.ok(!Object.values(env).some((value) => value?.includes(SECRET)), "the value is never in the job's environment");
    await assert.rejects(access(join(home, "webhook-secret")), "no local secret was made");
    assert.match(logged, /webhook/);
    assert.ok(!logged.includes(SECRET) && !logged.includes("tokenNotForLogs"));
    const manifest = JSON.parse(await (await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: `proj/output/${renderId}/manifest.json` }))).Body!.transformToString());
    assert.equal(manifest.webhooks[0].outcome, "delivered");
    assert.ok(!JSON.stringify(manifest).includes("tokenNotForLogs"));
  });

  it("reads the URLs an AWS submission stored beside the project and deletes them after publishing; stored URLs of another render, or none, are a warning naming the host only", async (t) => {
    const port = (receiver.address() as AddressInfo).port;
    const hook = `http://127.0.0.1:${port}/stored/pathTokenNotForLogs`;
    const run = async (renderId: string, stored: object | undefined) => {
      const home = await renderedWork(t, renderId, [1]);
      const key = `proj/projects/${renderId}.webhooks.json`;
      if (stored) await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: JSON.stringify(stored) }));
      const payload = payloadFor(renderId, { frames: "1", video: { enabled: false }, notify: { storedWebhooks: { key, targets: [`http://127.0.0.1:${port}/…`] } } });
      const { result, logged } = await runLogged(uploadEnv(home, payload));
      assert.equal(result.exitCode, 0, logged);
      const manifest = JSON.parse(await (await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: `proj/output/${renderId}/manifest.json` }))).Body!.transformToString());
      const listed = await s3.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: key }));
      assert.ok(!logged.includes("pathTokenNotForLogs") && !JSON.stringify(manifest).includes("pathTokenNotForLogs"));
      return { manifest, left: listed.KeyCount ?? 0 };
    };

    const before = received.length;
    const own = await run("r-20261207-000000-000032", { schemaVersion: 1, renderId: "r-20261207-000000-000032", webhooks: [hook] });
    assert.equal(received.length, before + 1, "posted once");
    assert.equal(own.manifest.webhooks[0].outcome, "delivered");
    assert.equal(own.left, 0, "the stored URLs were deleted");

    const foreign = await run("r-20261207-000000-000033", { schemaVersion: 1, renderId: "r-20261207-000000-000099", webhooks: [hook] });
    const missing = await run("r-20261207-000000-000034", undefined);
    assert.equal(received.length, before + 1, "neither posted");
    assert.match(foreign.manifest.warnings.join("\n"), new RegExp(`webhooks \\(http://127\\.0\\.0\\.1:${port}/…\\) were not told: .*belongs to render r-20261207-000000-000099`));
    assert.match(missing.manifest.warnings.join("\n"), /were not told: their URLs could not be read from s3:\/\/brender-hooks\/proj\/projects\/r-20261207-000000-000034\.webhooks\.json .*'brender retry' stores them again/);
  });
});
