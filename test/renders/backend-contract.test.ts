/**
 * One RenderBackend contract, two backends: the local farm (real SQLite
 * store and runner; a stand-in worker does the jobs) and AWS (moto_server's
 * Batch, S3 and CloudFormation with the real SDK, as the AWS tests use).
 * Each fixture writes the outputs the upload job would write, so the suite
 * checks what the backends make of jobs plus outputs, not Blender.
 */
import { after, before, describe } from "node:test";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { BatchClient } from "@aws-sdk/client-batch";
import { CreateBucketCommand, S3Client } from "@aws-sdk/client-s3";
import { findFarm } from "../../src/backends/aws/farm-resources.ts";
import { saveRenderRecord } from "../../src/backends/aws/render-record.ts";
import { submitToBatch } from "../../src/backends/aws/submit.ts";
import { awsPlan } from "../../src/backends/aws/submit-render.ts";
import { openLocalFarm, submitPlanFor, type LocalFarm } from "../../src/backends/local/farm.ts";
import { runLocalFarm } from "../../src/backends/local/runner.ts";
import { outputPrefix } from "../../src/domain/layout.ts";
import { parseRenderPayload } from "../../src/domain/render-payload.ts";
import type { ObjectStore } from "../../src/storage/object-store.ts";
import { S3ObjectStore } from "../../src/storage/s3-store.ts";
import { AwsRenderBackend } from "../../src/renders/aws.ts";
import { LocalRenderBackend } from "../../src/renders/local.ts";
import { createTestFarm } from "../helpers/aws-farm.ts";
import { startMotoServer, type MotoServer } from "../helpers/moto-server.ts";
import { manifestFor, renderBackendContract, type BackendFixture } from "./contract.ts";

const FAKE_WORKER = join(import.meta.dirname, "..", "helpers", "fake-worker.mjs");

const payloadOf = (renderId: string) =>
  parseRenderPayload({ schemaVersion: 1, renderId, project: { name: "contract", blendFile: "scene.blend" }, type: "animation", frames: "1-2", split: { arraySize: 2 } });

/** What the upload job leaves in the store: the frames, then the manifest. */
async function writeOutputs(objects: ObjectStore, renderId: string, manifest: { status: "succeeded" | "failed"; reason?: string }): Promise<void> {
  const prefix = outputPrefix("contract", renderId);
  for (const frame of ["frame_0001.png", "frame_0002.png"]) await objects.putBytes(`${prefix}frames/${frame}`, Buffer.from("png!"));
  await objects.putBytes(`${prefix}manifest.json`, Buffer.from(JSON.stringify(manifestFor(renderId, manifest.status, manifest.reason))));
}

describe("RenderBackend contract: local farm", () => {
  let home: string;
  let farm: LocalFarm;
  let backend: LocalRenderBackend;
  before(async () => {
    home = await mkdtemp(join(tmpdir(), "brender-contract-local-"));
    farm = openLocalFarm({ BRENDER_HOME: home });
    backend = new LocalRenderBackend(farm);
  });
  after(async () => {
    farm.close();
    await rm(home, { recursive: true, force: true });
  });
  renderBackendContract(
    (): BackendFixture => ({
      backend,
      backendName: "local",
      async ended(renderId, manifest) {
        submitPlanFor(farm, payloadOf(renderId), `contract/projects/${renderId}.manifest.json`);
        await runLocalFarm({ store: farm.jobs, logDir: farm.logDir, workerCommand: { command: process.execPath, args: [FAKE_WORKER] }, baseEnv: process.env, pollMs: 20, untilIdle: true });
        await writeOutputs(farm.objects, renderId, manifest);
      },
    }),
    { succeeded: "rl-contract-succeeded", failed: "rl-contract-failed" },
  );
});

describe("RenderBackend contract: AWS farm (moto_server)", () => {
  const AWS_VARIABLES = ["AWS_ENDPOINT_URL", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_REGION", "AWS_PROFILE", "AWS_SESSION_TOKEN"] as const;
  const saved = Object.fromEntries(AWS_VARIABLES.map((name) => [name, process.env[name]]));
  let home: string;
  let moto: MotoServer;
  let backend: AwsRenderBackend;
  let objects: S3ObjectStore;
  before(async () => {
    home = await mkdtemp(join(tmpdir(), "brender-contract-aws-"));
    moto = await startMotoServer();
    // Without Docker, moto's Batch ends every job SUCCEEDED when it is submitted.
    await moto.configure({ batch: { use_docker: false } });
    await createTestFarm(moto);
    const s3 = new S3Client({ endpoint: moto.endpoint, region: moto.region, credentials: moto.credentials, forcePathStyle: true });
    await s3.send(new CreateBucketCommand({ Bucket: "brender-test-bucket" }));
    s3.destroy();
    // The backend finds AWS as the CLI and the server do: through the standard environment.
    Object.assign(process.env, { AWS_ENDPOINT_URL: moto.endpoint, AWS_ACCESS_KEY_ID: moto.credentials.accessKeyId, AWS_SECRET_ACCESS_KEY: moto.credentials.secretAccessKey, AWS_REGION: moto.region });
    delete process.env.AWS_PROFILE;
    delete process.env.AWS_SESSION_TOKEN;
    backend = new AwsRenderBackend(home, process.env);
    objects = S3ObjectStore.fromEnvironment("s3://brender-test-bucket", process.env);
  });
  after(async () => {
    backend?.close();
    objects?.client.destroy();
    await moto?.stop();
    for (const name of AWS_VARIABLES) {
      if (saved[name] === undefined) delete process.env[name];
      else process.env[name] = saved[name];
    }
    await rm(home, { recursive: true, force: true });
  });
  renderBackendContract(
    (): BackendFixture => ({
      backend,
      backendName: "aws:test",
      async ended(renderId, manifest) {
        const farm = await findFarm("test", { region: moto.region });
        const payload = payloadOf(renderId);
        const bucketKey = `contract/projects/${renderId}.manifest.json`;
        const { plan, storage } = awsPlan(payload, farm, bucketKey);
        const options = { queue: "spot-cpu" as const, resources: { vcpus: 2, memoryMiB: 7680, gpus: 0 }, attempts: 1, timeoutSeconds: 3600, blenderVersion: "3.6.0" };
        const batchClient = new BatchClient({ region: moto.region });
        const submitted = await submitToBatch(plan, farm, { ...options, tags: { renderId, project: "contract" } }, { batchClient }).finally(() => batchClient.destroy());
        await saveRenderRecord(home, {
          renderId, farm: "test", region: moto.region, storage, payload, bucketKey, submittedAt: new Date().toISOString(),
          jobs: plan.map((job, index) => ({ name: job.name, action: job.action, jobId: submitted[index]!.jobId, arraySize: job.arraySize })),
          submitOptions: options,
        });
        await writeOutputs(objects, renderId, manifest);
      },
    }),
    { succeeded: "ra-contract-succeeded", failed: "ra-contract-failed" },
  );
});
