import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import fc from "fast-check";
import { renderManifestSchema, type RenderManifest } from "../../src/domain/render-manifest.ts";
import type { ProgressEvent } from "../../src/domain/progress-events.ts";
import { summarizeEvents } from "../../src/worker/render-summary.ts";
import { applyEvent, emptyProgress, progressView } from "../../src/domain/render-progress.ts";
import { logFileId } from "../../src/renders/local.ts";
import { tailFrom } from "../../src/server/routes/logs.ts";
import { makeScene, REPO } from "../helpers/blender.ts";
import { renderForm, startTestServer, waitForEnd, type TestServer } from "./harness.ts";

type LogFile = { id: string; action: string; child: number | null; attempt: number; status?: string; reason?: string; size: number; url: string };

/** A server whose Blender crashes when it starts rendering frame `crashAt` (test/helpers/crashing-blender.py). */
async function crashingServer(t: Parameters<typeof startTestServer>[0], crashAt: number): Promise<TestServer> {
  // The harness hands process.env to the server (and so to its workers); set just for the start.
  process.env.BLENDER_EXECUTABLE = join(REPO, "test", "helpers", "crashing-blender.py");
  process.env.CRASH_AT_FRAME = String(crashAt);
  try {
    return await startTestServer(t);
  } finally {
    delete process.env.BLENDER_EXECUTABLE;
    delete process.env.CRASH_AT_FRAME;
  }
}

describe("logs per job, child and attempt (real Blender)", () => {
  it("lists one log per child attempt of a 2-child render, a crashed child's retry as attempt 2, serves each log and its tail; frame times survive in the manifest", async (t) => {
    const server = await crashingServer(t, 3);
    const blend = await makeScene(join(server.home, "shot.blend"), { frames: [1, 4], resolution: [16, 16], samples: 1 });
    const submit = await server.api("/api/renders", { method: "POST", body: await renderForm(blend, "shot.blend", { frames: "1-4", arraySize: 2, attempts: 2 }) });
    assert.equal(submit.status, 202, await submit.clone().text());
    const { renderId } = (await submit.json()) as { renderId: string };
    const detail = (await waitForEnd(server, renderId)) as {
      status: string;
      progress: { framesDone: number; frameTimes: { frame: number; seconds: number; child?: number }[] };
      manifest: { frameTimes?: { frame: number; seconds: number }[] };
    };
    assert.equal(detail.status, "FAILED");

    const listed = await server.api(`/api/renders/${renderId}/log-files`);
    assert.equal(listed.status, 200);
    const logs = (await listed.json()) as LogFile[];
    assert.deepEqual(
      logs.map((log) => [log.id, log.action, log.child, log.attempt, log.status]),
      [
        ["copy_efs-a1", "copy_efs", null, 1, "SUCCEEDED"],
        ["render-0-a1", "render", 0, 1, "SUCCEEDED"],
        ["render-1-a1", "render", 1, 1, "FAILED"],
        ["render-1-a2", "render", 1, 2, "FAILED"],
        ["upload_render_output-a1", "upload_render_output", null, 1, "FAILED"],
      ],
    );
    assert.match(logs[2]!.reason ?? "", /SIGSEGV/);
    for (const log of logs) {
      assert.equal(log.url, `/api/renders/${renderId}/log-files/${log.id}`);
      const response = await server.api(log.url);
      assert.equal(response.status, 200);
      assert.match(response.headers.get("content-type") ?? "", /^text\/plain/);
      const bytes = Buffer.from(await response.arrayBuffer());
      assert.equal(bytes.length, log.size, log.id);
      assert.ok(log.size > 0, log.id);
    }
    // The second attempt of child 1 reused nothing of frame 3 and crashed there again.
    const retried = await (await server.api(logs[3]!.url)).text();
    assert.match(retried, /"frame_started","frame":3|"type":"frame_started"[^\n]*"frame":3/);
    assert.doesNotMatch(await (await server.api(logs[1]!.url)).text(), /"frame":3/, "child 0 never saw frame 3");

    const full = await (await server.api(logs[3]!.url)).text();
    for (const tail of [1, 50, 300, full.length - 1, full.length, full.length + 100]) {
      const response = await server.api(`${logs[3]!.url}?tail=${tail}`);
      assert.equal(response.status, 200);
      const end = await response.text();
      assert.ok(Buffer.byteLength(end) <= tail, `tail=${tail}`);
      assert.ok(full.endsWith(end), `tail=${tail} is the end of the log`);
      const start = full.length - end.length;
      assert.ok(start === 0 || full[start - 1] === "\n", `tail=${tail} starts a line`);
    }
    assert.equal(await (await server.api(`${logs[3]!.url}?tail=${full.length}`)).text(), full);

    for (const bad of ["0", "-5", "abc", "1.5"]) {
      const response = await server.api(`${logs[3]!.url}?tail=${bad}`);
      assert.equal(response.status, 400, bad);
      assert.equal(((await response.json()) as { field: string }).field, "tail");
    }
    for (const missing of ["render-7-a1", "render-1-a3", "..%2F..%2Ffarm.sqlite", "nope"]) {
      const response = await server.api(`/api/renders/${renderId}/log-files/${missing}`);
      assert.equal(response.status, 404, missing);
      assert.match(((await response.json()) as { error: string }).error, new RegExp(`^Render ${renderId} has no log .*GET /api/renders/${renderId}/log-files lists them\\.$`));
    }
    for (const path of ["/api/renders/r-20260101-000000-abcdef/log-files", "/api/renders/r-20260101-000000-abcdef/log-files/render-0-a1"]) {
      const response = await server.api(path);
      assert.equal(response.status, 404, path);
      assert.match(((await response.json()) as { error: string }).error, /^No render "r-20260101-000000-abcdef"/);
    }
    // The concatenated logs are still there, and hold every single log.
    const all = await (await server.api(`/api/renders/${renderId}/logs`)).text();
    assert.ok(all.includes(retried));

    // Child 0 rendered frames 1 and 2; child 1 none. The events are gone with the work folder: the manifest kept the times.
    assert.deepEqual(detail.progress.frameTimes.map((time) => time.frame), [1, 2]);
    assert.ok(detail.progress.frameTimes.every((time) => time.seconds > 0));
    assert.deepEqual(detail.manifest.frameTimes, detail.progress.frameTimes);
  });
});

