import { describe, it, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdir, readdir } from "node:fs/promises";
import { join } from "node:path";
import { DescribeJobsCommand, ListJobsCommand } from "@aws-sdk/client-batch";
import { GetObjectTaggingCommand, ListObjectsV2Command, S3Client } from "@aws-sdk/client-s3";
import sharp from "sharp";
import { submitJobInputSchema } from "../../src/backends/aws/batch-submission.ts";
import { brender, makeScene, tempDir } from "../helpers/blender.ts";
import type { MotoServer } from "../helpers/moto-server.ts";
import { motoCliEnv, startTestFarmOnMoto, type TestFarm } from "../helpers/aws-farm.ts";
import { closedPort } from "../helpers/s3-server.ts";

let moto: MotoServer;
let farm: TestFarm;
let s3: S3Client;
before(async () => {
  ({ moto, farm, s3 } = await startTestFarmOnMoto());
});
after(() => moto.stop());

const awsEnv = (home: string) => ({ ...motoCliEnv(moto, home), BRENDER_AWS_POLL_MS: "200" });

async function bucketKeys(): Promise<string[]> {
  const listed = await s3.send(new ListObjectsV2Command({ Bucket: "brender-test-bucket" }));
  return (listed.Contents ?? []).map((object) => object.Key!);
}

