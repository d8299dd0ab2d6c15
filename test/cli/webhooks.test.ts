import { describe, it, before, after } from "node:test";
import assert from "node:assert/strict";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { readdir, readFile, stat } from "node:fs/promises";
import { join } from "node:path";
import { brender, makeScene, tempDir, REPO } from "../helpers/blender.ts";
import { until } from "../helpers/wait.ts";
import { verifySignature } from "../../src/notify/webhook-signature.ts";
import { renderEventSchema, type RenderEvent } from "../../src/domain/render-event.ts";

type Received = { path: string; signature: string | undefined; body: string };

// The URL's token stands for a credential: it must never be written anywhere but the job store.
const TOKEN = "tok3nDoNotLeak";

/** Every file under `dir` (except the job database and the secret file itself) that contains `needle`. */
async function filesContaining(dir: string, needle: string): Promise<string[]> {
  const found: string[] = [];
  for (const entry of await readdir(dir, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile() || /farm\.sqlite|webhook-secret$/.test(entry.name)) continue;
    const file = join(entry.parentPath, entry.name);
    if ((await stat(file)).size > 50_000_000) continue;
    if ((await readFile(file)).includes(needle)) found.push(file);
  }
  return found;
}

describe("render --notify URL (local farm, real Blender, real HTTP receiver)", () => {
  const received: Received[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      received.push({ path: req.url ?? "", signature: req.headers["x-brender-signature"] as string | undefined, body: Buffer.concat(chunks).toString() });
      res.writeHead(req.url?.startsWith("/broken") ? 503 : 200).end();
    });
  });
  const url = (path: string) => `http://127.0.0.1:${(server.address() as AddressInfo).port}${path}`;
  before(() => new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve)));
  after(() => server.close());
  const eventsAt = (prefix: string) => received.filter((r) => r.path.startsWith(prefix));

  it("posts a signed render.succeeded the receiver verifies; status shows the delivery; the secret and the URL's token are written nowhere", async (t) => {
    const home = await tempDir(t);
    const blend = await makeScene(join(home, "shot.blend"), { frames: [1, 2], resolution: [16, 16], samples: 1 });
    const env = { BRENDER_HOME: home, BRENDER_WEBHOOK_BACKOFF_MS: "20,20" };
    const result = await brender(["render", blend, "--json", "--notify", url(`/ok?token=${TOKEN}`), "--notify", url(`/broken/${TOKEN}`)], env);
    assert.equal(result.code, 0, result.stderr);
    const summary = JSON.parse(result.stdout) as { renderId: string; status: string };
    assert.equal(summary.status, "SUCCEEDED", "a webhook answering 503 does not fail the render");

    const [ok] = eventsAt("/ok");
    assert.ok(ok, "the receiver got the event");
    const secret = (await readFile(join(home, "webhook-secret"), "utf8")).trim();
    assert.match(secret, /^[0-9a-f]{64}$/);
    assert.equal(((await stat(join(home, "webhook-secret"))).mode & 0o777).toString(8), "600");
    assert.equal(verifySignature(secret, ok.body, ok.signature), true, "signature verified with the farm's secret");
    const event: RenderEvent = renderEventSchema.parse(JSON.parse(ok.body));
    assert.equal(event.type, "render.succeeded");
    assert.equal(event.render.id, summary.renderId);
    assert.deepEqual(event.render.frames, { total: 2, done: 2, failed: 0 });
    assert.equal(eventsAt("/broken").length, 3, "a 503 is retried twice (BRENDER_WEBHOOK_BACKOFF_MS has two waits)");

    const status = await brender(["status", summary.renderId], env);
    assert.match(status.stdout, /webhook render\.succeeded to http:\/\/127\.0\.0\.1:\d+\/… delivered \(1 attempt, last: HTTP 200\)/);
    assert.match(status.stdout, /webhook render\.succeeded to http:\/\/127\.0\.0\.1:\d+\/… failed \(3 attempts, last: HTTP 503\)/);
    assert.match(status.stdout, /\n  notify: http:\/\/127\.0\.0\.1:\d+\/…, http:\/\/127\.0\.0\.1:\d+\/…\n/, "who is told, scheme and host only");
    const json = JSON.parse((await brender(["status", summary.renderId, "--json"], env)).stdout);
    assert.equal(json.manifest.webhooks.length, 2);
    assert.equal(json.notify.length, 2);
    assert.match(json.manifest.warnings.join("\n"), /webhook notification was not delivered/);

    const logs = await brender(["logs", summary.renderId], env);
    for (const text of [result.stdout, result.stderr, status.stdout, JSON.stringify(json), logs.stdout]) {
      assert.ok(!text.includes(TOKEN) && !text.includes(secret), "CLI output holds neither the token nor the secret");
    }
    assert.deepEqual(await filesContaining(home, TOKEN), [], "no log, manifest or output file holds the URL's token");
    assert.deepEqual(await filesContaining(home, secret), [], "no log, manifest or output file holds the secret");
  });

  it("a failed render posts render.failed; a cancelled one render.cancelled", async (t) => {
    const home = await tempDir(t);
    const env = { BRENDER_HOME: home, BRENDER_WEBHOOK_SECRET: "per-runner-secret" };
    const blend = await makeScene(join(home, "shot.blend"), { frames: [1, 2], resolution: [16, 16], samples: 1 });
    const crashing = { ...env, BLENDER_EXECUTABLE: join(REPO, "test", "helpers", "crashing-blender.py"), CRASH_AT_FRAME: "2" };
    const failed = await brender(["render", blend, "--json", "--notify", url("/failed")], crashing);
    assert.equal(failed.code, 1, failed.stderr);
    const [failure] = eventsAt("/failed");
    assert.ok(failure);
    const failedEvent = renderEventSchema.parse(JSON.parse(failure.body));
    assert.equal(failedEvent.type, "render.failed");
    assert.deepEqual(failedEvent.render.missingFrames, [2]);
    assert.match(failedEvent.render.reason ?? "", /frame 2/);
    assert.equal(verifySignature("per-runner-secret", failure.body, failure.signature), true);

    const long = await makeScene(join(home, "long.blend"), { frames: [1, 100], resolution: [320, 180], samples: 64 });
    const submitted = await brender(["render", long, "--detach", "--notify", url("/cancelled")], env);
    assert.equal(submitted.code, 0, submitted.stderr);
    const renderId = submitted.stdout.trim();
    await until(() => brender(["status", renderId], env), (s) => /render\s+RUNNING/.test(s.stdout), "the render running", 60_000, 300);
    assert.equal((await brender(["cancel", renderId], env)).code, 0);
    const [event] = await until(async () => eventsAt("/cancelled"), (list) => list.length > 0, "the cancel event", 60_000, 200);
    const parsed = renderEventSchema.parse(JSON.parse(event!.body));
    assert.equal(parsed.type, "render.cancelled");
    assert.equal(verifySignature("per-runner-secret", event!.body, event!.signature), true);
    // The webhook goes out before the upload writes the manifest: let the detached runner finish before the home is removed.
    const ended = (list: { renderId: string; status: string }[]) => list.some((render) => render.renderId === renderId && ["SUCCEEDED", "FAILED", "CANCELLED"].includes(render.status));
    await until(async () => JSON.parse((await brender(["jobs", "--json"], env)).stdout) as { renderId: string; status: string }[], ended, "the cancelled render's end", 60_000, 200);
  });

  it("refuses a plain-http or malformed URL before submitting (exit 2, one line, no token)", async (t) => {
    const home = await tempDir(t);
    const blend = await makeScene(join(home, "shot.blend"), { frames: [1, 1], resolution: [16, 16], samples: 1 });
    for (const bad of [`http://hooks.example.com/x?token=${TOKEN}`, `https://user:${TOKEN}@[broken/`]) {
      const result = await brender(["render", blend, "--notify", bad], { BRENDER_HOME: home });
      assert.equal(result.code, 2, result.stderr);
      assert.match(result.stderr, /--notify /);
      assert.equal(result.stderr.trim().split("\n").length, 1);
      assert.ok(!result.stderr.includes(TOKEN));
    }
    assert.deepEqual(JSON.parse((await brender(["jobs", "--json"], { BRENDER_HOME: home })).stdout), []);
  });
});
