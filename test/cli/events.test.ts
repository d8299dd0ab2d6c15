import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { brender, makeScene } from "../helpers/blender.ts";
import { renderForm, startTestServer } from "../server/harness.ts";
import { renderEventSchema } from "../../src/domain/render-event.ts";

describe("brender events (following a running brender serve)", () => {
  it("--render ID --json prints the render's events, the versioned render.succeeded last, and exits 0 when it ends", async (t) => {
    const server = await startTestServer(t);
    const blend = await makeScene(join(server.home, "shot.blend"), { frames: [1, 2], resolution: [16, 16], samples: 1 });
    const submit = await server.api("/api/renders", { method: "POST", body: await renderForm(blend, "shot.blend", { frames: "1-2", samples: 1 }) });
    assert.equal(submit.status, 202, await submit.clone().text());
    const { renderId } = (await submit.json()) as { renderId: string };
    const result = await brender(["events", "--server", server.base, "--render", renderId, "--json"], {});
    assert.equal(result.code, 0, result.stderr);
    const events = result.stdout.trim().split("\n").map((line) => JSON.parse(line) as { event: string; data: Record<string, unknown> });
    const names = events.map((e) => e.event);
    assert.ok(names.includes("frame") && names.includes("progress"), names.join(","));
    const final = events.find((e) => e.event === "render.succeeded");
    assert.ok(final, names.join(","));
    const document = renderEventSchema.parse(final.data);
    assert.equal(document.render.id, renderId);
    assert.deepEqual(document.render.frames, { total: 2, done: 2, failed: 0 });
    assert.equal(events.at(-1)!.event, "render");
    assert.equal(events.at(-1)!.data.status, "SUCCEEDED");

    const text = await brender(["events", "--server", server.base, "--render", renderId], {});
    assert.equal(text.code, 0);
    assert.match(text.stdout, new RegExp(`${renderId} SUCCEEDED`));
  });

  it("a server that is not there, or an unknown render, is exit 2 with one line", async (t) => {
    const server = await startTestServer(t);
    const missing = await brender(["events", "--server", "http://127.0.0.1:9", "--render", "r-nope"], {});
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /No brender server answers at http:\/\/127\.0\.0\.1:9 .*brender serve/);
    const unknown = await brender(["events", "--server", server.base, "--render", "r-nope-nope"], {});
    assert.equal(unknown.code, 2);
    assert.match(unknown.stderr, /answered 404: No render "r-nope-nope"/);
  });
});
