import { describe, it } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import {
  chooseBlenderVersion,
  IO_RESOURCES,
  priorityApplies,
  RETRY_RULES,
  submitJobInputSchema,
  TAG_KEYS,
  toSubmitJobInputs,
  type BatchSubmitOptions,
} from "../../../src/backends/aws/batch-submission.ts";
import { FarmResources, QUEUE_KINDS, type QueueKind } from "../../../src/backends/aws/farm-resources.ts";
import { SERVER_PRESETS } from "../../../src/backends/aws/server-sizes.ts";
import { dryRun } from "../../../src/backends/aws/submit.ts";
import { compileRenderPlan } from "../../../src/domain/render-plan.ts";
import { parseRenderPayload, type RenderJobPayloadInput } from "../../../src/domain/render-payload.ts";
import { UserInputError } from "../../../src/errors.ts";

const farm: FarmResources = FarmResources.parse({
  name: "studio",
  region: "eu-west-1",
  bucket: "brender-studio-bucket",
  queues: {
    io: "arn:aws:batch:eu-west-1:123456789012:job-queue/brender-studio-io",
    spotCpu: "arn:aws:batch:eu-west-1:123456789012:job-queue/brender-studio-spot-cpu",
    onDemandCpu: "arn:aws:batch:eu-west-1:123456789012:job-queue/brender-studio-ondemand-cpu",
    spotGpu: "arn:aws:batch:eu-west-1:123456789012:job-queue/brender-studio-spot-gpu",
    onDemandGpu: "arn:aws:batch:eu-west-1:123456789012:job-queue/brender-studio-ondemand-gpu",
  },
  jobDefinitions: [
    { blenderVersion: "3.6.0", arn: "arn:aws:batch:eu-west-1:123456789012:job-definition/brender-studio-blender-3-6-0:1" },
    { blenderVersion: "4.2.0", arn: "arn:aws:batch:eu-west-1:123456789012:job-definition/brender-studio-blender-4-2-0:3" },
  ],
  notification: {},
  logGroup: "/brender/studio",
});

function payload(overrides: Partial<RenderJobPayloadInput> = {}) {
  return parseRenderPayload({
    schemaVersion: 1,
    renderId: "r-20261122-013347-767351",
    project: { name: "spring", blendFile: "shots/010.blend" },
    type: "animation",
    frames: "1-100",
    split: { arraySize: 10 },
    ...overrides,
  });
}

function planFor(overrides: Partial<RenderJobPayloadInput> = {}) {
  return compileRenderPlan(payload(overrides), { bucketKey: "spring/projects/abc/", bucketName: farm.bucket, storage: `s3://${farm.bucket}` });
}

const options: BatchSubmitOptions = {
  queue: "spot-cpu",
  resources: SERVER_PRESETS.medium,
  attempts: 3,
  timeoutSeconds: 900,
  blenderVersion: "4.2.0",
  tags: { renderId: "r-20261122-013347-767351", project: "spring" },
};

function env(input: { containerOverrides?: { environment?: { name?: string; value?: string }[] } }): Record<string, string> {
  return Object.fromEntries((input.containerOverrides?.environment ?? []).map((pair) => [pair.name!, pair.value!]));
}

