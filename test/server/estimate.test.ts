/**
 * POST /api/estimate: the CLI's estimate from the API, on an earlier upload,
 * with POST /api/renders' body: a sample rendered by the server's Blender; a
 * bad body is a 400 naming its field; and the estimate sent back with the
 * submission is kept with the render (GET /api/renders/:id's cost).
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { makeScene } from "../helpers/blender.ts";
import { renderForm, startTestServer } from "./harness.ts";

const json = (body: unknown): RequestInit => ({ method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });

describe("POST /api/estimate", () => {
  it("estimates an upload here and on an AWS farm's queue; 400 naming the field for a bad body; the estimate submitted with a render is kept with it", async (t) => {
    const server = await startTestServer(t, { runFarm: false, env: { AWS_ACCESS_KEY_ID: "none", AWS_SECRET_ACCESS_KEY: "none", AWS_EC2_METADATA_DISABLED: "true", BRENDER_PRICES: "bundled" } });
    const blend = await makeScene(join(server.home, "shot.blend"), { frames: [1, 6], resolution: [24, 24], samples: 2 });
    const inspected = await server.api("/api/inspect", { method: "POST", body: await renderForm(blend, "shot.blend") });
    const { uploadId } = (await inspected.json()) as { uploadId: string };

    const local = await server.api("/api/estimate", json({ uploadId, settings: { frames: "1-6" } }));
    assert.equal(local.status, 200, await local.clone().text());
    const here = (await local.json()) as { target: string; frames: number; sample: { frames: number[] }; seconds: { expected: number }; cpuHours?: unknown; usd?: unknown; stored: { target: string; seconds: unknown } };
    assert.equal(here.target, "local");
    assert.equal(here.frames, 6);
    assert.equal(here.sample.frames.length, 3);
    assert.ok(here.seconds.expected > 0 && here.cpuHours && here.usd === undefined);
    assert.deepEqual(here.stored.seconds, here.seconds);

    // An AWS farm's queue needs no farm to estimate: prices come from the bundled table, nothing is asked of AWS.
    const aws = (await (await server.api("/api/estimate", json({ uploadId, settings: { frames: "1-6", farm: "studio", queue: "on-demand-cpu", preset: "medium" } }))).json()) as {
      target: string; usd: { expected: number }; queue: string; stored: { usd: unknown };
    };
    assert.equal(aws.target, "aws");
    assert.equal(aws.queue, "on-demand-cpu");
    assert.ok(aws.usd.expected > 0);
    assert.deepEqual(aws.stored.usd, aws.usd);

    for (const [body, field] of [
      [{ uploadId, settings: { samples: 0 } }, "settings.samples"],
      [{ uploadId, settings: { frames: "1-6", queue: "spot-cpu" } }, "settings.queue"],
      [{ uploadId: "nope" }, "uploadId"],
      [{ uploadId, settings: { estimat: {} } }, "settings.estimat"],
    ] as const) {
      const response = await server.api("/api/estimate", json(body));
      assert.equal(response.status, 400, JSON.stringify(body));
      const answer = (await response.json()) as { error: string; field?: string };
      assert.equal(answer.field, field, answer.error);
      assert.ok(answer.error.includes(field), answer.error);
    }

    // The form sends the estimate back with its settings: the render carries it.
    const submitted = await server.api("/api/renders", json({ uploadId, settings: { frames: "1-6", estimate: here.stored } }));
    assert.equal(submitted.status, 202, await submitted.clone().text());
    const { renderId } = (await submitted.json()) as { renderId: string };
    const detail = (await (await server.api(`/api/renders/${renderId}`)).json()) as { cost?: { estimate?: unknown } };
    assert.deepEqual(detail.cost?.estimate, here.stored);
  });
});
