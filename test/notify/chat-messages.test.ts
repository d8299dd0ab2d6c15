import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { finishedRenderEvent, type FinishedRender } from "../../src/domain/render-event.ts";
import { discordMessage, slackMessage } from "../../src/notify/chat-messages.ts";
import { signBody, verifySignature } from "../../src/notify/webhook-signature.ts";

const render: FinishedRender = {
  renderId: "r-abc",
  project: "Spring <@everyone> & co",
  blendFile: "spring.blend",
  status: "failed",
  reason: "Blender exited with code 139 while rendering frame 12",
  framesExpected: 48,
  framesRendered: 46,
  missingFrames: [12, 13],
  startedAt: "2026-01-01T10:00:00.000Z",
  finishedAt: "2026-01-01T11:02:03.000Z",
  renderSeconds: 3723,
  outputs: {
    location: "s3://bucket/Spring/output/r-abc/",
    zip: "https://bucket.s3.amazonaws.com/output.zip?X-Amz-Signature=a|b",
    thumbnail: "https://bucket.s3.amazonaws.com/thumbnail.jpg?sig=1",
  },
};
const event = finishedRenderEvent(render, { id: "e1", createdAt: "2026-01-01T11:02:04.000Z", serverUrl: "https://farm.example.com" });

describe("Slack message (Block Kit incoming webhook)", () => {
  const body = slackMessage(event) as { text: string; blocks: Array<Record<string, any>> };
  it("has the fallback text and a header, fields, reason and links within Slack's limits", () => {
    assert.match(body.text, /Spring &lt;@everyone&gt; &amp; co FAILED: 46\/48 frames in 1h 02m 03s/);
    const [header, fields, reason, context] = body.blocks;
    assert.equal(header!.type, "header");
    assert.equal(header!.text.type, "plain_text");
    assert.ok(header!.text.text.length <= 150);
    assert.equal(fields!.type, "section");
    assert.ok(fields!.fields.length <= 10);
    for (const field of fields!.fields) {
      assert.equal(field.type, "mrkdwn");
      assert.ok(field.text.length <= 2000);
    }
    const texts = fields!.fields.map((f: { text: string }) => f.text);
    assert.ok(texts.includes("*Frames*\n46/48 done, 2 failed"));
    assert.ok(texts.includes("*Time*\n1h 02m 03s"));
    assert.deepEqual(fields!.accessory, { type: "image", image_url: render.outputs.thumbnail, alt_text: "thumbnail of Spring <@everyone> & co" });
    assert.equal(reason!.text.type, "mrkdwn");
    assert.match(reason!.text.text, /code 139/);
    assert.equal(context!.type, "context");
    assert.match(context!.elements[0].text, /^<https:\/\/farm\.example\.com\/#\/renders\/r-abc\|Open the render> · <https:\/\/bucket[^|>]*%7Cb\|Download the frames \(zip\)>$/);
  });
  it("a header is cut to 150 characters", () => {
    const long = slackMessage(finishedRenderEvent({ ...render, project: "x".repeat(400) }, { id: "e", createdAt: event.createdAt })) as { blocks: Array<Record<string, any>> };
    assert.equal(long.blocks[0]!.text.text.length, 150);
  });
});

describe("Discord message (execute webhook)", () => {
  const body = discordMessage(event) as { content: string; embeds: Array<Record<string, any>>; allowed_mentions: unknown };
  it("has content, one embed with title, url, colour, fields, thumbnail, timestamp, and resolves no mention", () => {
    assert.ok(body.content.length <= 2000);
    assert.deepEqual(body.allowed_mentions, { parse: [] });
    assert.equal(body.embeds.length, 1);
    const embed = body.embeds[0]!;
    assert.equal(embed.title, "Brender: Spring <@everyone> & co FAILED");
    assert.equal(embed.url, "https://farm.example.com/#/renders/r-abc");
    assert.equal(embed.color, 0xcf222e);
    assert.equal(embed.timestamp, render.finishedAt);
    assert.deepEqual(embed.thumbnail, { url: render.outputs.thumbnail });
    assert.ok(embed.fields.length <= 25);
    assert.deepEqual(embed.fields[1], { name: "Frames", value: "46/48 done, 2 failed", inline: true });
    assert.match(embed.description, /\*\*Reason:\*\* Blender exited/);
    assert.match(embed.description, /\[Download the frames \(zip\)\]\(https:/);
  });
  it("shows a folder location as text, never as a link or thumbnail", () => {
    const local = discordMessage(finishedRenderEvent({ ...render, status: "succeeded", reason: undefined, outputs: { location: "/home/me/.brender/bucket/x/", thumbnail: "/home/me/t.jpg" } }, { id: "e", createdAt: event.createdAt })) as { embeds: Array<Record<string, any>> };
    assert.equal(local.embeds[0]!.thumbnail, undefined);
    assert.equal(local.embeds[0]!.color, 0x1a7f37);
    assert.equal(local.embeds[0]!.description, "Outputs: /home/me/.brender/bucket/x/");
  });
});

describe("HMAC-SHA256 signature", () => {
  it("carries the cost, estimate next to actual, in the event and as a field", () => {
    const cost = { estimate: { target: "local" as const, seconds: { low: 50, expected: 60, high: 80 }, madeAt: "2026-01-01T10:00:00.000Z" }, actual: { kind: "local" as const, cpuHours: 0.25, wallSeconds: 600, cores: 4, method: "getrusage" } };
    const priced = finishedRenderEvent({ ...render, cost }, { id: "e", createdAt: event.createdAt });
    assert.deepEqual(priced.render.cost, cost);
    const field = (discordMessage(priced) as { embeds: Array<{ fields: Array<{ name: string; value: string }> }> }).embeds[0]!.fields.find((f) => f.name === "Cost");
    assert.equal(field?.value, "estimated about 1m 00s (50s–1m 20s); actual 0.2500 CPU-hours in 10m 00s on 4 cores");
    assert.equal(finishedRenderEvent(render, { id: "e", createdAt: event.createdAt }).render.cost, undefined);
  });

  it("verifies the exact body and nothing else", () => {
    const body = JSON.stringify(event);
    const header = signBody("s3cret", body);
    assert.match(header, /^sha256=[0-9a-f]{64}$/);
    assert.equal(verifySignature("s3cret", body, header), true);
    assert.equal(verifySignature("other", body, header), false);
    assert.equal(verifySignature("s3cret", `${body} `, header), false);
    assert.equal(verifySignature("s3cret", body, undefined), false);
    assert.equal(verifySignature("s3cret", body, "sha256=00"), false);
  });
});