describe("toSubmitJobInputs", () => {
  it("turns the plan into copy -> render -> upload with placeholders, queues, resources and retry rules", () => {
    const inputs = dryRun(planFor(), farm, options);
    assert.deepEqual(
      inputs.map((input) => [input.jobName, input.jobQueue, input.dependsOn]),
      [
        ["r-20261122-013347-767351-copy", farm.queues.io, undefined],
        ["r-20261122-013347-767351-render", farm.queues.spotCpu, [{ jobId: "r-20261122-013347-767351-copy" }]],
        // The upload starts only after the whole render array: no container waits (a failed render is
        // published by the farm's event rule and publisher job instead).
        ["r-20261122-013347-767351-upload", farm.queues.io, [{ jobId: "r-20261122-013347-767351-render" }]],
      ],
    );
    for (const input of inputs) assert.equal(env(input)["BRENDER_AWAIT_JOBS"], undefined, "nothing polls Batch from a container");
    const [copy, render, upload] = inputs;
    assert.deepEqual(render!.arrayProperties, { size: 10 });
    assert.equal(copy!.arrayProperties, undefined);
    assert.equal(upload!.arrayProperties, undefined);
    assert.deepEqual(render!.containerOverrides!.resourceRequirements, [
      { type: "VCPU", value: "8" },
      { type: "MEMORY", value: "30720" },
    ]);
    for (const io of [copy!, upload!]) {
      assert.deepEqual(io.containerOverrides!.resourceRequirements, [
        { type: "VCPU", value: String(IO_RESOURCES.vcpus) },
        { type: "MEMORY", value: String(IO_RESOURCES.memoryMiB) },
      ]);
      assert.equal(io.timeout, undefined);
    }
    assert.deepEqual(render!.retryStrategy, { attempts: 3, evaluateOnExit: RETRY_RULES.map((rule) => ({ ...rule })) });
    assert.deepEqual(render!.timeout, { attemptDurationSeconds: 900 });
    assert.equal(new Set(inputs.map((input) => input.jobDefinition)).size, 1);
    assert.equal(render!.jobDefinition, farm.jobDefinitions[1]!.arn);
    assert.equal(env(copy!)["JOB_ACTION_TYPE"], "copy_efs");
    assert.equal(env(copy!)["BUCKET_KEY"], "spring/projects/abc/");
    assert.equal(env(render!)["JOB_ACTION_TYPE"], "render");
    assert.equal(env(upload!)["JOB_ACTION_TYPE"], "upload_render_output");
    assert.deepEqual(JSON.parse(env(render!)["BRENDER_JOB_PAYLOAD"]!), payload());
    for (const input of inputs) {
      assert.equal(input.propagateTags, true);
      assert.equal(input.tags![TAG_KEYS.renderId], "r-20261122-013347-767351");
      assert.equal(input.tags![TAG_KEYS.project], "spring");
      assert.equal(input.tags![TAG_KEYS.farm], "studio");
      assert.equal(input.schedulingPriorityOverride, undefined, "no scheduling policy on these queues");
      assert.equal(input.shareIdentifier, undefined);
    }
  });

  it("keeps copy and upload on the small CPU queue when rendering on GPU", () => {
    const inputs = toSubmitJobInputs(planFor(), farm, { ...options, queue: "on-demand-gpu", resources: SERVER_PRESETS["gpu-4"] });
    assert.deepEqual(inputs.map((input) => input.jobQueue), [farm.queues.io, farm.queues.onDemandGpu, farm.queues.io]);
    assert.deepEqual(inputs[1]!.containerOverrides!.resourceRequirements!.find((r) => r.type === "GPU"), { type: "GPU", value: "4" });
    for (const io of [inputs[0]!, inputs[2]!]) {
      assert.equal(io.containerOverrides!.resourceRequirements!.some((r) => r.type === "GPU"), false);
    }
  });

  it("sends a single render as a plain job, and a python render as custom_render_python", () => {
    const single = toSubmitJobInputs(planFor({ split: { arraySize: 1 } }), farm, options);
    assert.equal(single[1]!.arrayProperties, undefined);
    const python = toSubmitJobInputs(
      planFor({ type: "python", python: { script: "tools/bake.py" }, split: { arraySize: 2 } }),
      farm,
      options,
    );
    assert.equal(env(python[1]!)["JOB_ACTION_TYPE"], "custom_render_python");
    assert.deepEqual(python[1]!.arrayProperties, { size: 2 });
  });

  it("sets priority and a share identifier only on queues with a scheduling policy", () => {
    const fair = { ...farm, fairShareQueues: [farm.queues.spotCpu!] };
    const inputs = toSubmitJobInputs(planFor(), fair, { ...options, priority: 70, tags: { ...options.tags, project: "spring_v2.1" } });
    assert.equal(inputs[1]!.schedulingPriorityOverride, 70);
    assert.equal(inputs[1]!.shareIdentifier, "springv21");
    assert.equal(inputs[0]!.schedulingPriorityOverride, undefined, "the io queue has no policy");
    assert.equal(priorityApplies(fair, "spot-cpu"), true);
    assert.equal(priorityApplies(fair, "on-demand-cpu"), false);
    assert.equal(toSubmitJobInputs(planFor(), farm, { ...options, priority: 70 })[1]!.schedulingPriorityOverride, undefined);
  });

  it("refuses options AWS Batch would refuse, or that would never run, with a fix", () => {
    const refuses = (change: Partial<BatchSubmitOptions>, pattern: RegExp, plan = planFor()) =>
      assert.throws(() => toSubmitJobInputs(plan, farm, { ...options, ...change }), (error: unknown) => {
        assert.ok(error instanceof UserInputError, String(error));
        assert.match(error.message, pattern);
        assert.doesNotMatch(error.message, /\n/);
        return true;
      });
    refuses({ attempts: 0 }, /--attempts 0 .*1 to 10/);
    refuses({ attempts: 11 }, /--attempts 11/);
    refuses({ timeoutSeconds: 59 }, /at least 60 seconds/);
    refuses({ priority: 10_000 }, /--priority 10000 .*0 to 9999/);
    refuses({ blenderVersion: "4.1.0" }, /Blender 4\.1\.0 is not deployed on farm "studio" \(it has 3\.6\.0, 4\.2\.0\)/);
    refuses({ queue: "spot-gpu", resources: SERVER_PRESETS.small }, /--queue spot-gpu needs GPUs.*gpu-1/);
    refuses({ queue: "spot-cpu", resources: SERVER_PRESETS["gpu-1"] }, /--queue spot-gpu/);
    const noGpuFarm = { ...farm, queues: { io: farm.queues.io, spotCpu: farm.queues.spotCpu } };
    assert.throws(
      () => toSubmitJobInputs(planFor(), noGpuFarm, { ...options, queue: "spot-gpu", resources: SERVER_PRESETS["gpu-1"] }),
      /Farm "studio" has no spot-gpu queue: use --queue spot-cpu/,
    );
    const [copy, render, upload] = planFor();
    assert.throws(() => toSubmitJobInputs([copy!, { ...render!, arraySize: 10_001 }, upload!], farm, options), /10001 children.*1 to 10000/);
    assert.throws(() => toSubmitJobInputs([copy!, { ...render!, name: "bad name!" }, upload!], farm, options), /"bad name!" is not valid/);
    assert.throws(() => toSubmitJobInputs([copy!, { ...render!, name: "x".repeat(129) }, upload!], farm, options), /is not valid for AWS Batch/);
    assert.throws(() => toSubmitJobInputs([copy!, { ...render!, name: copy!.name }, upload!], farm, options), /appears twice/);
    assert.throws(() => toSubmitJobInputs([render!, copy!, upload!], farm, options), /not submitted before it/);
    const huge = { ...render!, environment: { ...render!.environment, BIG: "x".repeat(31_000) } };
    assert.throws(() => toSubmitJobInputs([copy!, huge, upload!], farm, options), /over SubmitJob's limit of 30720.*30 KiB/);
    const reserved = { ...render!, environment: { ...render!.environment, AWS_BATCH_JOB_ID: "1" } };
    assert.throws(() => toSubmitJobInputs([copy!, reserved, upload!], farm, options), /AWS_BATCH are reserved/);
  });

  it("produces inputs valid against SubmitJob's documented shape for any valid render and options", () => {
    const arbitraryPayload = fc.record({
      renderId: fc.stringMatching(/^[a-z0-9][a-z0-9-]{2,62}$/),
      project: fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/),
      last: fc.integer({ min: 1, max: 20_000 }),
      arraySize: fc.integer({ min: 1, max: 10_000 }),
      python: fc.boolean(),
    });
    const arbitraryOptions = fc.record({
      queue: fc.constantFrom<QueueKind>(...QUEUE_KINDS),
      vcpus: fc.integer({ min: 1, max: 192 }),
      memoryMiB: fc.integer({ min: 512, max: 786_432 }),
      gpus: fc.integer({ min: 1, max: 8 }),
      attempts: fc.integer({ min: 1, max: 10 }),
      timeoutSeconds: fc.integer({ min: 60, max: 14 * 24 * 3600 }),
      blenderVersion: fc.constantFrom("3.6.0", "4.2.0"),
      priority: fc.option(fc.integer({ min: 0, max: 9999 }), { nil: undefined }),
      fairShare: fc.boolean(),
    });
    fc.assert(
      fc.property(arbitraryPayload, arbitraryOptions, (p, o) => {
        const renderPayload = payload({
          renderId: p.renderId,
          project: { name: p.project, blendFile: "a.blend" },
          frames: `1-${p.last}`,
          split: { arraySize: Math.min(p.arraySize, p.last) },
          ...(p.python ? { type: "python" as const, python: { script: "run.py" } } : {}),
        });
        const plan = compileRenderPlan(renderPayload, { bucketKey: `${p.project}/projects/${p.renderId}/scene.blend`, bucketName: farm.bucket });
        const gpu = o.queue.endsWith("gpu");
        const inputs = toSubmitJobInputs(plan, o.fairShare ? { ...farm, fairShareQueues: Object.values(farm.queues) } : farm, {
          queue: o.queue,
          resources: { vcpus: Math.max(o.vcpus, gpu ? o.gpus : 1), memoryMiB: o.memoryMiB, gpus: gpu ? o.gpus : 0 },
          attempts: o.attempts,
          timeoutSeconds: o.timeoutSeconds,
          blenderVersion: o.blenderVersion,
          tags: { renderId: p.renderId, project: p.project },
          priority: o.priority,
        });
        assert.equal(inputs.length, 3);
        for (const input of inputs) {
          const result = submitJobInputSchema.safeParse(JSON.parse(JSON.stringify(input)));
          assert.ok(result.success, JSON.stringify(result.error?.issues));
        }
        assert.equal(new Set(inputs.map((input) => input.jobName)).size, 3);
        const size = Math.min(p.arraySize, p.last);
        assert.deepEqual(inputs[1]!.arrayProperties, size >= 2 ? { size } : undefined);
      }),
      { numRuns: 150 },
    );
  });
});

