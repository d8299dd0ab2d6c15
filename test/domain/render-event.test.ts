import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { finishedRenderEvent, renderEventSchema, type FinishedRender } from "../../src/domain/render-event.ts";

const finished: FinishedRender = {
  renderId: "r-abc",
  project: "Spring",
  blendFile: "spring.blend",
  status: "succeeded",
  framesExpected: 10,
  framesRendered: 10,
  missingFrames: [],
  startedAt: "2026-01-01T10:00:00.000Z",
  finishedAt: "2026-01-01T10:05:00.000Z",
  renderSeconds: 300,
  outputs: { location: "/tmp/bucket/Spring/output/r-abc/", zip: "https://x.example.com/output.zip" },
};
const at = { id: "evt-1", createdAt: "2026-01-01T10:05:01.000Z" };

describe("render events", () => {
  it("a success, a failure and a cancellation each get their type, and parse with the versioned schema", () => {
    const ok = finishedRenderEvent(finished, { ...at, serverUrl: "http://127.0.0.1:8080/" });
    assert.equal(ok.type, "render.succeeded");
    assert.equal(ok.schemaVersion, 1);
    assert.equal(ok.render.url, "http://127.0.0.1:8080/#/renders/r-abc");
    assert.deepEqual(ok.render.frames, { total: 10, done: 10, failed: 0 });
    renderEventSchema.parse(ok);

    const failed = finishedRenderEvent({ ...finished, status: "failed", framesRendered: 7, missingFrames: [9, 8, 10, 8], reason: "Blender crashed" }, at);
    assert.equal(failed.type, "render.failed");
    assert.deepEqual(failed.render.missingFrames, [8, 9, 10]);
    assert.equal(failed.render.frames.failed, 3);
    assert.equal(failed.render.url, undefined);
    renderEventSchema.parse(failed);

    const cancelled = finishedRenderEvent({ ...finished, status: "failed", reason: "render: Cancelled by user" }, at);
    assert.equal(cancelled.type, "render.cancelled");
    assert.equal(cancelled.render.status, "cancelled");
    renderEventSchema.parse(cancelled);
  });
});
