import { describe, it, before, after } from "node:test";
import assert from "node:assert/strict";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { finishedRenderEvent, renderEventSchema } from "../../src/domain/render-event.ts";
import { webhookDeliverySchema } from "../../src/domain/render-manifest.ts";
import { deliverWebhook, describeDelivery } from "../../src/notify/webhook.ts";
import { verifySignature } from "../../src/notify/webhook-signature.ts";

type Received = { path: string; headers: http.IncomingHttpHeaders; body: string };

/** A real receiver on loopback; `answer` decides each response by the request's number on its path. */
function receiver(answer: (path: string, n: number) => number | "hang") {
  const received: Received[] = [];
  const counts = new Map<string, number>();
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      const path = req.url ?? "";
      received.push({ path, headers: req.headers, body: Buffer.concat(chunks).toString("utf8") });
      const n = (counts.get(path) ?? 0) + 1;
      counts.set(path, n);
      const status = answer(path, n);
      if (status === "hang") return; // never answers
      res.writeHead(status).end("ok");
    });
  });
  return { server, received, url: (path: string) => `http://127.0.0.1:${(server.address() as AddressInfo).port}${path}` };
}

const event = finishedRenderEvent(
  {
    renderId: "r-abc", project: "Spring", blendFile: "spring.blend", status: "succeeded",
    framesExpected: 2, framesRendered: 2, missingFrames: [], finishedAt: "2026-01-01T10:00:00.000Z",
    outputs: { location: "/tmp/out/" },
  },
  { id: "evt-42", createdAt: "2026-01-01T10:00:01.000Z" },
);
const fast = { backoffMs: [20, 20, 20], timeoutMs: 500 };

describe("webhook delivery to a real loopback server", () => {
  const hook = receiver((path, n) => {
    if (path.startsWith("/flaky")) return n < 3 ? 503 : 200;
    if (path.startsWith("/gone")) return 404;
    if (path.startsWith("/down")) return 500;
    if (path.startsWith("/slow")) return "hang";
    return 204;
  });
  before(() => new Promise<void>((resolve) => hook.server.listen(0, "127.0.0.1", resolve)));
  after(() => {
    hook.server.closeAllConnections();
    hook.server.close();
  });

  it("posts the event as signed JSON; the receiver verifies the signature", async () => {
    const delivery = await deliverWebhook(hook.url("/ok?token=SECRET"), event, { ...fast, secret: "farm-secret" });
    assert.equal(delivery.outcome, "delivered");
    assert.equal(delivery.attempts.length, 1);
    assert.equal(delivery.attempts[0]!.status, 204);
    const got = hook.received.find((r) => r.path.startsWith("/ok"))!;
    assert.equal(got.headers["content-type"], "application/json");
    assert.equal(got.headers["x-brender-event"], "render.succeeded");
    assert.equal(got.headers["x-brender-delivery"], "evt-42");
    assert.equal(verifySignature("farm-secret", got.body, got.headers["x-brender-signature"] as string), true);
    assert.equal(verifySignature("wrong", got.body, got.headers["x-brender-signature"] as string), false);
    assert.deepEqual(renderEventSchema.parse(JSON.parse(got.body)), event);
    webhookDeliverySchema.parse(delivery);
    assert.doesNotMatch(JSON.stringify(delivery), /SECRET|farm-secret|token/);
    assert.match(delivery.target, /^http:\/\/127\.0\.0\.1:\d+\/…$/);
  });

  it("retries 5xx with backoff until it is accepted", async () => {
    const delivery = await deliverWebhook(hook.url("/flaky"), event, fast);
    assert.equal(delivery.outcome, "delivered");
    assert.deepEqual(delivery.attempts.map((a) => a.status), [503, 503, 200]);
    assert.equal(hook.received.filter((r) => r.path === "/flaky").length, 3);
  });

  it("gives up after the last backoff on a server that keeps failing", async () => {
    const waits: number[] = [];
    const delivery = await deliverWebhook(hook.url("/down"), event, { ...fast, sleep: async (ms) => void waits.push(ms) });
    assert.equal(delivery.outcome, "failed");
    assert.equal(delivery.attempts.length, 4);
    assert.deepEqual(waits, [20, 20, 20]);
    assert.match(describeDelivery(delivery), /failed \(4 attempts, last: HTTP 500\)/);
  });

  it("does not retry a 4xx", async () => {
    const delivery = await deliverWebhook(hook.url("/gone"), event, fast);
    assert.equal(delivery.outcome, "rejected");
    assert.deepEqual(delivery.attempts.map((a) => a.status), [404]);
    assert.equal(hook.received.filter((r) => r.path === "/gone").length, 1);
  });

  it("cuts a receiver that does not answer, and retries it", async () => {
    const started = Date.now();
    const delivery = await deliverWebhook(hook.url("/slow"), event, { backoffMs: [10], timeoutMs: 300 });
    assert.equal(delivery.outcome, "failed");
    assert.equal(delivery.attempts.length, 2);
    assert.equal(delivery.attempts[0]!.error, "no answer within 0.3 s");
    assert.ok(Date.now() - started < 3_000);
  });

  it("a refused connection is a failed delivery, never an exception", async () => {
    const closed = http.createServer();
    await new Promise<void>((resolve) => closed.listen(0, "127.0.0.1", resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    const delivery = await deliverWebhook(`http://127.0.0.1:${port}/x`, event, { backoffMs: [5], timeoutMs: 500 });
    assert.equal(delivery.outcome, "failed");
    assert.equal(delivery.attempts[0]!.error, "ECONNREFUSED");
  });

  it("Slack and Discord URLs get their own bodies, unsigned", async () => {
    // Their hosts are fixed; check the body chosen for each kind through the same function the action uses.
    const { webhookBody } = await import("../../src/notify/webhook.ts");
    assert.ok(Array.isArray(JSON.parse(webhookBody("slack", event)).blocks));
    assert.ok(Array.isArray(JSON.parse(webhookBody("discord", event)).embeds));
    assert.equal(JSON.parse(webhookBody("webhook", event)).type, "render.succeeded");
  });
});
