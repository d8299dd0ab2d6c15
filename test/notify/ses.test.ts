/**
 * SES v2 notifications against moto's server (a real SES v2 endpoint on
 * loopback): the sender identity is created there first, and what moto
 * "sent" is read back from GET /moto-api/data.json, whose `ses.Message`
 * list holds every simple message (source, subject, body, destinations;
 * the body is the HTML part when there is one). That endpoint answers 500
 * once moto holds Batch resources, so SES gets a moto server of its own.
 *
 * moto's SendEmail answers templated content with NotImplementedError, so
 * the template path is checked with aws-sdk-client-mock instead.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CreateEmailIdentityCommand, SESv2Client, SendEmailCommand } from "@aws-sdk/client-sesv2";
import { mockClient } from "aws-sdk-client-mock";
import { MailDeliveryError, mailerConfigFromEnv, sendRenderNotification } from "../../src/notify/mailer.ts";
import { composeRenderEmail, type RenderReport } from "../../src/notify/render-report.ts";
import { renderTemplateData, sendWithSes } from "../../src/notify/ses.ts";
import { JobFailedError, UserInputError } from "../../src/errors.ts";
import { startMotoServer, type MotoServer } from "../helpers/moto-server.ts";

const SENDER = "renders@example.com";

const succeeded: RenderReport = {
  renderId: "r-20261122-000000-000001",
  project: "spring",
  blendFile: "shots/010.blend",
  status: "succeeded",
  framesExpected: 12,
  framesRendered: 12,
  missingFrames: [],
  startedAt: "2026-11-22T10:00:00.000Z",
  finishedAt: "2026-11-22T10:02:05.000Z",
  outputs: { location: "s3://farm-bucket/spring/output/r1/", zip: "https://farm-bucket.s3.amazonaws.com/zip?X-Amz-Signature=1" },
  warnings: [],
  host: { instanceType: "g5.xlarge", spot: true },
};

const failed: RenderReport = {
  ...succeeded,
  status: "failed",
  reason: "r1-render: Host EC2 (instance i-0abc) terminated.",
  framesRendered: 9,
  missingFrames: [10, 11, 12],
  host: { instanceType: "c6i.large", spot: false },
};

type MotoMessage = { id: string; source: string; subject: string; body: string; destinations: { ToAddresses?: string[] } };

async function sentMessages(moto: MotoServer): Promise<MotoMessage[]> {
  const data = (await (await fetch(`${moto.endpoint}/moto-api/data.json`)).json()) as { ses?: { Message?: MotoMessage[] } };
  return data.ses?.Message ?? [];
}

describe("renderTemplateData", () => {
  it("gives a template every fact of the report as text or a flag", () => {
    const data = renderTemplateData(failed);
    assert.equal(data.project, "spring");
    assert.equal(data.status, "failed");
    assert.equal(data.succeeded, false);
    assert.equal(data.reason, failed.reason);
    assert.equal(data.frames, "9 of 12");
    assert.equal(data.missingFrames, "10-12");
    assert.equal(data.duration, "2m 05s");
    assert.equal(data.instanceType, "c6i.large");
    assert.equal(data.spot, false);
    assert.equal(data.capacity, "on-demand");
    assert.equal(data.zipLink, succeeded.outputs.zip);
    assert.equal(renderTemplateData(succeeded).capacity, "spot");
    // Unknown facts are empty strings, never "undefined" in the mail.
    const bare = renderTemplateData({ ...succeeded, host: undefined, startedAt: undefined });
    assert.equal(bare.instanceType, "");
    assert.equal(bare.capacity, "");
    assert.equal(bare.duration, "");
    assert.ok(Object.values(bare).every((value) => typeof value === "string" || typeof value === "boolean"));
  });
});

describe("sendWithSes with templates (aws-sdk-client-mock: moto has no templated SendEmail)", () => {
  const ses = mockClient(SESv2Client);
  after(() => ses.restore());
  const options = { from: SENDER, region: "eu-west-1", successTemplate: "brender-success", failureTemplate: "brender-failure" };

  it("uses the success or failure template with the report as TemplateData", async () => {
    ses.reset();
    ses.on(SendEmailCommand).resolves({ MessageId: "m-1" });
    assert.deepEqual(await sendWithSes(succeeded, "artist@example.com", options), { messageId: "m-1", template: "brender-success" });
    await sendWithSes(failed, "artist@example.com", options);
    const [first, second] = ses.commandCalls(SendEmailCommand).map((call) => call.args[0].input);
    assert.equal(first?.Content?.Template?.TemplateName, "brender-success");
    assert.equal(second?.Content?.Template?.TemplateName, "brender-failure");
    assert.equal(second?.FromEmailAddress, SENDER);
    assert.deepEqual(second?.Destination?.ToAddresses, ["artist@example.com"]);
    assert.deepEqual(JSON.parse(second?.Content?.Template?.TemplateData ?? "{}"), renderTemplateData(failed));
  });

  it("names a missing template and where it comes from", async () => {
    ses.reset();
    const missing = Object.assign(new Error("Template brender-failure does not exist."), { name: "NotFoundException" });
    ses.on(SendEmailCommand).rejects(missing);
    await assert.rejects(sendWithSes(failed, "artist@example.com", options), (error: Error) => {
      assert.ok(error instanceof JobFailedError);
      assert.match(error.message, /template "brender-failure".*eu-west-1/);
      assert.match(error.message, /farm creates it/);
      assert.doesNotMatch(error.message, /\n/);
      return true;
    });
  });
});

describe("SES v2 against moto", () => {
  let moto: MotoServer;
  let home: string;
  before(async () => {
    moto = await startMotoServer();
    home = await mkdtemp(join(tmpdir(), "brender-ses-"));
    const client = new SESv2Client({ endpoint: moto.endpoint, region: moto.region, credentials: moto.credentials });
    await client.send(new CreateEmailIdentityCommand({ EmailIdentity: SENDER }));
    client.destroy();
  });
  after(async () => {
    await moto?.stop();
    if (home) await rm(home, { recursive: true, force: true });
  });
  const sesOptions = (from: string) => ({ from, region: moto.region, endpoint: moto.endpoint, credentials: moto.credentials });

  it("sends the composed e-mail from the verified sender", async () => {
    const before = (await sentMessages(moto)).length;
    const result = await sendWithSes(failed, "artist@example.com", sesOptions(`Brender <${SENDER}>`));
    const messages = await sentMessages(moto);
    assert.equal(messages.length, before + 1);
    const sent = messages.at(-1)!;
    assert.equal(sent.id, result.messageId);
    assert.equal(sent.source, `Brender <${SENDER}>`);
    assert.equal(sent.subject, composeRenderEmail(failed).subject);
    assert.deepEqual(sent.destinations.ToAddresses, ["artist@example.com"]);
    // moto keeps the HTML part when there is one.
    assert.equal(sent.body, composeRenderEmail(failed).html);
    assert.match(sent.body, /c6i\.large/);
  });

  it("says to verify the sender when SES refuses it", async () => {
    await assert.rejects(sendWithSes(succeeded, "artist@example.com", sesOptions("nobody@unverified.example")), (error: Error) => {
      assert.ok(error instanceof JobFailedError);
      assert.match(error.message, /nobody@unverified\.example in us-east-1/);
      assert.match(error.message, /verified identity in SES/);
      assert.match(error.message, /sandbox/);
      return true;
    });
  });

  it("mailer: BRENDER_SES_FROM delivers through SES and still writes the outbox copy", async () => {
    const env = {
      BRENDER_SES_FROM: SENDER,
      AWS_REGION: moto.region,
      AWS_ENDPOINT_URL: moto.endpoint,
      AWS_ACCESS_KEY_ID: moto.credentials.accessKeyId,
      AWS_SECRET_ACCESS_KEY: moto.credentials.secretAccessKey,
    };
    const config = mailerConfigFromEnv(env, join(home, "ok"));
    assert.equal(config.from, SENDER);
    const result = await sendRenderNotification(succeeded, "artist@example.com", config);
    assert.ok(result.ses);
    const sent = (await sentMessages(moto)).find((message) => message.id === result.ses!.messageId);
    assert.equal(sent?.subject, composeRenderEmail(succeeded).subject);
    const outbox = await readFile(result.outboxFile, "utf8");
    assert.match(outbox, /^From: renders@example\.com\r$/m);
    assert.match(outbox, /^X-Brender-Render-ID: r-20261122-000000-000001\r$/m);
  });

  it("mailer: an SES refusal fails with the sender and region, and the outbox copy stays", async () => {
    const env = {
      BRENDER_SES_FROM: "nobody@unverified.example",
      AWS_REGION: moto.region,
      AWS_ENDPOINT_URL_SESV2: moto.endpoint,
      AWS_ACCESS_KEY_ID: moto.credentials.accessKeyId,
      AWS_SECRET_ACCESS_KEY: moto.credentials.secretAccessKey,
    };
    const config = mailerConfigFromEnv(env, join(home, "refused"));
    await assert.rejects(sendRenderNotification(failed, "artist@example.com", config), (error: Error) => {
      assert.ok(error instanceof MailDeliveryError);
      assert.match(error.message, /through SES from nobody@unverified\.example in us-east-1/);
      assert.match(error.message, /the message is kept in /);
      assert.equal(error.server, "SES us-east-1");
      return true;
    });
    assert.equal((await readdir(join(home, "refused", "outbox"))).filter((name) => name.endsWith(".eml")).length, 1);
  });
});

describe("mailerConfigFromEnv with SES", () => {
  it("needs a region and a real address", () => {
    assert.throws(() => mailerConfigFromEnv({ BRENDER_SES_FROM: SENDER }, "/tmp/h"), (error: Error) => {
      assert.ok(error instanceof UserInputError);
      assert.match(error.message, /AWS_REGION/);
      return true;
    });
    assert.throws(() => mailerConfigFromEnv({ BRENDER_SES_FROM: "renders", AWS_REGION: "eu-west-1" }, "/tmp/h"), /BRENDER_SES_FROM "renders"/);
  });

  it("reads the templates and endpoint, and leaves SES off without BRENDER_SES_FROM", () => {
    const config = mailerConfigFromEnv(
      {
        BRENDER_SES_FROM: SENDER,
        AWS_REGION: "eu-west-1",
        AWS_ENDPOINT_URL_SESV2: "http://127.0.0.1:1",
        BRENDER_SES_SUCCESS_TEMPLATE: "ok-t",
        BRENDER_SES_FAILURE_TEMPLATE: "bad-t",
      },
      "/tmp/h",
    );
    assert.deepEqual(config.ses, { from: SENDER, region: "eu-west-1", endpoint: "http://127.0.0.1:1", successTemplate: "ok-t", failureTemplate: "bad-t" });
    assert.equal(mailerConfigFromEnv({ AWS_REGION: "eu-west-1" }, "/tmp/h").ses, undefined);
  });
});
