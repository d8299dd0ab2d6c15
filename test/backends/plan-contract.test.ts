import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { RENDER_GPUS_VARIABLE, RENDER_QUEUE_VARIABLE, RENDER_VCPUS_VARIABLE } from "../../src/backends/aws/batch-submission.ts";
import { FarmResources } from "../../src/backends/aws/farm-resources.ts";
import { SERVER_PRESETS } from "../../src/backends/aws/server-sizes.ts";
import { dryRun } from "../../src/backends/aws/submit.ts";
import { openLocalFarm, submitPlanFor } from "../../src/backends/local/farm.ts";
import { parseRenderPayload } from "../../src/domain/render-payload.ts";
import { tempDir } from "../helpers/blender.ts";

/** Variables only a cloud run needs (region, progress publishing, waiting, SES); everything else must be equal. */
// The render queue and child size price an AWS render's attempts (a local render reports CPU-hours instead).
const CLOUD_ONLY = new Set([
  "AWS_REGION", "BRENDER_PUBLISH_EVENTS", "BRENDER_SES_FROM", "BRENDER_SES_SUCCESS_TEMPLATE", "BRENDER_SES_FAILURE_TEMPLATE",
  RENDER_QUEUE_VARIABLE, RENDER_VCPUS_VARIABLE, RENDER_GPUS_VARIABLE,
]);

const farm = FarmResources.parse({
  name: "studio",
  region: "eu-west-1",
  bucket: "brender-studio-bucket",
  queues: { io: "arn:aws:batch:eu-west-1:123456789012:job-queue/io", spotCpu: "arn:aws:batch:eu-west-1:123456789012:job-queue/spot-cpu" },
  jobDefinitions: [{ blenderVersion: "4.2.0", arn: "arn:aws:batch:eu-west-1:123456789012:job-definition/blender-4-2-0:1" }],
  notification: { sender: "renders@example.com" },
  logGroup: "/brender/studio",
});

describe("one plan, two backends", () => {
  for (const type of ["animation", "python"] as const) {
    it(`the local farm and AWS Batch run the same ${type} plan: jobs, order, actions, array sizes, environment and dependencies`, async (t) => {
      const home = await tempDir(t);
      const payload = parseRenderPayload({
        schemaVersion: 1,
        renderId: "r-20261122-013347-767351",
        project: { name: "spring", blendFile: "shots/010.blend" },
        type,
        frames: "1-40:2",
        split: { chunkSize: 3 },
        ...(type === "python" ? { python: { script: "tools/job.py", env: { SHOT: "010" } } } : {}),
      });
      const bucketKey = "spring/projects/r-20261122-013347-767351.manifest.json";

      const local = openLocalFarm({ BRENDER_HOME: home, BRENDER_STORAGE: `s3://${farm.bucket}` });
      t.after(() => local.close());
      const ids = submitPlanFor(local, payload, bucketKey);
      const localJobs = ids.map((id) => local.jobs.getJob(id)!);
      const nameOf = new Map(localJobs.map((job) => [job.id, job.name]));

      const { compileRenderPlan } = await import("../../src/domain/render-plan.ts");
      const plan = compileRenderPlan(payload, { bucketKey, bucketName: farm.bucket, storage: `s3://${farm.bucket}` });
      const aws = dryRun(plan, farm, {
        queue: "spot-cpu", resources: SERVER_PRESETS.small, attempts: 2, timeoutSeconds: 3600, blenderVersion: "4.2.0",
        tags: { renderId: payload.renderId, project: "spring" },
      });

      const localView = localJobs.map((job) => ({
        name: job.name,
        action: job.action,
        arraySize: job.arraySize,
        environment: job.environment,
        waitsFor: job.dependsOn.map((dependency) => nameOf.get(dependency.jobId)),
      }));
      const awsView = aws.map((input) => {
        const environment = Object.fromEntries((input.containerOverrides?.environment ?? []).map((pair) => [pair.name!, pair.value!]));
        const action = environment.JOB_ACTION_TYPE!;
        return {
          name: input.jobName,
          action,
          arraySize: input.arrayProperties?.size ?? 1,
          environment: Object.fromEntries(Object.entries(environment).filter(([name]) => !CLOUD_ONLY.has(name) && name !== "JOB_ACTION_TYPE")),
          // Same dependencies on both: the upload starts after the render (dependsOn), nothing waits in a container.
          waitsFor: (input.dependsOn ?? []).map((dependency) => dependency.jobId),
        };
      });
      assert.equal(localView.length, 3);
      assert.deepEqual(awsView, localView);
      assert.equal(localView[1]!.arraySize, 7, "20 frames in chunks of 3");
      assert.equal(localView[1]!.action, type === "python" ? "custom_render_python" : "render");
    });
  }
});
