/**
 * A render's webhook URLs kept out of AWS Batch. A Slack or Discord incoming-webhook URL is a
 * credential (whoever has it posts to the channel), and a job's environment, where the payload
 * travels, is readable with batch:DescribeJobs, in the Batch console and in CloudTrail's SubmitJob
 * records. So an AWS submission writes the URLs to one object next to the render's project manifest
 * in the farm's private bucket, and the payload carries only that object's key and the URLs'
 * redacted forms, for display (docs/decisions.md). The upload job reads the URLs back, and deletes
 * the object when it cleans up the render's work.
 */
import { z } from "zod";
import { MAX_WEBHOOKS, redactUrl, webhookUrlSchema } from "./notify-target.ts";
import type { RenderJobPayload } from "./render-payload.ts";

/** Ending of every stored-webhooks key. */
export const STORED_WEBHOOKS_SUFFIX = ".webhooks.json";

/** Where a render's webhook URLs are stored: `<project>/projects/<renderId>.webhooks.json`, beside its project manifest. */
export function storedWebhooksKey(projectName: string, renderId: string): string {
  return `${projectName}/projects/${renderId}${STORED_WEBHOOKS_SUFFIX}`;
}

/** A URL as redactUrl shows it: scheme and host, then "/…". Only that shape is accepted, so a display field cannot carry a secret. */
const REDACTED_URL = /^https?:\/\/[^/?#@\s]+\/…$/;

/** `notify.storedWebhooks` in a payload: where the URLs are, and how to show them. */
export const webhookReferenceSchema = z.strictObject({
  key: z.string().endsWith(STORED_WEBHOOKS_SUFFIX),
  targets: z
    .array(z.string().regex(REDACTED_URL, 'must be a redacted URL: scheme and host then "/…", e.g. "https://hooks.slack.com/…"'))
    .min(1)
    .max(MAX_WEBHOOKS),
});
export type WebhookReference = z.output<typeof webhookReferenceSchema>;

/** The stored object: the full URLs, and the render they belong to. */
export const storedWebhooksSchema = z.strictObject({
  schemaVersion: z.literal(1),
  renderId: z.string(),
  webhooks: z.array(webhookUrlSchema).min(1).max(MAX_WEBHOOKS),
});
export type StoredWebhooks = z.output<typeof storedWebhooksSchema>;

/**
 * The payload to give AWS Batch: its webhook URLs replaced by a reference, and the object (key and
 * JSON body) to store before submitting. A payload without webhook URLs comes back as it is.
 */
export function sealWebhooks(payload: RenderJobPayload): { payload: RenderJobPayload; stored?: { key: string; body: string } } {
  const { webhooks, ...notify } = payload.notify;
  if (webhooks === undefined || webhooks.length === 0) return { payload };
  const key = storedWebhooksKey(payload.project.name, payload.renderId);
  const stored: StoredWebhooks = { schemaVersion: 1, renderId: payload.renderId, webhooks };
  return {
    payload: { ...payload, notify: { ...notify, storedWebhooks: { key, targets: webhooks.map(redactUrl) } } },
    stored: { key, body: `${JSON.stringify(stored)}\n` },
  };
}

/** Who a render tells its result, as any screen may show it: the e-mail address and each webhook's scheme and host only. */
export function shownNotifyTargets(notify: RenderJobPayload["notify"]): string[] {
  const webhooks = notify.webhooks?.map(redactUrl) ?? notify.storedWebhooks?.targets ?? [];
  return [...(notify.email !== undefined ? [notify.email] : []), ...webhooks];
}
