import { z } from "zod";
import { UserInputError } from "./errors.ts";

/**
 * Where a render's result goes: an e-mail address, a Slack or Discord incoming
 * webhook (sent in their own message format), or any other HTTPS URL (sent the
 * signed, versioned JSON event of render-event.ts).
 */
export type NotifyTarget =
  | { readonly kind: "email"; readonly address: string }
  | { readonly kind: "slack" | "discord" | "webhook"; readonly url: string };

export type WebhookKind = "slack" | "discord" | "webhook";

/** Loopback hosts may be plain http (a local script or test receiver); everything else must be https. */
export function isLoopbackHost(hostname: string): boolean {
  const host = hostname.replace(/^\[|\]$/g, "").toLowerCase();
  return host === "localhost" || host.endsWith(".localhost") || /^127(\.\d{1,3}){3}$/.test(host) || host === "::1";
}

/** Slack incoming webhooks live at hooks.slack.com/services/…; Discord's at discord.com/api/webhooks/… (and the older discordapp.com). */
export function webhookKindOf(url: URL): WebhookKind {
  const host = url.hostname.toLowerCase();
  if (host === "hooks.slack.com") return "slack";
  if (/^((canary|ptb)\.)?discord(app)?\.com$/.test(host) && url.pathname.startsWith("/api/webhooks/")) return "discord";
  return "webhook";
}

/**
 * The problem with a webhook URL as one sentence naming the fix, or undefined when it is usable:
 * absolute http(s), https unless the host is loopback, no fragment.
 */
export function webhookUrlProblem(raw: string): string | undefined {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return `"${redactUrl(raw)}" is not a URL: give an e-mail address or a full https:// URL`;
  }
  if (url.protocol !== "https:" && url.protocol !== "http:") {
    return `${redactUrl(raw)} has scheme "${url.protocol}": webhooks must be https:// URLs`;
  }
  if (url.hostname === "") return `${redactUrl(raw)} has no host: give a full https:// URL`;
  if (url.protocol === "http:" && !isLoopbackHost(url.hostname)) {
    return `${redactUrl(raw)} is plain http: webhooks must use https:// (http is accepted only for localhost, 127.x.x.x or [::1])`;
  }
  return undefined;
}

/**
 * A URL as it may be shown in logs, the manifest and the UI: scheme and host
 * only. Slack and Discord webhook URLs carry their token in the path, other
 * URLs may carry user:password or a token in the query, so none of that is shown.
 */
export function redactUrl(raw: string): string {
  try {
    const url = new URL(raw);
    return `${url.protocol}//${url.host}/…`;
  } catch {
    // Not a URL: still never echo what may be a secret; keep only what looks like a scheme and host.
    const match = /^([a-z][a-z0-9+.-]*:\/\/)?(?:[^@/?#]*@)?([^/?#:]*)/i.exec(raw.trim());
    return match?.[2] ? `${match[1] ?? ""}${match[2]}/…` : "(not a URL)";
  }
}

// The same loose check the payload's e-mail field applies after this split.
const EMAIL_SHAPE = /^[^\s@<>/:]+@[^\s@<>/]+$/;

/**
 * Reads one `--notify` value: an e-mail address, or a webhook URL (the kind told by its host).
 * Throws the one-line problem, naming the setting as `label` says (`--notify`, `settings.notify`).
 */
export function parseNotifyTarget(value: string, label = "--notify"): NotifyTarget {
  const text = value.trim();
  if (/^[a-z][a-z0-9+.-]*:/i.test(text) && !EMAIL_SHAPE.test(text)) {
    const problem = webhookUrlProblem(text);
    if (problem !== undefined) throw new UserInputError(`${label} ${problem}`);
    return { kind: webhookKindOf(new URL(text)), url: text };
  }
  if (EMAIL_SHAPE.test(text)) return { kind: "email", address: text };
  throw new UserInputError(`${label} "${redactUrl(text)}" is neither an e-mail address nor a URL: give name@example.com or https://…`);
}

/**
 * Splits repeated `--notify` values into the payload's `notify` fields: one
 * e-mail address (the mailer sends to one), and the webhook URLs in order,
 * without duplicates.
 */
export function notifyTargetsToPayload(values: readonly string[], label = "--notify"): { email?: string; webhooks?: string[] } {
  const targets = values.map((value) => parseNotifyTarget(value, label));
  const emails = [...new Set(targets.flatMap((t) => (t.kind === "email" ? [t.address] : [])))];
  if (emails.length > 1) {
    throw new UserInputError(`${label} names ${emails.length} e-mail addresses (${emails.join(", ")}): give one, or a mailing list`);
  }
  const webhooks = [...new Set(targets.flatMap((t) => (t.kind === "email" ? [] : [t.url])))];
  if (webhooks.length > MAX_WEBHOOKS) throw new UserInputError(`${label} names ${webhooks.length} webhooks: at most ${MAX_WEBHOOKS} per render`);
  return { ...(emails[0] !== undefined ? { email: emails[0] } : {}), ...(webhooks.length > 0 ? { webhooks } : {}) };
}

export const MAX_WEBHOOKS = 10;

/** A webhook URL in a payload: the same rules as `--notify`, the message never echoing the URL's secret parts. */
export const webhookUrlSchema = z.string().superRefine((value, ctx) => {
  const problem = webhookUrlProblem(value);
  if (problem !== undefined) ctx.addIssue({ code: "custom", message: problem });
});
