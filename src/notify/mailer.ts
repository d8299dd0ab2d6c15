import { randomBytes } from "node:crypto";
import { mkdir, open, rename, rm } from "node:fs/promises";
import path from "node:path";
import nodemailer from "nodemailer";
import MailComposer from "nodemailer/lib/mail-composer";
import type { NodemailerError } from "nodemailer";
import { JobFailedError, UserInputError } from "../errors.ts";
import { composeRenderEmail } from "./render-report.ts";
import { sendWithSes, type SesOptions } from "./ses.ts";
import type { RenderReport } from "./render-report.ts";

export type MailerConfig = {
  /** Every notification is written here as an .eml file, whether or not SMTP is configured. */
  outboxDir: string;
  /** smtp://user:pass@host:port or smtps://…; unset means outbox only. */
  smtpUrl?: string;
  from: string;
  /** Deliver through Amazon SES v2 too (BRENDER_SES_FROM); the outbox copy is still written. */
  ses?: SesOptions;
};

export const DEFAULT_MAIL_FROM = "Brender <brender@localhost>";

/** SMTP failed after the message was written to the outbox; `outboxFile` still holds it. */
export class MailDeliveryError extends JobFailedError {
  readonly outboxFile: string;
  readonly server: string;
  constructor(message: string, outboxFile: string, server: string, options?: { cause?: unknown }) {
    super(message, options);
    this.outboxFile = outboxFile;
    this.server = server;
  }
}

// A bare "@" check: good enough to catch a forgotten or mistyped variable, the SMTP server judges the rest.
function looksLikeAddress(value: string): boolean {
  return /[^\s@<>]@[^\s@<>]/.test(value);
}

function parseSmtpUrl(raw: string): URL {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new UserInputError(
      "BRENDER_SMTP_URL is not a valid URL: set it like smtp://user:pass@mail.example.com:587 or smtps://user:pass@mail.example.com:465",
    );
  }
  if (url.protocol !== "smtp:" && url.protocol !== "smtps:") {
    throw new UserInputError(
      `BRENDER_SMTP_URL has scheme "${url.protocol}": use smtp:// (STARTTLS, usually port 587) or smtps:// (TLS, usually port 465)`,
    );
  }
  if (url.hostname === "") {
    throw new UserInputError("BRENDER_SMTP_URL has no host: set it like smtp://user:pass@mail.example.com:587");
  }
  return url;
}

/** host:port as nodemailer will dial it; never includes the credentials. */
function serverLabel(smtpUrl: string): string {
  const url = new URL(smtpUrl);
  const port = url.port !== "" ? url.port : url.protocol === "smtps:" ? "465" : "587";
  return `${url.hostname}:${port}`;
}

/**
 * Reads the mail settings: the outbox is `<brenderHome>/outbox`, BRENDER_SMTP_URL (optional)
 * turns on SMTP delivery, BRENDER_MAIL_FROM sets the sender (default "Brender <brender@localhost>").
 * BRENDER_SES_FROM (set by the AWS farm) turns on SES delivery from that sender, in AWS_REGION,
 * with BRENDER_SES_SUCCESS_TEMPLATE / BRENDER_SES_FAILURE_TEMPLATE when set and
 * AWS_ENDPOINT_URL_SESV2 / AWS_ENDPOINT_URL as the endpoint when set.
 * Throws UserInputError for a malformed URL or sender.
 */
export function mailerConfigFromEnv(env: NodeJS.ProcessEnv, brenderHome: string): MailerConfig {
  // First, so a bad BRENDER_SES_FROM is named as such even where it doubles as the outbox sender.
  const ses = sesOptionsFromEnv(env);
  const config: MailerConfig = {
    outboxDir: path.join(brenderHome, "outbox"),
    from: env.BRENDER_MAIL_FROM?.trim() || env.BRENDER_SES_FROM?.trim() || DEFAULT_MAIL_FROM,
  };
  if (!looksLikeAddress(config.from)) {
    throw new UserInputError(
      `BRENDER_MAIL_FROM "${config.from}" has no e-mail address: set it like "Brender <render@example.com>"`,
    );
  }
  const smtpUrl = env.BRENDER_SMTP_URL?.trim();
  if (smtpUrl) {
    parseSmtpUrl(smtpUrl);
    config.smtpUrl = smtpUrl;
  }
  if (ses) config.ses = ses;
  return config;
}

function sesOptionsFromEnv(env: NodeJS.ProcessEnv): SesOptions | undefined {
  const from = env.BRENDER_SES_FROM?.trim();
  if (!from) return undefined;
  if (!looksLikeAddress(from)) {
    throw new UserInputError(`BRENDER_SES_FROM "${from}" has no e-mail address: set it to the farm's verified sender, like renders@example.com`);
  }
  const region = env.AWS_REGION?.trim() || env.AWS_DEFAULT_REGION?.trim();
  if (!region) {
    throw new UserInputError(`BRENDER_SES_FROM is set but AWS_REGION is not: set AWS_REGION to the region where ${from} is verified in SES`);
  }
  const endpoint = env.AWS_ENDPOINT_URL_SESV2?.trim() || env.AWS_ENDPOINT_URL?.trim();
  const accessKeyId = env.AWS_ACCESS_KEY_ID?.trim();
  const secretAccessKey = env.AWS_SECRET_ACCESS_KEY?.trim();
  const sessionToken = env.AWS_SESSION_TOKEN?.trim();
  const successTemplate = env.BRENDER_SES_SUCCESS_TEMPLATE?.trim();
  const failureTemplate = env.BRENDER_SES_FAILURE_TEMPLATE?.trim();
  return {
    from,
    region,
    ...(endpoint ? { endpoint } : {}),
    ...(successTemplate ? { successTemplate } : {}),
    ...(failureTemplate ? { failureTemplate } : {}),
    // `env` may not be this process's environment (tests, the local farm): its keys win over the default chain.
    ...(accessKeyId && secretAccessKey ? { credentials: { accessKeyId, secretAccessKey, ...(sessionToken ? { sessionToken } : {}) } } : {}),
  };
}

