/**
 * A local render's cost after the fact, on a real Blender render: the CPU
 * time Blender's children report (getrusage), summed into CPU-hours, shown
 * next to the estimate `render --estimate` made, in the four places a render
 * reports: the summary, `status` (text and --json), the manifest and the e-mail.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { availableParallelism } from "node:os";
import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { brender, makeScene, tempDir } from "../helpers/blender.ts";
import { simpleParser } from "../helpers/mail.ts";
import type { RenderCostRecord } from "../../src/domain/cost/cost-record.ts";

describe("a local render's CPU-hours next to its estimate", () => {
  it("render --estimate keeps the estimate; the children's CPU time is > 0 and at most wall × cores; status, manifest and e-mail show both", async (t) => {
    const dir = await tempDir(t);
    const home = join(dir, "home");
    const blend = await makeScene(join(dir, "scene.blend"), { resolution: [64, 36], samples: 8, frames: [1, 4] });
    const started = performance.now();
    const render = await brender(["render", blend, "--estimate", "--array-size", "2", "--notify", "artist@example.com", "--json"], { BRENDER_HOME: home });
    const cliSeconds = (performance.now() - started) / 1000;
    assert.equal(render.code, 0, render.stderr);
    const summary = JSON.parse(render.stdout) as { renderId: string; cost?: RenderCostRecord };
    const cost = summary.cost!;
    assert.ok(cost, "the summary has the cost");

    assert.equal(cost.estimate?.target, "local");
    assert.ok(cost.estimate!.seconds.expected > 0 && cost.estimate!.cpuHours!.expected > 0);
    const actual = cost.actual!;
    assert.equal(actual.kind, "local");
    if (actual.kind !== "local") return;
    assert.equal(actual.cores, availableParallelism());
    assert.ok(actual.cpuHours > 0, "Blender used some CPU");
    assert.ok(actual.wallSeconds > 0 && actual.wallSeconds <= cliSeconds);
    assert.ok(actual.cpuHours * 3600 <= actual.wallSeconds * actual.cores + 0.01, `${actual.cpuHours * 3600} CPU-seconds in ${actual.wallSeconds} s on ${actual.cores} cores`);
    assert.match(actual.method, /getrusage/);

    const status = await brender(["status", summary.renderId, "--json"], { BRENDER_HOME: home });
    const detail = JSON.parse(status.stdout) as { cost: RenderCostRecord; manifest: { cost: RenderCostRecord } };
    assert.deepEqual(detail.cost, cost);
    assert.deepEqual(detail.manifest.cost, cost);
    const manifest = JSON.parse(await readFile(join(home, "bucket", "scene", "output", summary.renderId, "manifest.json"), "utf8")) as { cost: RenderCostRecord };
    assert.deepEqual(manifest.cost, cost);

    const text = await brender(["status", summary.renderId], { BRENDER_HOME: home });
    assert.match(text.stdout, /\n {2}cost: estimated about .+ CPU-hours; actual \d+\.\d{4} CPU-hours in .+ on \d+ cores\n/);
    const outbox = join(home, "outbox");
    const mail = await simpleParser(await readFile(join(outbox, (await readdir(outbox)).find((name) => name.endsWith(".eml"))!)));
    assert.match(mail.text ?? "", /Cost: +estimated about .+; actual \d+\.\d{4} CPU-hours/);
  });
});
