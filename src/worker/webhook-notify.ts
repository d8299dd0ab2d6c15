import { randomUUID } from "node:crypto";
import { redactUrl, webhookKindOf } from "../domain/notify-target.ts";
import { finishedRenderEvent, type FinishedRender } from "../domain/render-event.ts";
import type { RenderJobPayload } from "../domain/render-payload.ts";
import { storedWebhooksSchema } from "../domain/stored-webhooks.ts";
import type { WebhookDelivery } from "../domain/render-manifest.ts";
import { deliverWebhook, describeDelivery, DEFAULT_BACKOFF_MS, DEFAULT_TIMEOUT_MS } from "../notify/webhook.ts";
import { webhookSecret } from "../notify/webhook-secret.ts";
import type { ActionContext } from "./context.ts";

/**
 * Sends a finished render's event to its webhooks, all at once, and returns
 * each delivery with warnings for those that did not arrive. Never throws: a
 * webhook is a notification, never a reason for a render to fail.
 */
export async function notifyWebhooks(
  context: ActionContext,
  urls: readonly string[],
  render: FinishedRender,
): Promise<{ deliveries: WebhookDelivery[]; warnings: string[] }> {
  const warnings: string[] = [];
  if (urls.length === 0) return { deliveries: [], warnings };
  const env = context.processEnv;
  const event = finishedRenderEvent(render, { id: randomUUID(), createdAt: new Date().toISOString(), serverUrl: env.BRENDER_SERVER_URL?.trim() || undefined });
  let secret: string | undefined;
  if (urls.some((url) => webhookKindOf(new URL(url)) === "webhook")) {
    try {
      secret = await webhookSecret(env, context.paths.home);
    } catch (error) {
      const message = `Webhooks other than Slack and Discord were not sent: the signing secret could not be read (${(error as Error).message})`;
      context.log.error(message);
      warnings.push(message);
    }
  }
  const options = { timeoutMs: positiveNumber(env.BRENDER_WEBHOOK_TIMEOUT_MS) ?? DEFAULT_TIMEOUT_MS, backoffMs: backoffFrom(env.BRENDER_WEBHOOK_BACKOFF_MS) };
  const sendable = urls.filter((url) => secret !== undefined || webhookKindOf(new URL(url)) !== "webhook");
  const deliveries = await Promise.all(sendable.map((url) => deliverWebhook(url, event, { ...options, secret })));
  for (const delivery of deliveries) {
    const line = describeDelivery(delivery);
    if (delivery.outcome === "delivered") context.log.info({ webhook: delivery.target, attempts: delivery.attempts.length }, line);
    else {
      context.log.warn({ webhook: delivery.target, attempts: delivery.attempts.length }, line);
      warnings.push(`The webhook notification was not delivered: ${line}`);
    }
  }
  for (const url of urls.filter((u) => !sendable.includes(u))) context.log.warn({ webhook: redactUrl(url) }, "webhook not sent: no signing secret");
  return { deliveries, warnings };
}

/** Whether the render has webhooks to tell: URLs in its payload, or (AWS farms) stored in the bucket. */
export function hasWebhooks(notify: RenderJobPayload["notify"]): boolean {
  return (notify.webhooks?.length ?? 0) > 0 || notify.storedWebhooks !== undefined;
}

/**
 * The render's webhook URLs: the payload's own (local farm), or on an AWS farm read from the object
 * its `storedWebhooks` names (src/domain/stored-webhooks.ts). An object that is missing or not this
 * render's is a warning naming only the hosts: the render is published all the same.
 */
export async function webhookUrlsOf(context: ActionContext, payload: RenderJobPayload): Promise<{ urls: string[]; warnings: string[] }> {
  const reference = payload.notify.storedWebhooks;
  if (reference === undefined) return { urls: payload.notify.webhooks ?? [], warnings: [] };
  const unread = (why: string) => {
    const message = `The webhooks (${reference.targets.join(", ")}) were not told: their URLs could not be read from ${context.store.describe(reference.key)} (${why}); 'brender retry' stores them again`;
    context.log.error(message);
    return { urls: [], warnings: [message] };
  };
  let text: string;
  try {
    text = (await context.store.getBytes(reference.key)).toString("utf8");
  } catch (error) {
    return unread(oneLine(error));
  }
  // Neither JSON.parse's message nor zod's issues are passed on: they may quote the URLs.
  const stored = storedWebhooksSchema.safeParse(parseJson(text));
  if (!stored.success) return unread("it is not a list of webhook URLs Brender wrote");
  if (stored.data.renderId !== payload.renderId) return unread(`it belongs to render ${stored.data.renderId}`);
  return { urls: stored.data.webhooks, warnings: [] };
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** Deletes the stored webhook URLs once the render's work is cleaned up; a failure only leaves them to the bucket's expiry rule. */
export async function forgetStoredWebhooks(context: ActionContext, payload: RenderJobPayload): Promise<void> {
  const reference = payload.notify.storedWebhooks;
  if (reference === undefined) return;
  await context.store.delete(reference.key).catch((error: unknown) => {
    context.log.warn({ key: reference.key, error: oneLine(error) }, "the stored webhook URLs could not be deleted; the bucket's expiry rule will");
  });
}

/** An error's message on one line. */
function oneLine(error: unknown): string {
  return (error instanceof Error ? error.message : String(error)).replace(/\s+/g, " ").trim();
}

function positiveNumber(text: string | undefined): number | undefined {
  const value = Number(text);
  return text !== undefined && text.trim() !== "" && Number.isFinite(value) && value > 0 ? value : undefined;
}

/** BRENDER_WEBHOOK_BACKOFF_MS="1000,4000,16000": the waits before each retry (their count is the number of retries). */
function backoffFrom(text: string | undefined): readonly number[] {
  if (text === undefined || text.trim() === "") return DEFAULT_BACKOFF_MS;
  const waits = text.split(",").map((part) => Number(part.trim()));
  return waits.every((wait) => Number.isFinite(wait) && wait >= 0) ? waits : DEFAULT_BACKOFF_MS;
}
