/**
 * The RenderBackend contract: what the CLI and the API rely on, whichever
 * backend a render runs on. One suite, run against every implementation
 * (backend-contract.test.ts), as test/storage/contract.ts is for object stores.
 */
import assert from "node:assert/strict";
import { it } from "node:test";
import { outputPrefix } from "../../src/domain/layout.ts";
import type { RenderManifest } from "../../src/domain/render-manifest.ts";
import type { RenderBackend } from "../../src/renders/backend.ts";
import { RenderConflictError } from "../../src/renders/errors.ts";

/** What a backend's fixture provides. */
export type BackendFixture = {
  readonly backend: RenderBackend;
  /** "local" or "aws:<farm>". */
  readonly backendName: string;
  /**
   * Submits a render of frames 1-2 (project "contract") whose jobs all end
   * successfully, and puts its outputs into its store as the upload job
   * would: both frames, then `manifest` (status as given). Resolves once its jobs ended.
   */
  ended(renderId: string, manifest: { status: "succeeded" | "failed"; reason?: string }): Promise<void>;
};

export function manifestFor(renderId: string, status: "succeeded" | "failed", reason?: string): RenderManifest {
  const prefix = outputPrefix("contract", renderId);
  return {
    schemaVersion: 1,
    renderId,
    project: "contract",
    blendFile: "scene.blend",
    type: "animation",
    status,
    ...(reason ? { reason } : {}),
    frames: { expected: "1-2", expectedCount: 2, rendered: status === "succeeded" ? "1-2" : "1", renderedCount: status === "succeeded" ? 2 : 1, missing: status === "succeeded" ? [] : [2] },
    files: [{ key: `${prefix}frames/frame_0001.png`, size: 4, sha256: "0".repeat(64) }],
    outputs: { prefix },
    warnings: ["a warning the upload wrote"],
    finishedAt: new Date().toISOString(),
    renderSeconds: 1,
    frameTimes: [{ frame: 1, seconds: 0.5 }],
  };
}

export function renderBackendContract(fixture: () => BackendFixture, ids: { readonly succeeded: string; readonly failed: string }): void {
  it("ends a render SUCCEEDED only with its jobs and a manifest that says so: list, get, watcher and live follower agree", async () => {
    const { backend, backendName, ended } = fixture();
    await ended(ids.succeeded, { status: "succeeded" });
    const row = (await backend.list()).find((one) => one.renderId === ids.succeeded);
    assert.ok(row, "listed");
    assert.equal(row.backend, backendName);
    assert.equal(row.project, "contract");
    assert.equal(row.status, "SUCCEEDED");

    const detail = await backend.get(ids.succeeded);
    assert.equal(detail.status, "SUCCEEDED");
    assert.equal(detail.backend, backendName);
    assert.deepEqual(detail.jobs.map((job) => [job.action, job.status]), [["copy_efs", "SUCCEEDED"], ["render", "SUCCEEDED"], ["upload_render_output", "SUCCEEDED"]]);
    assert.equal(detail.manifest?.status, "succeeded");
    assert.deepEqual([detail.progress.framesDone, detail.progress.framesTotal], [2, 2]);
    assert.deepEqual(detail.progress.frameTimes, [{ frame: 1, seconds: 0.5 }]);
    assert.deepEqual(detail.warnings, ["a warning the upload wrote"]);

    const snapshot = await (await backend.watcher(ids.succeeded)).poll();
    assert.deepEqual(snapshot.state, { status: "SUCCEEDED", terminal: true });

    const events = await backend.follow(ids.succeeded).poll();
    const told = events.find((event) => event.event === "render");
    assert.equal(told?.data.status, "SUCCEEDED");
    assert.ok(events.some((event) => event.event === "frame" && event.data.frame === 1), JSON.stringify(events));
  });

  it("names a failed render's reason from its manifest, whatever its jobs said", async () => {
    const { backend, ended } = fixture();
    await ended(ids.failed, { status: "failed", reason: "frames missing: 2" });
    const detail = await backend.get(ids.failed);
    assert.equal(detail.status, "FAILED");
    assert.equal(detail.reason, "frames missing: 2");
    assert.deepEqual(detail.progress.failedFrames, [{ frame: 2, reason: "not rendered" }]);
    assert.equal((await backend.list()).find((row) => row.renderId === ids.failed)?.status, "FAILED");
    assert.equal((await (await backend.watcher(ids.failed)).poll()).state.status, "FAILED");
  });

  it("finds renders by id or an unambiguous start, and nothing for an unknown id", async () => {
    const { backend } = fixture();
    assert.equal(await backend.find(ids.succeeded), ids.succeeded);
    assert.equal(await backend.find(ids.succeeded.slice(0, -1)), ids.succeeded);
    assert.equal(await backend.find("r-no-such-render"), undefined);
    assert.equal((await backend.payload(ids.succeeded)).project.name, "contract");
  });

  it("serves outputs: the list (no plumbing), one by name, a preview source, nothing for a missing name, the store and prefix", async () => {
    const { backend } = fixture();
    const names = (await backend.outputs(ids.succeeded)).map((output) => output.name);
    assert.deepEqual(names, ["frames/frame_0001.png", "frames/frame_0002.png", "manifest.json"]);
    const frame = await backend.openOutput(ids.succeeded, ["frames", "frame_0001.png"]);
    assert.equal(frame?.size, 4);
    assert.equal(await backend.openOutput(ids.succeeded, ["frames", "frame_0009.png"]), undefined);
    assert.equal((await backend.previewSource(ids.succeeded, ["frames", "frame_0002.png"]))?.size, 4);
    const { objects, prefix } = await backend.outputStore(ids.succeeded);
    assert.equal(prefix, outputPrefix("contract", ids.succeeded));
    assert.ok(await objects.stat(`${prefix}manifest.json`));
  });

  it("refuses to cancel an ended render (409 / exit 2), and keeps it as it was", async () => {
    const { backend } = fixture();
    await assert.rejects(backend.cancel(ids.succeeded), (error) => error instanceof RenderConflictError && /no job left to cancel/.test(error.message));
    assert.equal((await backend.get(ids.succeeded)).status, "SUCCEEDED");
  });
}
