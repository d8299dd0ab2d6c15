import { redactUrl, webhookKindOf, type WebhookKind } from "../domain/notify-target.ts";
import type { RenderEvent } from "../domain/render-event.ts";
import type { WebhookDelivery } from "../domain/render-manifest.ts";
import { discordMessage, slackMessage } from "./chat-messages.ts";
import { SIGNATURE_HEADER, signBody } from "./webhook-signature.ts";

export type WebhookOptions = {
  /** Signs generic webhooks' bodies (X-Brender-Signature); Slack and Discord bodies are not signed (they authenticate by their URL). */
  readonly secret?: string | undefined;
  /** Each attempt is cut after this long (default 5 s). */
  readonly timeoutMs?: number;
  /** Waits before the 2nd, 3rd… attempt (default 1 s, 4 s, 16 s: four attempts). */
  readonly backoffMs?: readonly number[];
  readonly sleep?: (ms: number) => Promise<void>;
};

export const DEFAULT_TIMEOUT_MS = 5_000;
export const DEFAULT_BACKOFF_MS: readonly number[] = [1_000, 4_000, 16_000];

/** The body each kind of receiver gets: Slack and Discord their own format, anyone else the event itself. */
export function webhookBody(kind: WebhookKind, event: RenderEvent): string {
  if (kind === "slack") return JSON.stringify(slackMessage(event));
  if (kind === "discord") return JSON.stringify(discordMessage(event));
  return JSON.stringify(event);
}

/**
 * Posts one event to one webhook. Retries (with backoff) on 5xx answers,
 * timeouts and network errors; a 4xx (or a redirect, never followed) is the
 * receiver's final word. Never throws: the outcome and every attempt are in
 * the result, whose target is the URL's scheme and host only.
 */
export async function deliverWebhook(url: string, event: RenderEvent, options: WebhookOptions = {}): Promise<WebhookDelivery> {
  const kind = webhookKindOf(new URL(url));
  const body = webhookBody(kind, event);
  const headers: Record<string, string> = {
    "content-type": "application/json",
    "user-agent": "Brender-Webhook/1",
  };
  if (kind === "webhook") {
    headers["x-brender-event"] = event.type;
    headers["x-brender-delivery"] = event.id;
    if (options.secret !== undefined) headers[SIGNATURE_HEADER.toLowerCase()] = signBody(options.secret, body);
  }
  const backoff = options.backoffMs ?? DEFAULT_BACKOFF_MS;
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const delivery: WebhookDelivery = { target: redactUrl(url), kind, event: event.type, eventId: event.id, outcome: "failed", attempts: [] };
  for (let attempt = 1; ; attempt++) {
    const started = Date.now();
    const at = new Date(started).toISOString();
    let retry: boolean;
    try {
      const response = await fetch(url, { method: "POST", headers, body, redirect: "manual", signal: AbortSignal.timeout(timeoutMs) });
      // The answer's body is not needed (and may be large or slow): let it go.
      await response.body?.cancel().catch(() => {});
      delivery.attempts.push({ attempt, at, ms: Date.now() - started, status: response.status });
      if (response.status >= 200 && response.status < 300) {
        delivery.outcome = "delivered";
        return delivery;
      }
      retry = response.status >= 500;
      if (!retry) delivery.outcome = "rejected";
    } catch (error) {
      delivery.attempts.push({ attempt, at, ms: Date.now() - started, error: describeFailure(error, url, timeoutMs) });
      retry = true;
    }
    const wait = backoff[attempt - 1];
    if (!retry || wait === undefined) return delivery;
    await sleep(wait);
  }
}

/** A network failure in a few words, without the URL (whose path or query may be a secret). */
function describeFailure(error: unknown, url: string, timeoutMs: number): string {
  const err = error as Error & { cause?: { code?: string; message?: string } };
  if (err.name === "TimeoutError" || err.name === "AbortError") return `no answer within ${timeoutMs / 1000} s`;
  const cause = err.cause;
  const text = cause?.code ?? cause?.message ?? err.message;
  return text.split(url).join(redactUrl(url));
}

/** One line for logs, `status` and warnings: "https://hooks.slack.com/… delivered (1 attempt, HTTP 200)". */
export function describeDelivery(delivery: WebhookDelivery): string {
  const last = delivery.attempts[delivery.attempts.length - 1];
  const answer = last === undefined ? "" : last.status !== undefined ? `HTTP ${last.status}` : last.error ?? "";
  const tries = `${delivery.attempts.length} attempt${delivery.attempts.length === 1 ? "" : "s"}`;
  return `${delivery.event} to ${delivery.target} ${delivery.outcome} (${tries}${answer ? `, last: ${answer}` : ""})`;
}