describe("submitJobInputSchema", () => {
  const valid = () => JSON.parse(JSON.stringify(dryRun(planFor(), farm, options)[1]!)) as Record<string, unknown>;

  it("accepts a complete, valid SubmitJob request", () => {
    assert.equal(submitJobInputSchema.safeParse(valid()).success, true);
  });

  it("rejects each documented violation", () => {
    const cases: [string, (input: Record<string, any>) => void][] = [
      ["name with a space", (input) => (input["jobName"] = "a b")],
      ["name starting with -", (input) => (input["jobName"] = "-abc")],
      ["name of 129 characters", (input) => (input["jobName"] = "a".repeat(129))],
      ["array of 1", (input) => (input["arrayProperties"] = { size: 1 })],
      ["array of 10,001", (input) => (input["arrayProperties"] = { size: 10_001 })],
      ["0 attempts", (input) => (input["retryStrategy"].attempts = 0)],
      ["11 attempts", (input) => (input["retryStrategy"].attempts = 11)],
      ["6 retry rules", (input) => (input["retryStrategy"].evaluateOnExit = Array(6).fill({ onExitCode: "1", action: "EXIT" }))],
      ["exit-code glob with letters", (input) => (input["retryStrategy"].evaluateOnExit = [{ onExitCode: "1x", action: "EXIT" }])],
      ["reason glob with * inside", (input) => (input["retryStrategy"].evaluateOnExit = [{ onReason: "a*b", action: "EXIT" }])],
      ["unknown action", (input) => (input["retryStrategy"].evaluateOnExit = [{ onExitCode: "1", action: "STOP" }])],
      ["timeout of 59 s", (input) => (input["timeout"] = { attemptDurationSeconds: 59 })],
      ["21 dependencies", (input) => (input["dependsOn"] = Array.from({ length: 21 }, (_, i) => ({ jobId: `j${i}` })))],
      ["priority 10000", (input) => (input["schedulingPriorityOverride"] = 10_000)],
      ["fractional memory", (input) => (input["containerOverrides"].resourceRequirements = [{ type: "MEMORY", value: "1.5" }])],
      ["zero vCPUs", (input) => (input["containerOverrides"].resourceRequirements = [{ type: "VCPU", value: "0" }])],
      ["unknown resource", (input) => (input["containerOverrides"].resourceRequirements = [{ type: "TPU", value: "1" }])],
      ["reserved env name", (input) => input["containerOverrides"].environment.push({ name: "AWS_BATCH_X", value: "1" })],
      ["duplicate env name", (input) => input["containerOverrides"].environment.push({ name: "JOB_ACTION_TYPE", value: "x" })],
      ["aws: tag", (input) => (input["tags"] = { "aws:owner": "me" })],
      ["tag value of 257", (input) => (input["tags"] = { k: "v".repeat(257) })],
      ["51 tags", (input) => (input["tags"] = Object.fromEntries(Array.from({ length: 51 }, (_, i) => [`k${i}`, "v"])))],
      ["request over 30 KiB", (input) => input["containerOverrides"].environment.push({ name: "BIG", value: "x".repeat(30_720) })],
      ["unknown field", (input) => (input["jobname"] = "x")],
      ["share identifier with -", (input) => (input["shareIdentifier"] = "a-b")],
    ];
    for (const [label, breakIt] of cases) {
      const input = valid();
      breakIt(input);
      assert.equal(submitJobInputSchema.safeParse(input).success, false, label);
    }
  });
});

