import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { actualCostOfJobs, actualCostOfRender, hostKey, type AttemptHosts } from "../../src/cost/aws-actual-cost.ts";
import type { RenderDescription } from "../../src/backends/aws/monitor.ts";
import { AwsRenderRecord } from "../../src/backends/aws/render-record.ts";

const t0 = Date.parse("2026-12-07T05:00:00Z");
const hour = 3_600_000;

function record(queue: "spot-cpu" | "on-demand-cpu") {
  const renderId = "r-20261207-050000-abcdef";
  return AwsRenderRecord.parse({
    renderId,
    farm: "test",
    region: "us-east-1",
    storage: "s3://bucket",
    bucketKey: "p/projects/x.manifest.json",
    submittedAt: new Date(t0).toISOString(),
    payload: { schemaVersion: 1, renderId, project: { name: "p", blendFile: "s.blend" }, type: "animation", mode: "auto", frames: "1-4", split: { arraySize: 2 } },
    jobs: [
      { name: "c", action: "copy_efs", jobId: "j-copy", arraySize: 1 },
      { name: "r", action: "render", jobId: "j-render", arraySize: 2 },
      { name: "u", action: "upload_render_output", jobId: "j-upload", arraySize: 1 },
    ],
    submitOptions: { queue, resources: { vcpus: 2, memoryMiB: 7168, gpus: 0 }, attempts: 3, timeoutSeconds: 3600, blenderVersion: "4.2.0" },
  });
}

// Shaped as describeRender(…, { children: true }) returns DescribeJobs' answers.
const described: RenderDescription = {
  status: "SUCCEEDED",
  jobs: [
    { name: "c", action: "copy_efs", jobId: "j-copy", status: "SUCCEEDED", arraySize: 1, attempts: [{ startedAt: t0, stoppedAt: t0 + 0.05 * hour }] },
    {
      name: "r", action: "render", jobId: "j-render", status: "SUCCEEDED", arraySize: 2, attempts: [],
      children: [
        // Reclaimed once, then ran to the end: both attempts are billed.
        { index: 0, jobId: "j-render:0", status: "SUCCEEDED", attempts: [{ startedAt: t0, stoppedAt: t0 + 0.25 * hour }, { startedAt: t0 + 0.3 * hour, stoppedAt: t0 + hour }] },
        { index: 1, jobId: "j-render:1", status: "SUCCEEDED", attempts: [{ startedAt: t0, stoppedAt: t0 + hour }] },
      ],
    },
    { name: "u", action: "upload_render_output", jobId: "j-upload", status: "SUCCEEDED", arraySize: 1, attempts: [{ startedAt: t0 + hour, stoppedAt: t0 + 1.05 * hour }] },
  ],
};

describe("actual cost of an AWS render from its described jobs", () => {
  it("bills every child attempt and the io jobs from Batch's timestamps", () => {
    const cost = actualCostOfRender(record("on-demand-cpu"), described, t0 + 2 * hour);
    assert.equal(cost.attempts, 3);
    assert.ok(Math.abs(cost.childHours - (0.25 + 0.7 + 1)) < 1e-9);
    assert.ok(Math.abs(cost.ioHours - 0.1) < 1e-9);
    // 1.95 child-hours of a 2-vCPU child: c6i.large ($0.085) to m7i.large ($0.1008), plus the io jobs.
    assert.ok(cost.usd.low >= 1.95 * 0.085 && cost.usd.high <= 1.95 * 0.1008 + 0.1 * 0.1008);
  });

  it("spot costs less than on demand for the same timings; a running child is billed up to now", () => {
    const spot = actualCostOfRender(record("spot-cpu"), described, t0 + 2 * hour);
    const onDemand = actualCostOfRender(record("on-demand-cpu"), described, t0 + 2 * hour);
    assert.ok(spot.usd.expected < onDemand.usd.expected);
    const running: RenderDescription = {
      status: "RUNNING",
      jobs: [{ ...described.jobs[1]!, status: "PENDING", children: [{ index: 0, jobId: "j-render:0", status: "RUNNING", startedAt: t0, attempts: [] }] }],
    };
    assert.ok(Math.abs(actualCostOfRender(record("spot-cpu"), running, t0 + 0.5 * hour).childHours - 0.5) < 1e-9);
  });

  it("prices each attempt on the host its worker reported, the rest at the queue's range", () => {
    const child = { attempts: [{ startedAt: t0, stoppedAt: t0 + hour }] };
    const priced = (hosts?: AttemptHosts) =>
      actualCostOfJobs({ queue: "spot-cpu", child: { vcpus: 2, gpus: 0 }, region: "us-east-1", renderChildren: [child, child], ioJobs: [], ...(hosts ? { hosts } : {}), now: t0 + 2 * hour });
    const unknown = priced();
    assert.equal(unknown.attemptsWithHost, 0);
    // Both children on on-demand c6i.large (2 vCPUs, $0.085 an hour, the whole host): exactly $0.17, not a spot range.
    const onDemand = new Map([[hostKey(0, 1), { instanceType: "c6i.large", spot: false }], [hostKey(1, 1), { instanceType: "c6i.large", spot: false }]]);
    const known = priced(onDemand);
    assert.equal(known.attemptsWithHost, 2);
    assert.ok(Math.abs(known.usd.low - 0.17) < 1e-9 && Math.abs(known.usd.high - 0.17) < 1e-9, JSON.stringify(known.usd));
    // Half a c6i.xlarge (4 vCPUs, $0.17) costs the same per child; a second attempt without a host stays a range.
    const shared = priced(new Map([[hostKey(0, 1), { instanceType: "c6i.xlarge", spot: false }]]));
    assert.equal(shared.attemptsWithHost, 1);
    assert.ok(shared.usd.low < shared.usd.high);
    assert.ok(Math.abs(shared.usd.low - (0.085 + unknown.usd.low / 2)) < 1e-9);
  });
});
