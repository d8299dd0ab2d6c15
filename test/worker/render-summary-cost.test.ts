/** What the upload job reads from the children's events to price the render (pure). */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import type { ProgressEvent } from "../../src/domain/progress-events.ts";
import { summarizeEvents } from "../../src/worker/render-summary.ts";

const at = "2026-12-07T07:00:00.000Z";

describe("summarizeEvents: CPU time and hosts", () => {
  it("sums each attempt's last CPU report, a crashed attempt's last frame included, and keys hosts by child and attempt", () => {
    const events: ProgressEvent[] = [
      // Child 0, attempt 1: one frame, then Blender died (no child_finished).
      { type: "child_started", at, child: 0, frames: "1-2", frameCount: 2, attempt: 1, host: { instanceType: "c6i.large", spot: true } },
      { type: "frame_finished", at, frame: 1, file: "f1", seconds: 2, cpuSeconds: 3 },
      // Attempt 2 renders the rest: its own process, its own clock.
      { type: "child_started", at, child: 0, frames: "1-2", frameCount: 2, attempt: 2, host: { instanceType: "m6i.large", spot: false } },
      { type: "frame_finished", at, frame: 1, file: "f1", reused: true },
      { type: "frame_finished", at, frame: 2, file: "f2", seconds: 2, cpuSeconds: 4.5 },
      { type: "child_finished", at, child: 0, status: "succeeded", framesDone: 2, seconds: 5, cpuSeconds: 5 },
      { type: "child_started", at, child: 1, frames: "3", frameCount: 1, attempt: 1 },
      { type: "frame_finished", at, frame: 3, file: "f3", seconds: 2, cpuSeconds: 4 },
      { type: "child_finished", at, child: 1, status: "succeeded", framesDone: 1, seconds: 3, cpuSeconds: 4 },
    ];
    const summary = summarizeEvents(events);
    assert.equal(summary.cpuSeconds, 3 + 5 + 4);
    assert.deepEqual([...summary.hosts], [["0:1", { instanceType: "c6i.large", spot: true }], ["0:2", { instanceType: "m6i.large", spot: false }]]);
  });

  it("has no CPU time when no child reported one (every frame reused)", () => {
    const summary = summarizeEvents([
      { type: "child_started", at, child: 0, frames: "1", frameCount: 1 },
      { type: "frame_finished", at, frame: 1, file: "f1", reused: true },
      { type: "child_finished", at, child: 0, status: "succeeded", framesDone: 1, seconds: 0.1 },
    ]);
    assert.equal(summary.cpuSeconds, undefined);
    assert.equal(summary.hosts.size, 0);
  });
});
