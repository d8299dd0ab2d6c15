import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { farmFromStack, FarmResources, renderQueue } from "../../../src/backends/aws/farm-resources.ts";
import { UserInputError } from "../../../src/errors.ts";

describe("farmFromStack", () => {
  const stack = (outputs: Record<string, string>, status = "CREATE_COMPLETE") => ({
    StackName: "brender-farm-x",
    StackStatus: status,
    CreationTime: new Date(),
    Outputs: Object.entries(outputs).map(([OutputKey, OutputValue]) => ({ OutputKey, OutputValue })),
  }) as Parameters<typeof farmFromStack>[2];
  const complete = { BucketName: "b", IoQueue: "io", JobDefinitions: '{"4.2.0":"arn:jd"}', LogGroup: "/l", FairShareQueues: "io, gpu" };

  it("reads optional outputs and the fair-share queue list", () => {
    const farm = farmFromStack("x", "eu-west-1", stack({ ...complete, SpotGpuQueue: "gpu", SuccessTemplate: "ok", FailureTemplate: "ko" }));
    assert.deepEqual(farm.fairShareQueues, ["io", "gpu"]);
    assert.equal(farm.queues.spotGpu, "gpu");
    assert.deepEqual(farm.notification, { successTemplate: "ok", failureTemplate: "ko" });
  });

  it("refuses stacks that are not ready or lack what the CLI needs, saying to redeploy", () => {
    assert.throws(() => farmFromStack("x", "eu-west-1", stack(complete, "ROLLBACK_COMPLETE")), /not ready \(stack status ROLLBACK_COMPLETE\)/);
    const { IoQueue: _, ...noIo } = complete;
    assert.throws(() => farmFromStack("x", "eu-west-1", stack(noIo)), /lacks the stack output "IoQueue": redeploy it with 'brender farm deploy x'/);
    assert.throws(() => farmFromStack("x", "eu-west-1", stack({ ...complete, JobDefinitions: "4.2.0" })), /unreadable "JobDefinitions" output \(not JSON/);
    assert.throws(() => farmFromStack("x", "eu-west-1", stack({ ...complete, JobDefinitions: '{"latest":"arn"}' })), /"latest" is not a Blender version/);
    assert.throws(() => farmFromStack("x", "eu-west-1", stack({ ...complete, JobDefinitions: "{}" })), /no Blender version is deployed/);
  });
});

describe("renderQueue", () => {
  it("names the queue kinds a farm has when the wanted one is missing", () => {
    const farm = FarmResources.parse({
      name: "x",
      region: "eu-west-1",
      bucket: "b",
      queues: { io: "io", onDemandCpu: "od" },
      jobDefinitions: [{ blenderVersion: "4.2.0", arn: "arn:jd" }],
      notification: {},
      logGroup: "/l",
    });
    assert.equal(renderQueue(farm, "on-demand-cpu"), "od");
    assert.throws(
      () => renderQueue(farm, "spot-cpu"),
      (error: unknown) => error instanceof UserInputError && /Farm "x" has no spot-cpu queue: use --queue on-demand-cpu/.test(error.message),
    );
  });
});
