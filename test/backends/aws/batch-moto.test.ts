/**
 * The AWS Batch submission against a real AWS API endpoint on loopback:
 * moto's server. The farm (compute environment, queues, job definitions for
 * two Blender versions, the `brender-farm-test` stack and its outputs) is
 * created with the real SDK; a real plan is submitted through submitToBatch
 * and what moto recorded is checked.
 *
 * moto's DescribeJobs drops the retry strategy, the containerOverrides'
 * resourceRequirements and propagateTags, so those are checked in the
 * SubmitJob requests moto's recorder captured (the bytes AWS would get).
 * A missing moto_server fails this file with how to install it.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DescribeJobsCommand, type BatchClient, type JobDetail } from "@aws-sdk/client-batch";
import type { CloudFormationClient } from "@aws-sdk/client-cloudformation";
import { chooseBlenderVersion, RETRY_RULES, TAG_KEYS, type BatchSubmitOptions } from "../../../src/backends/aws/batch-submission.ts";
import { findFarm, type FarmResources } from "../../../src/backends/aws/farm-resources.ts";
import { resolveResources } from "../../../src/backends/aws/server-sizes.ts";
import { dryRun, submitToBatch } from "../../../src/backends/aws/submit.ts";
import { readBlendHeader } from "../../../src/blender/blend-file.ts";
import { compileRenderPlan } from "../../../src/domain/render-plan.ts";
import { parseRenderPayload } from "../../../src/domain/render-payload.ts";
import { UserInputError } from "../../../src/errors.ts";
import { createTestFarm } from "../../helpers/aws-farm.ts";
import { startMotoServer, type MotoServer } from "../../helpers/moto-server.ts";

let moto: MotoServer;
let batch: BatchClient;
let cloudFormation: CloudFormationClient;
let workDir: string;
const arns = { io: "", spotCpu: "", spotGpu: "", blender36: "", blender42: "" };

before(async () => {
  moto = await startMotoServer();
  // Jobs complete at once, without Docker.
  await moto.configure({ batch: { use_docker: false } });
  workDir = await mkdtemp(join(tmpdir(), "brender-aws-"));
  const farm = await createTestFarm(moto);
  batch = farm.batch;
  cloudFormation = farm.cloudFormation;
  Object.assign(arns, farm.arns);
});

after(async () => {
  await moto?.stop();
  if (workDir) await rm(workDir, { recursive: true, force: true });
});

const payload = parseRenderPayload({
  schemaVersion: 1,
  renderId: "r-20261122-000000-000001",
  project: { name: "spring", blendFile: "scene.blend" },
  type: "animation",
  frames: "1-8",
  split: { arraySize: 4 },
});
const plan = () =>
  compileRenderPlan(payload, { bucketKey: "spring/projects/r-20261122-000000-000001/scene.blend", bucketName: "brender-test-bucket" });

function options(farm: FarmResources, blenderVersion: string): BatchSubmitOptions {
  return {
    queue: "spot-cpu",
    resources: resolveResources({ preset: "medium" }),
    attempts: 4,
    timeoutSeconds: 1800,
    blenderVersion,
    tags: { renderId: payload.renderId, project: payload.project.name },
  };
}

function envOf(job: JobDetail): Record<string, string> {
  return Object.fromEntries((job.container?.environment ?? []).map((pair) => [pair.name!, pair.value!]));
}

describe("findFarm (CloudFormation on moto)", () => {
  it("reads the farm's resources from the brender-farm-<name> stack outputs", async () => {
    const farm = await findFarm("test", { client: cloudFormation });
    assert.deepEqual(farm, {
      name: "test",
      region: "us-east-1",
      bucket: "brender-test-bucket",
      queues: { io: arns.io, spotCpu: "brender-test-spot-cpu", spotGpu: arns.spotGpu },
      fairShareQueues: [],
      jobDefinitions: [
        { blenderVersion: "3.6.0", arn: arns.blender36 },
        { blenderVersion: "4.2.0", arn: arns.blender42 },
      ],
      notification: { sender: "renders@example.com" },
      logGroup: "/brender/test",
    });
  });

  it("says how to deploy a farm that is not there", async () => {
    await assert.rejects(findFarm("nope", { client: cloudFormation }), (error: unknown) => {
      assert.ok(error instanceof UserInputError);
      assert.equal(
        error.message,
        `No Brender farm "nope" in us-east-1: deploy it with 'brender farm deploy nope' or check --region/--profile.`,
      );
      return true;
    });
    await assert.rejects(findFarm("bad name", { client: cloudFormation }), /Farm name "bad name" is invalid/);
  });
});

describe("submitToBatch (Batch on moto)", () => {
  it("submits copy -> render array -> upload, each depending on the one before, as the plan says", async () => {
    const farm = await findFarm("test", { client: cloudFormation });
    // The version comes from the file's header: a Blender 3.4 file renders on the nearest deployed version, 3.6.0.
    const blend = join(workDir, "scene.blend");
    await writeFile(blend, Buffer.concat([Buffer.from("BLENDER-v304"), Buffer.from("ENDB"), Buffer.alloc(20)]));
    const header = await readBlendHeader(blend);
    const choice = chooseBlenderVersion(header.version, farm.jobDefinitions.map((definition) => definition.blenderVersion), undefined, farm.name);
    assert.equal(choice.version, "3.6.0");
    assert.match(choice.warning ?? "", /saved with Blender 3\.4; rendering with 3\.6\.0/);

    await moto.startRecording();
    const submitted = await submitToBatch(plan(), farm, options(farm, choice.version), { batchClient: batch });
    const [copyId, renderId, uploadId] = submitted.map((job) => job.jobId);
    assert.deepEqual(
      submitted.map((job) => job.name),
      ["r-20261122-000000-000001-copy", "r-20261122-000000-000001-render", "r-20261122-000000-000001-upload"],
    );
    assert.ok(submitted.every((job) => job.jobArn.endsWith(`/${job.jobId}`)));

    const described = await batch.send(new DescribeJobsCommand({ jobs: submitted.map((job) => job.jobId) }));
    const byId = new Map(described.jobs!.map((job) => [job.jobId!, job]));
    assert.equal(byId.size, 3);
    const copy = byId.get(copyId!)!;
    const render = byId.get(renderId!)!;
    const upload = byId.get(uploadId!)!;

    assert.deepEqual(copy.dependsOn, []);
    assert.deepEqual(render.dependsOn, [{ jobId: copyId }]);
    // The upload starts after the render; nothing waits in a container.
    assert.deepEqual(upload.dependsOn, [{ jobId: renderId }]);
    assert.equal(envOf(upload)["BRENDER_AWAIT_JOBS"], undefined);
    assert.equal(envOf(render)["BRENDER_PUBLISH_EVENTS"], "1");
    assert.equal(render.arrayProperties?.size, 4);
    assert.equal(copy.arrayProperties, undefined);
    assert.deepEqual([copy.jobQueue, render.jobQueue, upload.jobQueue], [arns.io, arns.spotCpu, arns.io]);
    for (const job of [copy, render, upload]) {
      assert.equal(job.jobDefinition, arns.blender36);
      assert.deepEqual(job.tags, {
        [TAG_KEYS.renderId]: payload.renderId,
        [TAG_KEYS.project]: "spring",
        [TAG_KEYS.farm]: "test",
        [TAG_KEYS.action]: envOf(job)["JOB_ACTION_TYPE"],
      });
      assert.deepEqual(JSON.parse(envOf(job)["BRENDER_JOB_PAYLOAD"]!), payload);
      assert.equal(envOf(job)["BUCKET_NAME"], "brender-test-bucket");
      assert.equal(envOf(job)["EFS_BLENDER_FOLDER_PATH"], "/mnt/efs", "the job definition's environment still applies");
    }
    assert.deepEqual([copy, render, upload].map((job) => envOf(job)["JOB_ACTION_TYPE"]), ["copy_efs", "render", "upload_render_output"]);
    assert.equal(envOf(copy)["BUCKET_KEY"], "spring/projects/r-20261122-000000-000001/scene.blend");
    assert.deepEqual(render.timeout, { attemptDurationSeconds: 1800 });
    assert.equal(copy.timeout, undefined);

    // What moto received but does not keep: resources, retry strategy, tag propagation.
    const requests = (await moto.recordedRequests()).filter((request) => request.url.endsWith("/v1/submitjob"));
    assert.equal(requests.length, 3);
    const bodies = requests.map((request) => JSON.parse(request.body) as Record<string, any>);
    assert.deepEqual(
      bodies.map((body) => body["jobName"]),
      submitted.map((job) => job.name),
    );
    assert.deepEqual(bodies[1]!["containerOverrides"]["resourceRequirements"], [
      { type: "VCPU", value: "8" },
      { type: "MEMORY", value: "30720" },
    ]);
    for (const io of [bodies[0]!, bodies[2]!]) {
      assert.deepEqual(io["containerOverrides"]["resourceRequirements"], [
        { type: "VCPU", value: "1" },
        { type: "MEMORY", value: "2048" },
      ]);
    }
    const rules = RETRY_RULES.map((rule) => ({ ...rule }));
    assert.deepEqual(bodies[1]!["retryStrategy"], { attempts: 4, evaluateOnExit: rules });
    assert.deepEqual(bodies[0]!["retryStrategy"]["evaluateOnExit"], rules);
    assert.ok(bodies.every((body) => body["propagateTags"] === true));

    // The dry run is exactly what was sent, less the real ids.
    const dry = dryRun(plan(), farm, options(farm, choice.version));
    const placeholders = new Map(submitted.map((job) => [job.jobId, job.name]));
    const sentWithPlaceholders = bodies
      .map((body) =>
        body["dependsOn"] ? { ...body, dependsOn: body["dependsOn"].map((d: { jobId: string }) => ({ jobId: placeholders.get(d.jobId) })) } : body,
      );
    assert.deepEqual(sentWithPlaceholders, JSON.parse(JSON.stringify(dry)));
  });

  it("terminates the jobs already submitted when AWS refuses a later one", async () => {
    const farm = await findFarm("test", { client: cloudFormation });
    const broken = { ...farm, queues: { ...farm.queues, spotCpu: "brender-test-no-such-queue" } };
    await moto.startRecording();
    await assert.rejects(submitToBatch(plan(), broken, options(farm, "4.2.0"), { batchClient: batch }), (error: unknown) => {
      assert.ok(error instanceof UserInputError, String(error));
      assert.match(error.message, /AWS Batch refused job "r-20261122-000000-000001-render" on farm "test": .*brender-test-no-such-queue/);
      return true;
    });
    const requests = await moto.recordedRequests();
    const submittedCopy = requests.filter((request) => request.url.endsWith("/v1/submitjob")).map((request) => JSON.parse(request.body).jobName);
    assert.deepEqual(submittedCopy, ["r-20261122-000000-000001-copy", "r-20261122-000000-000001-render"]);
    const terminated = requests.filter((request) => request.url.endsWith("/v1/terminatejob")).map((request) => JSON.parse(request.body));
    assert.equal(terminated.length, 1);
    const copies = await batch.send(new DescribeJobsCommand({ jobs: [terminated[0].jobId] }));
    assert.equal(copies.jobs?.[0]?.jobName, "r-20261122-000000-000001-copy");
  });
});
