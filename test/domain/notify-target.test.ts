import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { notifyTargetsToPayload, parseNotifyTarget, redactUrl, webhookUrlProblem } from "../../src/domain/notify-target.ts";
import { parseRenderPayload } from "../../src/domain/render-payload.ts";
import { UserInputError } from "../../src/errors.ts";

const SLACK = "https://hooks.slack.com/services/T000/B000/XXXXSECRETXXXX";
const DISCORD = "https://discord.com/api/webhooks/123456/tokenSECRETtoken";

describe("--notify targets", () => {
  it("tells e-mail, Slack, Discord and other webhooks apart", () => {
    assert.deepEqual(parseNotifyTarget("me@example.com"), { kind: "email", address: "me@example.com" });
    assert.equal(parseNotifyTarget(SLACK).kind, "slack");
    assert.equal(parseNotifyTarget(DISCORD).kind, "discord");
    assert.equal(parseNotifyTarget("https://discordapp.com/api/webhooks/1/x").kind, "discord");
    assert.equal(parseNotifyTarget("https://discord.com/other").kind, "webhook");
    assert.equal(parseNotifyTarget("https://ci.example.com/hooks/brender").kind, "webhook");
    assert.equal(parseNotifyTarget("http://127.0.0.1:8080/hook").kind, "webhook");
    assert.equal(parseNotifyTarget("http://localhost:9/x").kind, "webhook");
    assert.equal(parseNotifyTarget("http://[::1]:9/x").kind, "webhook");
  });

  it("refuses plain http beyond loopback, other schemes and malformed URLs, with exit 2 and without the secret", () => {
    for (const bad of ["http://hooks.example.com/abc?token=SECRET", "ftp://user:SECRET@example.com/x", "https://", "not a target", "https://user:SECRET@[bad/x"]) {
      assert.throws(
        () => parseNotifyTarget(bad),
        (error: unknown) => {
          assert.ok(error instanceof UserInputError, `${bad}: ${String(error)}`);
          assert.equal(error.exitCode, 2);
          assert.match(error.message, /^--notify /);
          assert.doesNotMatch(error.message, /SECRET/);
          return true;
        },
      );
    }
    assert.match(webhookUrlProblem("http://hooks.example.com/x")!, /must use https:\/\/.*localhost/);
  });

  it("shows URLs by scheme and host only", () => {
    assert.equal(redactUrl(SLACK), "https://hooks.slack.com/…");
    assert.equal(redactUrl("https://user:pw@example.com:8443/x?token=t"), "https://example.com:8443/…");
    assert.equal(redactUrl("https://user:pw@[oops/x"), "https://[oops/…");
  });

  it("splits repeated values into the payload's one e-mail and its webhooks", () => {
    assert.deepEqual(notifyTargetsToPayload(["me@example.com", SLACK, DISCORD, SLACK]), { email: "me@example.com", webhooks: [SLACK, DISCORD] });
    assert.deepEqual(notifyTargetsToPayload([SLACK]), { webhooks: [SLACK] });
    assert.throws(() => notifyTargetsToPayload(["a@example.com", "b@example.com"]), /2 e-mail addresses/);
  });

  it("the payload refuses a non-https webhook too (a payload written by hand or the API)", () => {
    const base = { schemaVersion: 1, renderId: "r-1234", project: { name: "p", blendFile: "a.blend" }, type: "still", frames: "1" };
    assert.deepEqual(parseRenderPayload({ ...base, notify: { webhooks: [SLACK] } }).notify.webhooks, [SLACK]);
    assert.throws(() => parseRenderPayload({ ...base, notify: { webhooks: ["http://example.com/x?token=SECRET"] } }), (error: Error) => {
      assert.match(error.message, /must use https/);
      assert.doesNotMatch(error.message, /SECRET/);
      return true;
    });
  });
});
