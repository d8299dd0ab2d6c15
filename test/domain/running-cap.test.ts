import { describe, it } from "node:test";
import assert from "node:assert/strict";
import {
  arrayParentOf, billedAttemptsOf, costCapReason, costCapSettingSchema, spendSoFar, type DescribedRun,
} from "../../src/domain/cost/running-cap.ts";

const t0 = Date.parse("2026-12-07T05:00:00Z");
const minute = 60_000;

// Children as DescribeJobs answers them (its JobDetail fields, epoch milliseconds).
const children: (DescribedRun & Record<string, unknown>)[] = [
  // Finished: one attempt of 30 minutes.
  {
    jobId: "p:0", jobName: "r", jobQueue: "q", jobDefinition: "d", status: "SUCCEEDED", createdAt: t0, startedAt: t0, stoppedAt: t0 + 30 * minute,
    attempts: [{ startedAt: t0, stoppedAt: t0 + 30 * minute }],
  },
  // Reclaimed spot host ("Host EC2 … terminated.") after 10 minutes, then running for 20 minutes on a second host (not listed as an attempt yet).
  {
    jobId: "p:1", jobName: "r", jobQueue: "q", jobDefinition: "d", status: "RUNNING", createdAt: t0, startedAt: t0 + 15 * minute,
    attempts: [{ startedAt: t0, stoppedAt: t0 + 10 * minute }],
  },
  // Still waiting for a host: nothing billed.
  { jobId: "p:2", jobName: "r", jobQueue: "q", jobDefinition: "d", status: "RUNNABLE", createdAt: t0, attempts: [] },
];

describe("the running cost cap (pure)", () => {
  it("bills every attempt from start to stop and the running one up to now", () => {
    const now = t0 + 35 * minute;
    const spend = spendSoFar(children, 1.2, now);
    // 30 + 10 + 20 child-minutes = 1 child-hour at $1.20.
    assert.equal(spend.childSeconds, 60 * 60);
    assert.ok(Math.abs(spend.usd - 1.2) < 1e-9);
    assert.equal(spend.running, 1);
    // Ten minutes later only the running child adds: 70 child-minutes.
    assert.ok(Math.abs(spendSoFar(children, 1.2, now + 10 * minute).usd - 1.4) < 1e-9);
  });

  it("counts a running attempt Batch already lists once, not twice", () => {
    const listed: DescribedRun & Record<string, unknown> = {
      jobId: "p:0", jobName: "r", jobQueue: "q", jobDefinition: "d", status: "RUNNING", createdAt: t0, startedAt: t0, attempts: [{ startedAt: t0 }],
    };
    assert.deepEqual(billedAttemptsOf(listed), [{ startedAt: t0 }]);
    assert.equal(spendSoFar([listed], 3.6, t0 + 1000).usd, 0.001);
  });

  it("names the cap in the reason, and finds the array parent of a child's job id", () => {
    assert.equal(costCapReason(5.1234, 5), "stopped at the cost cap: spent $5.12 of $5.00");
    assert.equal(costCapReason(0.01234, 0.01), "stopped at the cost cap: spent $0.0123 of $0.0100");
    assert.equal(arrayParentOf("0c1e6a0b-4a8c-4d1b-9a7e-1f0e2d3c4b5a:17"), "0c1e6a0b-4a8c-4d1b-9a7e-1f0e2d3c4b5a");
    assert.equal(arrayParentOf("0c1e6a0b-4a8c-4d1b-9a7e-1f0e2d3c4b5a"), undefined);
    assert.equal(arrayParentOf(undefined), undefined);
  });

  it("reads the cap setting strictly", () => {
    assert.deepEqual(costCapSettingSchema.parse({ maxUsd: 5, usdPerChildHour: 0.2 }), { maxUsd: 5, usdPerChildHour: 0.2 });
    assert.equal(costCapSettingSchema.safeParse({ maxUsd: 0, usdPerChildHour: 0.2 }).success, false);
    assert.equal(costCapSettingSchema.safeParse({ maxUsd: 5, usdPerChildHour: 0.2, extra: 1 }).success, false);
  });
});
