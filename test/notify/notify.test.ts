import { describe, it, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, readFile, readdir, rm } from "node:fs/promises";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import fc from "fast-check";
import { SMTPServer } from "smtp-server";
import {
  composeRenderEmail,
  formatDuration,
  formatFrameRanges,
  renderReportSchema,
} from "../../src/notify/render-report.ts";
import type { RenderReport } from "../../src/notify/render-report.ts";
import {
  DEFAULT_MAIL_FROM,
  MailDeliveryError,
  mailerConfigFromEnv,
  sendRenderNotification,
} from "../../src/notify/mailer.ts";
import { UserInputError } from "../../src/errors.ts";
import { simpleParser, type ParsedAddress } from "../helpers/mail.ts";

function succeeded(overrides: Partial<RenderReport> = {}): RenderReport {
  return {
    renderId: "r-20240501-abc",
    project: "Spring",
    blendFile: "spring.blend",
    status: "succeeded",
    framesExpected: 48,
    framesRendered: 48,
    missingFrames: [],
    startedAt: "2024-05-01T10:00:00Z",
    finishedAt: "2024-05-01T11:02:03Z",
    renderSeconds: 3723,
    outputs: {
      location: "s3://farm-bucket/renders/r-20240501-abc",
      frames: "s3://farm-bucket/renders/r-20240501-abc/frames/",
      zip: "https://farm-bucket.s3.amazonaws.com/renders/r-20240501-abc/frames.zip?X-Amz-Signature=abc&X-Amz-Expires=3600",
      thumbnail: "https://example.com/thumb.png",
      preview: "/home/me/.brender/renders/r-20240501-abc/preview.mp4",
    },
    warnings: ["Missing texture: //textures/wood.png"],
    host: { instanceType: "g5.xlarge", spot: true },
    logLink: "https://example.com/logs/r-20240501-abc",
    ...overrides,
  };
}

function failed(overrides: Partial<RenderReport> = {}): RenderReport {
  return succeeded({
    status: "failed",
    reason: "Blender exited with code 139 while rendering frame 12",
    framesRendered: 45,
    missingFrames: [12, 3, 4, 5, 9],
    ...overrides,
  });
}

function addressesOf(field: ParsedAddress | ParsedAddress[] | undefined): string[] {
  const list = field === undefined ? [] : Array.isArray(field) ? field : [field];
  return list.flatMap((a) => a.value.map((v) => v.address ?? ""));
}

async function tempDir(t: { after: (fn: () => Promise<void>) => void }): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), "brender-notify-"));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

describe("formatFrameRanges", () => {
  it("compresses sorted runs and de-duplicates", () => {
    assert.equal(formatFrameRanges([9, 3, 4, 5, 5]), "3-5,9");
    assert.equal(formatFrameRanges([1]), "1");
    assert.equal(formatFrameRanges([]), "");
    assert.equal(formatFrameRanges([7, 8]), "7-8");
  });

  it("names every frame exactly once (round trip)", () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 500 }), { maxLength: 80 }), (frames) => {
        const text = formatFrameRanges(frames);
        const back = text === ""
          ? []
          : text.split(",").flatMap((part) => {
              const [from, to = from] = part.split("-").map(Number) as [number, number?];
              return Array.from({ length: to - from + 1 }, (_, i) => from + i);
            });
        assert.deepEqual(back, [...new Set(frames)].sort((a, b) => a - b));
      }),
    );
  });

  it("summarises the tail of a long list", () => {
    const everyOther = Array.from({ length: 200 }, (_, i) => i * 2);
    const text = formatFrameRanges(everyOther, 10);
    assert.equal(text, "0,2,4,6,8,10,12,14,16,18,… (+190 more frames)");
  });
});

describe("formatDuration", () => {
  it("formats hours, minutes and seconds for people", () => {
    assert.equal(formatDuration(3723), "1h 02m 03s");
    assert.equal(formatDuration(125), "2m 05s");
    assert.equal(formatDuration(7.4), "7s");
    assert.equal(formatDuration(36000), "10h 00m 00s");
  });
});