// Colons are not allowed in Windows file names, so the ISO timestamp loses them.
function fileTimestamp(date: Date): string {
  return date.toISOString().replace(/:/g, "-");
}

function safeFileComponent(value: string): string {
  const cleaned = value.replace(/[^A-Za-z0-9._-]+/g, "_").replace(/^[.]+/, "_").slice(0, 100);
  return cleaned === "" ? "render" : cleaned;
}

/** Writes via a hidden temp file and rename, so an outbox reader never sees half a message. */
async function writeAtomically(file: string, data: Buffer): Promise<void> {
  const temp = path.join(path.dirname(file), `.${path.basename(file)}.${randomBytes(6).toString("hex")}.tmp`);
  try {
    const handle = await open(temp, "wx");
    try {
      await handle.writeFile(data);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temp, file);
  } catch (error) {
    await rm(temp, { force: true });
    throw error;
  }
}

function smtpHint(error: Pick<NodemailerError, "code" | "originalCode">): string {
  const code = error.originalCode ?? error.code;
  if (code === "EAUTH") return "check the user name and password in BRENDER_SMTP_URL";
  if (code === "EENVELOPE") return "check the recipient address and BRENDER_MAIL_FROM, the server refused one of them";
  if (code === "ETIMEDOUT" || code === "ECONNECTION" || code === "ETLS") {
    return "check the host and port in BRENDER_SMTP_URL and whether the server wants smtps:// (TLS, port 465) or smtp:// (STARTTLS, port 587)";
  }
  if (code === "EDNS" || code === "ENOTFOUND") return "check the host name in BRENDER_SMTP_URL";
  return "check that the SMTP server is running and reachable and that BRENDER_SMTP_URL has the right host, port and scheme";
}

// Server replies end up in error messages; make sure the password from the URL never does.
function withoutPassword(text: string, smtpUrl: string): string {
  const password = new URL(smtpUrl).password;
  if (password === "") return text;
  let decoded = password;
  try {
    decoded = decodeURIComponent(password);
  } catch {
    // A malformed escape stays as typed; the raw form is scrubbed either way.
  }
  return [password, decoded].reduce((t, secret) => t.split(secret).join("***"), text);
}

function describeFailure(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const e = error as NodemailerError;
  const code = e.originalCode ?? e.code;
  const text = code !== undefined && !e.message.includes(code) ? `${code}: ${e.message}` : e.message;
  return text.replace(/\s+/g, " ").trim();
}

/**
 * Delivers the notification for a finished render to `to`. The message is always written as
 * an RFC 822 file to the outbox first; with `config.ses` it is then sent through SES, and with
 * `config.smtpUrl` over SMTP. A delivery failure throws MailDeliveryError naming the server
 * (never the password) or the SES sender and region; the outbox copy stays.
 */
export async function sendRenderNotification(
  report: RenderReport,
  to: string,
  config: MailerConfig,
): Promise<{ outboxFile: string; smtp?: { messageId: string }; ses?: { messageId: string; template?: string } }> {
  if (!looksLikeAddress(to)) {
    throw new UserInputError(`notification recipient "${to}" is not an e-mail address: give one like you@example.com`);
  }
  const email = composeRenderEmail(report);
  const now = new Date();
  const message = new MailComposer({
    from: config.from,
    to,
    subject: email.subject,
    text: email.text,
    html: email.html,
    date: now,
    headers: { "X-Brender-Render-Id": report.renderId },
    newline: "win",
  }).compile();
  const messageId = message.messageId();
  const raw = await message.build();

  await mkdir(config.outboxDir, { recursive: true });
  const outboxFile = path.join(
    config.outboxDir,
    `${fileTimestamp(now)}-${safeFileComponent(report.renderId)}-${report.status}.eml`,
  );
  await writeAtomically(outboxFile, raw);

  let ses: { messageId: string; template?: string } | undefined;
  if (config.ses !== undefined) {
    try {
      ses = await sendWithSes(report, to, config.ses);
    } catch (error) {
      throw new MailDeliveryError(`${(error as Error).message}; the message is kept in ${outboxFile}`, outboxFile, `SES ${config.ses.region}`, {
        cause: error,
      });
    }
  }
  if (config.smtpUrl === undefined) return { outboxFile, ...(ses ? { ses } : {}) };

  const server = serverLabel(config.smtpUrl);
  const transport = nodemailer.createTransport({
    url: config.smtpUrl,
    connectionTimeout: 20_000,
    greetingTimeout: 20_000,
    socketTimeout: 60_000,
  });
  try {
    await transport.sendMail({ envelope: { from: config.from, to: [to] }, raw });
    // nodemailer invents a fresh id for raw messages; the one in the headers is what the recipient sees.
    return { outboxFile, smtp: { messageId }, ...(ses ? { ses } : {}) };
  } catch (error) {
    const hint = smtpHint(error instanceof Error ? (error as NodemailerError) : {});
    const failure = withoutPassword(describeFailure(error), config.smtpUrl);
    throw new MailDeliveryError(
      `could not send the render notification through SMTP server ${server} (${failure}): ${hint}; the message is kept in ${outboxFile}`,
      outboxFile,
      server,
      { cause: error },
    );
  } finally {
    transport.close();
  }
}