describe("brender render --backend aws (AWS Batch, S3 and CloudFormation on moto_server)", () => {
  it("--dry-run prints valid SubmitJob inputs in order and changes nothing in AWS", async (t) => {
    const home = await tempDir(t);
    const blend = await makeScene(join(home, "shot.blend"), { frames: [1, 4], resolution: [16, 16], samples: 1 });
    const result = await brender(["render", blend, "--backend", "aws", "--farm", "test", "--array-size", "2", "--dry-run", "--json"], awsEnv(home));
    assert.equal(result.code, 0, result.stderr);
    const inputs = JSON.parse(result.stdout) as Array<Record<string, unknown>>;
    assert.deepEqual(inputs.map((input) => String(input.jobName).replace(/^r-[0-9a-f-]+?-(?=copy|render|upload)/, "")), ["copy", "render", "upload"]);
    for (const input of inputs) submitJobInputSchema.parse(input);
    assert.deepEqual((inputs[1] as { arrayProperties: unknown }).arrayProperties, { size: 2 });
    assert.match(result.stderr, /saved with Blender 3\.4; rendering with 3\.6\.0/);
    assert.deepEqual(await bucketKeys(), [], "nothing uploaded");
    const jobs = await farm.batch.send(new ListJobsCommand({ jobQueue: farm.arns.io, jobStatus: "SUCCEEDED" }));
    assert.equal(jobs.jobSummaryList?.length ?? 0, 0, "nothing submitted");
  });

  it("--dry-run on a GPU queue turns the GPU on, requires it in the worker and retries spot reclaims; --gpu on a CPU queue is refused", async (t) => {
    const home = await tempDir(t);
    const blend = await makeScene(join(home, "shot.blend"), { frames: [1, 2], resolution: [16, 16], samples: 1 });
    const result = await brender(["render", blend, "--backend", "aws", "--farm", "test", "--queue", "spot-gpu", "--preset", "gpu-1", "--dry-run", "--json"], awsEnv(home));
    assert.equal(result.code, 0, result.stderr);
    type Input = { jobQueue: string; retryStrategy: { attempts: number; evaluateOnExit: Array<Record<string, string>> }; containerOverrides: { environment: Array<{ name: string; value: string }>; resourceRequirements: Array<{ type: string; value: string }> } };
    const render = (JSON.parse(result.stdout) as Input[])[1]!;
    const env = new Map(render.containerOverrides.environment.map((variable) => [variable.name, variable.value]));
    assert.equal(render.jobQueue, farm.arns.spotGpu);
    assert.equal((JSON.parse(env.get("BRENDER_JOB_PAYLOAD")!) as { gpu: boolean }).gpu, true, "the payload renders on the GPU");
    assert.equal(env.get("BRENDER_REQUIRE_GPU"), "1");
    assert.ok(render.containerOverrides.resourceRequirements.some((requirement) => requirement.type === "GPU" && requirement.value === "1"));
    assert.equal(render.retryStrategy.attempts, 5, "spot children are retried when their host is reclaimed");
    assert.deepEqual(render.retryStrategy.evaluateOnExit[0], { onStatusReason: "Host EC2*", action: "RETRY" });

    const user = await brender(["render", blend, "--backend", "aws", "--farm", "test", "--queue", "spot-gpu", "--preset", "gpu-1", "--attempts", "1", "--dry-run"], awsEnv(home));
    assert.equal((JSON.parse(user.stdout) as Input[])[1]!.retryStrategy.attempts, 1, "--attempts still wins");

    const refused = await brender(["render", blend, "--backend", "aws", "--farm", "test", "--queue", "spot-cpu", "--gpu", "--dry-run"], awsEnv(home));
    assert.equal(refused.code, 2);
    assert.match(refused.stderr, /--gpu asks for a GPU, but the spot-cpu queue has CPU hosts only: use --queue spot-gpu/);
  });

  it("uploads the project, submits the chain, and — with the worker run as the containers would — reports, downloads and lists the render", async (t) => {
    const home = await tempDir(t);
    const blend = await makeScene(join(home, "shot.blend"), { frames: [1, 2], resolution: [16, 16], samples: 1 });
    const submitted = await brender(["render", blend, "--backend", "aws", "--farm", "test", "--array-size", "2", "--detach", "--json"], awsEnv(home));
    assert.equal(submitted.code, 0, submitted.stderr);
    const { renderId, upload } = JSON.parse(submitted.stdout) as { renderId: string; upload: { bytesUploaded: number } };
    assert.ok(upload.bytesUploaded > 0);
    assert.ok((await bucketKeys()).includes(`shot/projects/${renderId}.manifest.json`));

    // What AWS Batch recorded, and the worker run with exactly that environment (the container's job).
    const record = JSON.parse(await (await import("node:fs/promises")).readFile(join(home, "aws-renders", `${renderId}.json`), "utf8")) as { jobs: { jobId: string; arraySize: number }[] };
    const described = await farm.batch.send(new DescribeJobsCommand({ jobs: record.jobs.map((job) => job.jobId) }));
    const work = join(home, "efs");
    for (const job of record.jobs) {
      const detail = described.jobs!.find((candidate) => candidate.jobId === job.jobId)!;
      const env = Object.fromEntries((detail.container?.environment ?? []).map((pair) => [pair.name!, pair.value!]));
      for (let index = 0; index < job.arraySize; index += 1) {
        const array = job.arraySize > 1 ? { AWS_BATCH_JOB_ARRAY_INDEX: String(index), AWS_BATCH_JOB_ARRAY_SIZE: String(job.arraySize) } : {};
        const run = await brender(["worker"], { ...awsEnv(join(home, "container")), ...env, ...array, EFS_BLENDER_FOLDER_PATH: work, BRENDER_LOG_LEVEL: "warn" });
        assert.equal(run.code, 0, `${env.JOB_ACTION_TYPE}: ${run.stderr}`);
      }
    }

    // Outputs carry the tag the farm's lifecycle rule expires old renders by (moto keeps object tags).
    for (const key of [`shot/output/${renderId}/manifest.json`, `shot/output/${renderId}/frames/frame_0001.png`]) {
      const tagging = await s3.send(new GetObjectTaggingCommand({ Bucket: "brender-test-bucket", Key: key }));
      assert.deepEqual(tagging.TagSet, [{ Key: "brender:kind", Value: "render-output" }], key);
    }

    const status = await brender(["status", renderId, "--json"], awsEnv(home));
    assert.equal(status.code, 0, status.stderr);
    const report = JSON.parse(status.stdout);
    assert.equal(report.backend, "aws");
    assert.equal(report.status, "SUCCEEDED");
    assert.equal(report.manifest.frames.renderedCount, 2);
    const watched = JSON.parse((await brender(["status", renderId, "--watch", "--json"], awsEnv(home))).stdout);
    assert.equal(watched.status, "SUCCEEDED");
    assert.match(watched.outputs.location, new RegExp(`^s3://brender-test-bucket/shot/output/${renderId}/$`));

    const got = join(home, "got");
    assert.equal((await brender(["download", renderId, got], awsEnv(home))).code, 0);
    assert.deepEqual((await readdir(join(got, "frames"))).sort(), ["frame_0001.png", "frame_0002.png"]);
    const listed = JSON.parse((await brender(["jobs", "--json"], awsEnv(home))).stdout) as { renderId: string; backend: string; status: string }[];
    assert.deepEqual(listed.map((row) => [row.renderId, row.backend, row.status]), [[renderId, "aws:test", "SUCCEEDED"]]);
  });

  it("--json's upload summary says what packing traced and added, as a local render's does", async (t) => {
    const home = await tempDir(t);
    await mkdir(join(home, "textures"), { recursive: true });
    const texture = join(home, "textures", "green.png");
    await sharp({ create: { width: 4, height: 4, channels: 3, background: { r: 0, g: 255, b: 0 } } }).png().toFile(texture);
    await mkdir(join(home, "shots"), { recursive: true });
    const blend = await makeScene(join(home, "shots", "shot.blend"), { frames: [1, 1], resolution: [16, 16], samples: 1, texture });
    const submitted = await brender(["render", blend, "--backend", "aws", "--farm", "test", "--detach", "--json"], awsEnv(home));
    assert.equal(submitted.code, 0, submitted.stderr);
    const { upload } = JSON.parse(submitted.stdout) as { upload: { files: number; dependencies?: { traced: number; outside: number; missing: string[] } } };
    assert.equal(upload.dependencies?.traced, 1);
    assert.equal(upload.dependencies?.outside, 1, "the texture lies outside the .blend's folder");
    assert.deepEqual(upload.dependencies?.missing, []);
    assert.equal(upload.files, 3, "the .blend, the texture and the farm's path map");
  });

  it("names the problem when the farm is missing or not given", async (t) => {
    const home = await tempDir(t);
    const blend = await makeScene(join(home, "shot.blend"), { frames: [1, 1], resolution: [16, 16], samples: 1 });
    const missing = await brender(["render", blend, "--backend", "aws", "--farm", "nope"], awsEnv(home));
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /No Brender farm "nope"/);
    const none = await brender(["render", blend, "--backend", "aws"], awsEnv(home));
    assert.equal(none.code, 2);
    assert.match(none.stderr, /--backend aws needs --farm NAME/);
    const local = await brender(["render", blend, "--farm", "test"], awsEnv(home));
    assert.equal(local.code, 2);
    assert.match(local.stderr, /--farm is for --backend aws/);
  });

  it("says which address it could not reach and what to check, in one line, when AWS is unreachable", async (t) => {
    const home = await tempDir(t);
    const blend = await makeScene(join(home, "shot.blend"), { frames: [1, 1], resolution: [16, 16], samples: 1 });
    const port = await closedPort();
    const result = await brender(["render", blend, "--backend", "aws", "--farm", "test", "--dry-run"], { ...awsEnv(home), AWS_ENDPOINT_URL: `http://127.0.0.1:${port}` });
    assert.equal(result.code, 1);
    assert.equal(result.stderr.trim().split("\n").length, 1, result.stderr);
    assert.match(result.stderr, new RegExp(`^brender: Could not reach 127\\.0\\.0\\.1:${port} \\(ECONNREFUSED: connection refused: nothing listens there\\): check .*AWS_ENDPOINT_URL`));
    assert.doesNotMatch(result.stderr, /unexpected error|at TCPConnectWrap/);
  });
});
