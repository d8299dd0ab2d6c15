import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { readableLine, readableLog } from "../../web/src/log-lines.ts";

const utc = (date: Date) => date.toISOString().slice(11, 19);

describe("the log panel's lines", () => {
  it("shows pino lines as time, level and message, with their own fields in words", () => {
    assert.deepEqual(readableLine('{"level":30,"time":1796616939332,"pid":1,"hostname":"vm","action":"upload_render_output","msg":"job started"}', utc), { time: "04:15:39", level: "info", message: "job started" });
    assert.deepEqual(
      readableLine('{"level":50,"time":1796616939332,"pid":1,"hostname":"vm","action":"render","child":0,"files":9,"err":{"type":"Error","message":"disk full","stack":"Error: disk full\\n at x"},"msg":"upload failed"}', utc),
      { time: "04:15:39", level: "error", message: "upload failed · files=9 · disk full" },
    );
  });

  it("folds progress events into words, failures and warnings with their level", () => {
    const at = '"at":"2026-12-07T04:15:26.323Z"';
    assert.deepEqual(readableLine(`{"type":"frame_finished","frame":1,"file":"/w/frame_0001.png","seconds":1.387,"peakMemoryMb":255.2,${at}}`, utc), { time: "04:15:26", level: "info", message: "frame 1 done in 1.4 s, peak memory 255 MB" });
    assert.deepEqual(readableLine(`{"type":"frame_failed","frame":3,"reason":"Blender crashed (SIGSEGV)",${at}}`, utc), { time: "04:15:26", level: "error", message: "frame 3 failed: Blender crashed (SIGSEGV)" });
    assert.deepEqual(readableLine(`{"type":"warning","message":"no GPU; rendering on the CPU",${at}}`, utc), { time: "04:15:26", level: "warn", message: "no GPU; rendering on the CPU" });
    assert.equal(readableLine(`{"type":"render_settings","scene":"Demo","engine":"CYCLES","fps":24,"resolution":{"x":64,"y":36,"percentage":100},"format":"PNG","device":"CPU",${at}}`, utc).message, "rendering scene Demo with CYCLES on the CPU, 64x36 at 100%, PNG, 24 fps");
    assert.equal(readableLine(`{"type":"child_finished","child":1,"status":"failed","framesDone":0,"seconds":6.2,"reason":"frame 3 failed",${at}}`, utc).message, "child 1 failed: 0 frames in 6.2 s (frame 3 failed)");
  });

  it("keeps Blender's own lines and anything else as they are", () => {
    assert.deepEqual(readableLine("Fra:1 Mem:12.00M | Time:00:00.10 | Rendering 1 / 4 samples", utc), { level: "", message: "Fra:1 Mem:12.00M | Time:00:00.10 | Rendering 1 / 4 samples" });
    assert.deepEqual(readableLine('{"not":"an event"}', utc), { level: "", message: '{"not":"an event"}' });
    assert.deepEqual(readableLine("{broken json", utc), { level: "", message: "{broken json" });
  });

  it("reads a frame's samples as one line: the last sample reached", () => {
    const log = [
      '{"type":"frame_started","frame":1,"at":"2026-12-07T04:15:24.941Z"}',
      '{"type":"frame_progress","frame":1,"sample":0,"samples":4,"at":"2026-12-07T04:15:24.991Z"}',
      '{"type":"frame_progress","frame":1,"sample":4,"samples":4,"at":"2026-12-07T04:15:25.130Z"}',
      "Blender says something",
      '{"type":"frame_progress","frame":2,"sample":1,"samples":4,"at":"2026-12-07T04:15:26.130Z"}',
    ].join("\n");
    assert.deepEqual(readableLog(log, utc).map((line) => line.message), ["frame 1 started", "frame 1: sample 4/4", "Blender says something", "frame 2: sample 1/4"]);
  });
});