describe("chooseBlenderVersion", () => {
  const deployed = ["3.6.0", "4.2.0"];

  it("takes the nearest deployed version at or above the file's, warning when the release differs", () => {
    const older = chooseBlenderVersion("3.4", deployed, undefined, "studio");
    assert.equal(older.version, "3.6.0");
    assert.match(older.warning!, /saved with Blender 3\.4; rendering with 3\.6\.0.*'brender farm deploy studio --blender 3\.4\.0'/);
    assert.deepEqual(chooseBlenderVersion("3.6", deployed), { version: "3.6.0" });
    assert.deepEqual(chooseBlenderVersion("4.2", deployed), { version: "4.2.0" });
    assert.equal(chooseBlenderVersion("4.0", deployed).version, "4.2.0");
    assert.equal(chooseBlenderVersion("2.93", deployed).version, "3.6.0");
    assert.deepEqual(chooseBlenderVersion("4.2", ["4.2.0", "4.2.3", "4.1.1"]), { version: "4.2.3" }, "newest patch of the release");
  });

  it("refuses a file newer than every deployed version, naming what to deploy", () => {
    assert.throws(
      () => chooseBlenderVersion("4.4", deployed, undefined, "studio"),
      (error: unknown) =>
        error instanceof UserInputError &&
        /saved with Blender 4\.4, newer than every version on farm "studio" \(3\.6\.0, 4\.2\.0\).*--blender 4\.4\.0/.test(error.message),
    );
    assert.throws(() => chooseBlenderVersion("5.0", []), /no Blender version deployed/);
  });

  it("uses a requested version only when deployed, warning when it is older than the file", () => {
    assert.deepEqual(chooseBlenderVersion("3.4", deployed, "4.2.0"), { version: "4.2.0" });
    assert.deepEqual(chooseBlenderVersion("3.4", deployed, "4.2"), { version: "4.2.0" });
    const forced = chooseBlenderVersion("4.4", deployed, "4.2.0");
    assert.equal(forced.version, "4.2.0");
    assert.match(forced.warning!, /newer than the requested 4\.2\.0/);
    assert.throws(
      () => chooseBlenderVersion("3.4", deployed, "4.1.0", "studio"),
      (error: unknown) => error instanceof UserInputError && /Blender 4\.1\.0 is not deployed on farm "studio": use --blender with one of 3\.6\.0, 4\.2\.0/.test(error.message),
    );
    assert.throws(() => chooseBlenderVersion("3.4", deployed, "4.2.1"), /not deployed/);
    assert.throws(() => chooseBlenderVersion("3.4", deployed, "latest"), /--blender "latest" is not a Blender version/);
  });

  it("never picks a release older than the file when one at or above exists (property)", () => {
    const version = fc.tuple(fc.integer({ min: 2, max: 6 }), fc.integer({ min: 0, max: 99 }), fc.integer({ min: 0, max: 20 }));
    fc.assert(
      fc.property(fc.uniqueArray(version, { minLength: 1, maxLength: 6, selector: (v) => v.join(".") }), version, (deployedVersions, file) => {
        const texts = deployedVersions.map((v) => v.join("."));
        const fileText = `${file[0]}.${file[1]}`;
        const atOrAbove = deployedVersions.filter((v) => v[0] > file[0] || (v[0] === file[0] && v[1] >= file[1]));
        if (atOrAbove.length === 0) {
          assert.throws(() => chooseBlenderVersion(fileText, texts), UserInputError);
          return;
        }
        const chosen = chooseBlenderVersion(fileText, texts);
        const [major, minor] = chosen.version.split(".").map(Number) as [number, number];
        const lowest = atOrAbove.map((v) => v[0] * 1000 + v[1]).sort((a, b) => a - b)[0];
        assert.equal(major * 1000 + minor, lowest);
        assert.equal(chosen.warning === undefined, major === file[0] && minor === file[1]);
      }),
    );
  });
});
