import { describe, it } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { attemptOutcome, canTransition, dependencyVerdict, deriveParentStatus, nextChildState, type ChildEvent, type ChildState } from "../../../src/backends/local/job-state.ts";
import { JOB_STATUSES, isTerminal, summarize, type JobStatus } from "../../../src/domain/job-status.ts";

const status = fc.constantFrom(...JOB_STATUSES);

const event: fc.Arbitrary<ChildEvent> = fc.oneof(
  fc.constantFrom<ChildEvent>(
    { type: "dependencies", verdict: { kind: "ready" } },
    { type: "dependencies", verdict: { kind: "wait" } },
    { type: "dependencies", verdict: { kind: "fail", reason: "Dependent job a failed" } },
    { type: "claim" },
    { type: "start" },
    { type: "leaseExpired" },
    { type: "cancel" },
    { type: "terminate" },
  ),
  fc.record({ type: fc.constant("finish" as const), end: fc.record({ exitCode: fc.constantFrom(0, 1, 137, null), reason: fc.constantFrom("boom", undefined) }) }),
);

describe("transitions", () => {
  it("allows the AWS Batch lifecycle and forbids leaving a final status", () => {
    assert.ok(canTransition("PENDING", "RUNNABLE"));
    assert.ok(canTransition("RUNNABLE", "STARTING"));
    assert.ok(canTransition("STARTING", "RUNNING"));
    assert.ok(canTransition("RUNNING", "SUCCEEDED"));
    assert.ok(canTransition("RUNNING", "RUNNABLE"));
    assert.ok(!canTransition("PENDING", "RUNNING"));
    assert.ok(!canTransition("RUNNABLE", "SUCCEEDED"));
    for (const to of JOB_STATUSES) {
      assert.ok(!canTransition("SUCCEEDED", to));
      assert.ok(!canTransition("FAILED", to));
    }
  });

  it("random event sequences never make an illegal transition, never exceed the attempts and never leave a final status", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 5 }), fc.array(event, { maxLength: 60 }), (maxAttempts, events) => {
        let state: ChildState = { status: "PENDING", attemptsUsed: 0, maxAttempts, terminateRequested: false };
        for (const each of events) {
          const next = nextChildState(state, each);
          if (next === undefined) continue;
          if (next.status !== state.status) assert.ok(canTransition(state.status, next.status), `${state.status} -> ${next.status} on ${each.type}`);
          assert.ok(!isTerminal(state.status), "a final status never changes");
          assert.ok(next.attemptsUsed <= maxAttempts);
          if (next.status === "RUNNABLE" && each.type === "finish") assert.ok(next.attemptsUsed < maxAttempts);
          if (next.status === "FAILED") assert.ok(next.reason && next.reason.length > 0, "every failure has a reason");
          if (each.type === "leaseExpired") assert.equal(next.attemptsUsed, state.attemptsUsed, "a lost worker costs no attempt");
          state = next;
        }
      }),
    );
  });
});

describe("deriveParentStatus", () => {
  it("is the child's status for a single job", () => {
    for (const each of JOB_STATUSES) assert.equal(deriveParentStatus(summarize([each])), each);
  });

  it("is consistent with the children for any array", () => {
    fc.assert(
      fc.property(fc.array(status, { minLength: 1, maxLength: 40 }), (children) => {
        const parent = deriveParentStatus(summarize(children));
        const all = (wanted: JobStatus) => children.every((child) => child === wanted);
        const any = (wanted: JobStatus) => children.includes(wanted);
        if (all("SUCCEEDED")) assert.equal(parent, "SUCCEEDED");
        if (children.every(isTerminal) && any("FAILED")) assert.equal(parent, "FAILED");
        if (any("RUNNING")) assert.equal(parent, "RUNNING");
        if (isTerminal(parent)) assert.ok(children.every(isTerminal), "a parent ends only when every child has");
        if (parent === "SUCCEEDED") assert.ok(all("SUCCEEDED"));
        assert.ok(any(parent) || parent === "FAILED", "the parent shows a status some child has");
      }),
    );
  });

  it("keeps an array running while other children still work after one failed", () => {
    assert.equal(deriveParentStatus(summarize(["FAILED", "RUNNING", "SUCCEEDED"])), "RUNNING");
    assert.equal(deriveParentStatus(summarize(["FAILED", "RUNNABLE"])), "RUNNABLE");
    assert.equal(deriveParentStatus(summarize(["FAILED", "SUCCEEDED"])), "FAILED");
  });
});

describe("dependencyVerdict", () => {
  it("waits, runs or fails like AWS Batch", () => {
    assert.deepEqual(dependencyVerdict([], false), { kind: "ready" });
    assert.deepEqual(dependencyVerdict([{ name: "a", status: "SUCCEEDED" }], false), { kind: "ready" });
    assert.deepEqual(dependencyVerdict([{ name: "a", status: "RUNNING" }], false), { kind: "wait" });
    assert.deepEqual(dependencyVerdict([{ name: "a", status: "RUNNING" }, { name: "b", status: "FAILED" }], false), {
      kind: "fail",
      reason: "Dependent job b failed",
    });
  });

  it("with runOnDependencyFailure, runs once everything ended, whichever way", () => {
    fc.assert(
      fc.property(fc.array(fc.record({ name: fc.constantFrom("a", "b"), status }), { maxLength: 6 }), (dependencies) => {
        const verdict = dependencyVerdict(dependencies, true);
        assert.notEqual(verdict.kind, "fail");
        assert.equal(verdict.kind === "ready", dependencies.every((dependency) => isTerminal(dependency.status)));
      }),
    );
  });
});

describe("attemptOutcome", () => {
  it("retries while attempts remain, then fails naming the attempt and the reason", () => {
    const first = attemptOutcome({ end: { exitCode: 1, reason: "Blender crashed on frame 3" }, attemptsUsed: 0, maxAttempts: 3, terminateRequested: false });
    assert.deepEqual(first, { status: "RUNNABLE", attemptsUsed: 1, attemptReason: "Blender crashed on frame 3" });
    const last = attemptOutcome({ end: { exitCode: 1, reason: "Blender crashed on frame 3" }, attemptsUsed: 2, maxAttempts: 3, terminateRequested: false });
    assert.equal(last.status, "FAILED");
    assert.equal(last.status === "FAILED" && last.reason, "Attempt 3/3 failed: Blender crashed on frame 3");
  });

  it("names the exit code when no reason is given, and never retries a termination", () => {
    const outcome = attemptOutcome({ end: { exitCode: 2 }, attemptsUsed: 0, maxAttempts: 1, terminateRequested: false });
    assert.equal(outcome.status === "FAILED" && outcome.reason, "Attempt 1/1 failed: exit code 2");
    const terminated = attemptOutcome({ end: { exitCode: null }, attemptsUsed: 0, maxAttempts: 5, terminateRequested: true });
    assert.equal(terminated.status, "FAILED");
    assert.equal(terminated.status === "FAILED" && terminated.reason, "Terminated by user");
  });
});
