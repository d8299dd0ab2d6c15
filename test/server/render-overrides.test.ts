import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { writeFile } from "node:fs/promises";
import { makeScene, meanColor } from "../helpers/blender.ts";
import { renderForm, startTestServer, waitForEnd } from "./harness.ts";

describe("advanced render overrides through the HTTP API (real Blender)", () => {
  it("applies settings.render.cycles: no light bounces renders a darker frame than the file's own", async (t) => {
    const server = await startTestServer(t);
    const blend = await makeScene(join(server.home, "room.blend"), { frames: [1, 1], resolution: [24, 24], samples: 8 });

    const means: number[] = [];
    for (const settings of [{}, { render: { cycles: { bounces: { total: 0 } } } }]) {
      const submit = await server.api("/api/renders", { method: "POST", body: await renderForm(blend, "room.blend", settings) });
      assert.equal(submit.status, 202, await submit.clone().text());
      const { renderId } = (await submit.json()) as { renderId: string };
      const detail = (await waitForEnd(server, renderId)) as { status: string; reason?: string };
      assert.equal(detail.status, "SUCCEEDED", detail.reason);
      const frame = join(server.home, `${renderId}.png`);
      await writeFile(frame, Buffer.from(await (await server.api(`/api/renders/${renderId}/outputs/frames/frame_0001.png`)).arrayBuffer()));
      const [r, g, b] = await meanColor(frame);
      means.push((r + g + b) / 3);
    }
    // The demo room is lit mostly by direct light, so the drop is small but steady (Cycles renders deterministically).
    assert.ok(means[1]! < means[0]! - 2, `no bounces should be darker: file's own ${means[0]!.toFixed(1)}, no bounces ${means[1]!.toFixed(1)}`);
  });

  it("refuses a bad override with 400 naming its field, and submits nothing", async (t) => {
    const server = await startTestServer(t, { runFarm: false });
    const blend = await makeScene(join(server.home, "room.blend"), { frames: [1, 1], resolution: [16, 16], samples: 1 });
    for (const [settings, field] of [
      [{ render: { cycles: { noiseThreshold: 3 } } }, "settings.render.cycles.noiseThreshold"],
      [{ render: { cycles: { bounce: 2 } } }, "settings.render.cycles.bounce"],
    ] as const) {
      const response = await server.api("/api/renders", { method: "POST", body: await renderForm(blend, "room.blend", settings) });
      assert.equal(response.status, 400);
      const body = (await response.json()) as { error: string; field?: string };
      assert.equal(body.field, field, body.error);
      assert.ok(body.error.startsWith(field), body.error);
    }
    assert.deepEqual(await (await server.api("/api/renders")).json(), []);
  });
});