describe("renderReportSchema", () => {
  it("accepts the fixtures and rejects a bad status and timestamp", () => {
    assert.equal(renderReportSchema.safeParse(succeeded()).success, true);
    assert.equal(renderReportSchema.safeParse(failed()).success, true);
    assert.equal(renderReportSchema.safeParse({ ...succeeded(), status: "done" }).success, false);
    assert.equal(renderReportSchema.safeParse({ ...succeeded(), finishedAt: "yesterday" }).success, false);
  });
});

describe("composeRenderEmail", () => {
  it("describes a successful render", () => {
    const mail = composeRenderEmail(succeeded());
    assert.equal(mail.subject, 'Brender: "Spring" rendered 48/48 frames');
    assert.match(mail.text, /Frames: +48 of 48 rendered/);
    assert.match(mail.text, /Render time: +1h 02m 03s/);
    assert.match(mail.text, /s3:\/\/farm-bucket\/renders\/r-20240501-abc/);
    assert.match(mail.text, /Log: +https:\/\/example\.com\/logs\/r-20240501-abc/);
    assert.match(mail.text, /Preview: +\/home\/me\/\.brender\/renders\/r-20240501-abc\/preview\.mp4/);
    assert.match(mail.text, /- Missing texture: \/\/textures\/wood\.png/);
    assert.match(mail.text, /Instance type: g5\.xlarge/);
    assert.match(mail.text, /Spot: +yes/);
    assert.doesNotMatch(mail.text, /Missing frames/);
    assert.doesNotMatch(mail.text, /Reason/);
    assert.match(mail.html, /<a href="https:\/\/example\.com\/logs\/r-20240501-abc">/);
    // The & in a signed URL is escaped inside the attribute, not left raw.
    assert.match(mail.html, /frames\.zip\?X-Amz-Signature=abc&amp;X-Amz-Expires=3600"/);
    // s3:// is not a web link.
    assert.doesNotMatch(mail.html, /href="s3:/);
  });

  it("describes a failed render with missing frames as ranges and the reason", () => {
    const mail = composeRenderEmail(failed());
    assert.equal(mail.subject, 'Brender: "Spring" FAILED — 5 of 48 frames missing');
    assert.match(mail.text, /Missing frames: 3-5,9,12 \(5\)/);
    assert.match(mail.text, /Reason: +Blender exited with code 139 while rendering frame 12/);
    assert.match(mail.text, /Status: +FAILED/);
    assert.match(mail.html, /3-5,9,12 \(5\)/);
    assert.match(mail.html, /Blender exited with code 139/);
  });

  it("says FAILED even when every frame is there", () => {
    const mail = composeRenderEmail(failed({ framesRendered: 48, missingFrames: [], reason: "upload failed" }));
    assert.equal(mail.subject, 'Brender: "Spring" FAILED — 48/48 frames rendered');
  });

  it("falls back to wall-clock time without renderSeconds", () => {
    const mail = composeRenderEmail(succeeded({ renderSeconds: undefined }));
    assert.match(mail.text, /Render time: +1h 02m 03s/);
    const noStart = composeRenderEmail(succeeded({ renderSeconds: undefined, startedAt: undefined }));
    assert.doesNotMatch(noStart.text, /Render time/);
  });

  it("escapes HTML in project names, reasons, warnings and links", () => {
    const evil = '<b>&"x"';
    const mail = composeRenderEmail(
      failed({
        project: evil,
        reason: "<script>alert(1)</script>",
        warnings: ["<img src=x onerror=alert(1)>"],
        logLink: 'https://x.test/"><script>',
        outputs: { location: "javascript:alert(1)" },
      }),
    );
    assert.equal(mail.subject, 'Brender: "<b>&"x"" FAILED — 5 of 48 frames missing');
    assert.ok(mail.text.includes(evil));
    assert.ok(!mail.html.includes(evil));
    assert.ok(mail.html.includes("&lt;b&gt;&amp;&quot;x&quot;"));
    assert.doesNotMatch(mail.html, /<script>|<img|<b>/);
    assert.doesNotMatch(mail.html, /href="javascript:/);
    assert.ok(mail.html.includes('href="https://x.test/&quot;&gt;&lt;script&gt;"'));
  });

  it("keeps the subject on one line", () => {
    fc.assert(
      fc.property(fc.string(), (project) => {
        const { subject } = composeRenderEmail(succeeded({ project }));
        assert.doesNotMatch(subject, /[\r\n]/);
      }),
    );
  });
});

describe("mailerConfigFromEnv", () => {
  it("defaults to the outbox under BRENDER_HOME and the default sender", () => {
    const config = mailerConfigFromEnv({}, "/home/me/.brender");
    assert.deepEqual(config, { outboxDir: path.join("/home/me/.brender", "outbox"), from: DEFAULT_MAIL_FROM });
  });

  it("reads SMTP URL and sender", () => {
    const config = mailerConfigFromEnv(
      { BRENDER_SMTP_URL: "smtps://u:p@mail.example.com", BRENDER_MAIL_FROM: "Farm <farm@example.com>" },
      "/h",
    );
    assert.equal(config.smtpUrl, "smtps://u:p@mail.example.com");
    assert.equal(config.from, "Farm <farm@example.com>");
  });

  it("rejects a wrong scheme without echoing the password", () => {
    assert.throws(
      () => mailerConfigFromEnv({ BRENDER_SMTP_URL: "http://u:hunter2@mail.example.com" }, "/h"),
      (e: unknown) =>
        e instanceof UserInputError && /BRENDER_SMTP_URL/.test(e.message) && /"http:"/.test(e.message) &&
        !e.message.includes("hunter2"),
    );
    assert.throws(() => mailerConfigFromEnv({ BRENDER_SMTP_URL: "not a url" }, "/h"), UserInputError);
    assert.throws(() => mailerConfigFromEnv({ BRENDER_MAIL_FROM: "Brender" }, "/h"), /BRENDER_MAIL_FROM "Brender"/);
  });
});

describe("sendRenderNotification", () => {
  type Received = { from: string; to: string[]; user: string | undefined; raw: Buffer };
  const received: Received[] = [];
  let sink: SMTPServer;
  let sinkPort = 0;

  before(async () => {
    sink = new SMTPServer({
      authOptional: true,
      allowInsecureAuth: true,
      disabledCommands: ["STARTTLS"],
      logger: false,
      onAuth(auth, _session, callback) {
        if (auth.username === "farm" && auth.password === "s3cr3t") callback(null, { user: auth.username });
        else callback(new Error("Invalid username or password"));
      },
      onData(stream, session, callback) {
        const chunks: Buffer[] = [];
        stream.on("data", (chunk: Buffer) => chunks.push(chunk));
        stream.on("end", () => {
          received.push({
            from: session.envelope.mailFrom === false ? "" : session.envelope.mailFrom.address,
            to: session.envelope.rcptTo.map((r) => r.address),
            user: typeof session.user === "string" ? session.user : undefined,
            raw: Buffer.concat(chunks),
          });
          callback();
        });
      },
    });
    await new Promise<void>((resolve) => sink.listen(0, "127.0.0.1", resolve));
    const address = sink.server.address();
    assert.ok(address !== null && typeof address === "object");
    sinkPort = address.port;
  });

  after(async () => {
    await new Promise<void>((resolve) => sink.close(() => resolve()));
  });

  it("writes a parseable .eml to the outbox when SMTP is not configured", async (t) => {
    const home = await tempDir(t);
    const config = mailerConfigFromEnv({}, home);
    const result = await sendRenderNotification(failed({ renderId: "r/../weird id:1" }), "artist@example.com", config);

    assert.equal(result.smtp, undefined);
    assert.equal(path.dirname(result.outboxFile), path.join(home, "outbox"));
    const name = path.basename(result.outboxFile);
    assert.match(name, /^\d{4}-\d\d-\d\dT\d\d-\d\d-\d\d\.\d{3}Z-r_\.\._weird_id_1-failed\.eml$/);
    // Nothing but the message itself is left behind (no temp files).
    assert.deepEqual(await readdir(path.join(home, "outbox")), [name]);

    const raw = await readFile(result.outboxFile);
    assert.ok(raw.includes("\r\n"), "RFC 822 line endings");
    const parsed = await simpleParser(raw);
    assert.equal(parsed.subject, 'Brender: "Spring" FAILED — 5 of 48 frames missing');
    assert.deepEqual(addressesOf(parsed.to), ["artist@example.com"]);
    assert.deepEqual(addressesOf(parsed.from), ["brender@localhost"]);
    assert.equal(parsed.from?.value[0]?.name, "Brender");
    assert.match(parsed.text ?? "", /Missing frames: 3-5,9,12 \(5\)/);
    assert.match(parsed.text ?? "", /Reason: +Blender exited with code 139/);
    assert.equal(typeof parsed.html, "string");
    assert.equal(parsed.headers.get("x-brender-render-id"), "r/../weird id:1");
  });

  it("sends over SMTP with credentials and keeps the outbox copy", async (t) => {
    const home = await tempDir(t);
    const config = mailerConfigFromEnv(
      { BRENDER_SMTP_URL: `smtp://farm:s3cr3t@127.0.0.1:${sinkPort}`, BRENDER_MAIL_FROM: "Farm <farm@example.com>" },
      home,
    );
    const before = received.length;
    const result = await sendRenderNotification(succeeded(), "artist@example.com", config);

    assert.equal(received.length, before + 1);
    const got = received[received.length - 1];
    assert.ok(got !== undefined);
    assert.equal(got.from, "farm@example.com");
    assert.deepEqual(got.to, ["artist@example.com"]);
    assert.equal(got.user, "farm");

    const overSmtp = await simpleParser(got.raw);
    const inOutbox = await simpleParser(await readFile(result.outboxFile));
    assert.equal(overSmtp.subject, 'Brender: "Spring" rendered 48/48 frames');
    assert.equal(inOutbox.subject, overSmtp.subject);
    assert.equal(overSmtp.messageId, inOutbox.messageId);
    assert.equal(result.smtp?.messageId, overSmtp.messageId);
    assert.match(overSmtp.text ?? "", /Render time: +1h 02m 03s/);
  });

  it("names the server, not the password, when SMTP is down, and keeps the outbox file", async (t) => {
    const home = await tempDir(t);
    const closedPort = await new Promise<number>((resolve, reject) => {
      const probe = net.createServer();
      probe.once("error", reject);
      probe.listen(0, "127.0.0.1", () => {
        const address = probe.address();
        const port = address !== null && typeof address === "object" ? address.port : 0;
        probe.close(() => resolve(port));
      });
    });
    const config = mailerConfigFromEnv({ BRENDER_SMTP_URL: `smtp://farm:hunter2@127.0.0.1:${closedPort}` }, home);

    const error = await sendRenderNotification(failed(), "artist@example.com", config).then(
      () => assert.fail("expected the SMTP delivery to fail"),
      (e: unknown) => e,
    );
    assert.ok(error instanceof MailDeliveryError);
    assert.ok(error.message.includes(`127.0.0.1:${closedPort}`), error.message);
    assert.match(error.message, /check that the SMTP server is running/);
    assert.ok(!error.message.includes("hunter2"), error.message);
    assert.equal(error.exitCode, 1);
    const outbox = await readdir(path.join(home, "outbox"));
    assert.deepEqual(outbox, [path.basename(error.outboxFile)]);
    assert.equal((await simpleParser(await readFile(error.outboxFile))).subject, 'Brender: "Spring" FAILED — 5 of 48 frames missing');
  });

  it("reports rejected credentials as an authentication problem", async (t) => {
    const home = await tempDir(t);
    const config = mailerConfigFromEnv({ BRENDER_SMTP_URL: `smtp://farm:wrong-pass@127.0.0.1:${sinkPort}` }, home);
    await assert.rejects(sendRenderNotification(succeeded(), "artist@example.com", config), (e: unknown) => {
      assert.ok(e instanceof MailDeliveryError);
      assert.match(e.message, /user name and password/);
      assert.ok(!e.message.includes("wrong-pass"), e.message);
      return true;
    });
  });

  it("rejects a recipient that is not an address before writing anything", async (t) => {
    const home = await tempDir(t);
    await assert.rejects(
      sendRenderNotification(succeeded(), "artist", mailerConfigFromEnv({}, home)),
      /recipient "artist" is not an e-mail address/,
    );
    await assert.rejects(readdir(path.join(home, "outbox")), { code: "ENOENT" });
  });
});