const at = "2026-05-02T10:00:00.000Z";

const manifest = (frameTimes?: { frame: number; seconds: number }[]): RenderManifest =>
  renderManifestSchema.parse({
    schemaVersion: 1, renderId: "r-1", project: "p", blendFile: "p.blend", type: "animation", status: "succeeded",
    frames: { expected: "1-3", expectedCount: 3, rendered: "1-3", renderedCount: 3, missing: [] },
    files: [], outputs: { prefix: "p/" }, warnings: [], finishedAt: at, renderSeconds: 3,
    ...(frameTimes ? { frameTimes } : {}),
  });

describe("frame times", () => {
  const events: [number, ProgressEvent][] = [
    [1, { type: "frame_finished", at, frame: 4, file: "f4.png", seconds: 2.5 }],
    [0, { type: "frame_finished", at, frame: 1, file: "f1.png", reused: true }],
    [0, { type: "frame_started", at, frame: 2 }],
    [0, { type: "frame_finished", at, frame: 2, file: "f2.png", seconds: 1.25 }],
    [1, { type: "frame_started", at, frame: 5 }],
  ];

  it("while a render runs: each frame rendered in this run with its seconds and child, by frame; reused frames left out", () => {
    const progress = emptyProgress(5);
    for (const [child, event] of events) applyEvent(progress, child, event);
    const view = progressView(progress);
    assert.deepEqual(view.frameTimes, [{ frame: 2, seconds: 1.25, child: 0 }, { frame: 4, seconds: 2.5, child: 1 }]);
    assert.equal(view.framesDone, 3);
    // The ETA still averages the rendered frames only: 1.875 s for each of the 2 frames left.
    assert.equal(view.etaSeconds, 4);
  });

  it("once ended: the manifest's times (old manifests without them give none)", () => {
    const progress = emptyProgress(3);
    for (const [child, event] of events) applyEvent(progress, child, event);
    assert.deepEqual(progressView(progress, manifest([{ frame: 1, seconds: 3 }, { frame: 3, seconds: 1 }])).frameTimes, [{ frame: 1, seconds: 3 }, { frame: 3, seconds: 1 }]);
    assert.deepEqual(progressView(progress, manifest()).frameTimes, []);
    assert.equal(manifest().frameTimes, undefined, "an old manifest still parses");
  });

  it("the upload's summary keeps each rendered frame's time, the later one when a frame was rendered twice", () => {
    const summary = summarizeEvents([
      ...events.map(([, event]) => event),
      { type: "frame_finished", at, frame: 2, file: "f2.png", seconds: 0.75 },
    ]);
    assert.deepEqual(summary.frameTimes, [{ frame: 2, seconds: 0.75 }, { frame: 4, seconds: 2.5 }]);
    assert.equal(summary.renderSeconds, 4.5);
    assert.deepEqual(summarizeEvents([]).frameTimes, []);
  });
});

describe("log ids and tails", () => {
  it("names a log by action, child (arrays only) and attempt", () => {
    assert.equal(logFileId("render", 3, 1), "render-3-a1");
    assert.equal(logFileId("copy_efs", null, 2), "copy_efs-a2");
  });

  it("a tail is the longest end of the file within the byte limit that starts a line", () => {
    const line = fc.stringMatching(/^[a-z é]{0,12}$/);
    fc.assert(
      fc.property(fc.array(line, { maxLength: 8 }), fc.boolean(), fc.integer({ min: 1, max: 120 }), (lines, endsWithNewline, tail) => {
        const file = Buffer.from(lines.join("\n") + (endsWithNewline ? "\n" : ""));
        const result = tailFrom(file.subarray(Math.max(0, file.length - tail - 1)), tail);
        const start = file.length - result.length;
        assert.ok(result.length <= tail);
        assert.ok(file.subarray(start).equals(result), "an end of the file");
        assert.ok(result.length === 0 || start === 0 || file[start - 1] === 0x0a, "starts a line");
        // No longer end would do: every line start inside the window is at or after `start`.
        for (let candidate = Math.max(0, file.length - tail); candidate < start; candidate++) {
          assert.ok(!(candidate === 0 || file[candidate - 1] === 0x0a), `a longer tail from ${candidate} fits`);
        }
      }),
    );
  });
});
