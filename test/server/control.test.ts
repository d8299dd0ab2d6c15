import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { makeScene } from "../helpers/blender.ts";
import { renderForm, startTestServer, waitForEnd } from "./harness.ts";

type Detail = {
  status: string;
  stage?: string;
  reason?: string;
  progress: { framesDone: number; framesTotal: number; failedFrames: { frame: number }[] };
  outputs: { name: string }[];
};

describe("cancel and retry through the HTTP API (real Blender)", () => {
  it("cancels a rendering render (Blender killed), refuses a second cancel, retries only the missing frames", async (t) => {
    const server = await startTestServer(t);
    const blend = await makeScene(join(server.home, "shot.blend"), { frames: [1, 12], resolution: [64, 64], samples: 64 });
    const submit = await server.api("/api/renders", { method: "POST", body: await renderForm(blend, "shot.blend", {}) });
    assert.equal(submit.status, 202);
    const { renderId } = (await submit.json()) as { renderId: string };

    const retryWhileRunning = await server.api(`/api/renders/${renderId}/retry`, { method: "POST" });
    assert.equal(retryWhileRunning.status, 409);
    assert.match(((await retryWhileRunning.json()) as { error: string }).error, /still running/);

    // Wait for the first frame, then cancel while Blender renders the rest.
    const deadline = Date.now() + 30_000;
    let detail: Detail;
    do {
      detail = (await (await server.api(`/api/renders/${renderId}`)).json()) as Detail;
      assert.ok(Date.now() < deadline, `no frame rendered in time: ${JSON.stringify(detail)}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    } while (detail.progress.framesDone < 1);
    assert.equal(detail.stage, "render");
    // A running render's finished frames are served from its work folder already.
    const live = detail.outputs.find((output) => output.name.startsWith("frames/"));
    assert.ok(live, JSON.stringify(detail.outputs));
    const liveFrame = await server.api(`/api/renders/${renderId}/outputs/${live.name}`);
    assert.equal(liveFrame.status, 200);
    assert.equal(liveFrame.headers.get("content-type"), "image/png");
    await liveFrame.arrayBuffer();

    const cancel = await server.api(`/api/renders/${renderId}/cancel`, { method: "POST" });
    assert.equal(cancel.status, 202);
    const cancelled = (await cancel.json()) as { terminating: number; cancelled: number };
    assert.equal(cancelled.terminating, 1, JSON.stringify(cancelled));

    const failed = (await waitForEnd(server, renderId)) as unknown as Detail;
    assert.equal(failed.status, "FAILED");
    assert.ok(failed.progress.framesDone >= 1 && failed.progress.framesDone < 12, JSON.stringify(failed.progress));
    assert.equal(failed.progress.failedFrames.length, 12 - failed.progress.framesDone);
    const cancelAgain = await server.api(`/api/renders/${renderId}/cancel`, { method: "POST" });
    assert.equal(cancelAgain.status, 409);

    const retry = await server.api(`/api/renders/${renderId}/retry`, { method: "POST" });
    assert.equal(retry.status, 202);
    assert.deepEqual(await retry.json(), { renderId });
    const retried = (await waitForEnd(server, renderId)) as unknown as Detail;
    assert.equal(retried.status, "SUCCEEDED", retried.reason);
    assert.deepEqual([retried.progress.framesDone, retried.progress.failedFrames], [12, []]);
    assert.equal(retried.outputs.filter((output) => output.name.startsWith("frames/")).length, 12);
    // Frames kept from the first run were not rendered again.
    const logs = await (await server.api(`/api/renders/${renderId}/logs`)).text();
    assert.match(logs, /==> render, attempt 1/);
    const reused = logs.split("\n").filter((line) => line.includes('"frame_finished"') && line.includes('"reused":true'));
    assert.equal(reused.length, failed.progress.framesDone, "exactly the frames of the first run are reused");
  });
});
