import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { parseRenderPayload } from "../../src/domain/render-payload.ts";
import { sealWebhooks, shownNotifyTargets, storedWebhooksSchema } from "../../src/domain/stored-webhooks.ts";

const SLACK = "https://hooks.slack.com/services/T000/B000/XXXXSECRETXXXX";
const HOOK = "https://user:PASSWORD@ci.example.com:8443/hooks/brender?token=QUERYSECRET";

const payload = (notify: object) =>
  parseRenderPayload({ schemaVersion: 1, renderId: "shot-010", project: { name: "my-film", blendFile: "shots/010.blend" }, type: "animation", frames: "1-4", notify });

describe("stored webhooks (AWS farms)", () => {
  it("seals a payload: the URLs go to the stored object only, the payload keeps their key and scheme and host", () => {
    const original = payload({ email: "me@example.com", webhooks: [SLACK, HOOK] });
    const { payload: sealed, stored } = sealWebhooks(original);
    assert.deepEqual(sealed.notify, {
      email: "me@example.com",
      onSuccess: true,
      onFailure: true,
      storedWebhooks: { key: "my-film/projects/shot-010.webhooks.json", targets: ["https://hooks.slack.com/…", "https://ci.example.com:8443/…"] },
    });
    const text = JSON.stringify(sealed);
    for (const secret of ["XXXXSECRETXXXX", "PASSWORD", "QUERYSECRET", "/services/", "/hooks/"]) assert.ok(!text.includes(secret), secret);
    assert.equal(stored?.key, "my-film/projects/shot-010.webhooks.json");
    assert.deepEqual(storedWebhooksSchema.parse(JSON.parse(stored!.body)), { schemaVersion: 1, renderId: "shot-010", webhooks: [SLACK, HOOK] });
    assert.deepEqual(parseRenderPayload(sealed), sealed, "the sealed payload is a valid payload the worker reads");
    assert.deepEqual(sealWebhooks(payload({ email: "me@example.com" })), { payload: payload({ email: "me@example.com" }) }, "nothing to store");
  });

  it("shows who is told with each URL's scheme and host only, sealed or not", () => {
    const original = payload({ email: "me@example.com", webhooks: [SLACK, HOOK] });
    const shown = ["me@example.com", "https://hooks.slack.com/…", "https://ci.example.com:8443/…"];
    assert.deepEqual(shownNotifyTargets(original.notify), shown);
    assert.deepEqual(shownNotifyTargets(sealWebhooks(original).payload.notify), shown);
    assert.deepEqual(shownNotifyTargets(payload({}).notify), []);
  });

  it("refuses a reference that is another render's, shows more than scheme and host, or comes with the URLs", () => {
    const targets = ["https://hooks.slack.com/…"];
    assert.throws(() => payload({ storedWebhooks: { key: "other/projects/shot-010.webhooks.json", targets } }), /storedWebhooks\.key: must be "my-film\/projects\/shot-010\.webhooks\.json"/);
    assert.throws(() => payload({ storedWebhooks: { key: "my-film/projects/shot-010.webhooks.json", targets: [SLACK] } }), /must be a redacted URL/);
    assert.throws(() => payload({ webhooks: [SLACK], storedWebhooks: { key: "my-film/projects/shot-010.webhooks.json", targets } }), /has both webhooks and storedWebhooks/);
  });
});
