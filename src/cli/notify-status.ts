import type { RenderManifest } from "../domain/render-manifest.ts";
import { describeDelivery } from "../notify/webhook.ts";

/** `status` lines for a render's webhook deliveries, one each (targets by scheme and host only). */
export function webhookStatusLines(manifest: RenderManifest | null | undefined): string {
  return (manifest?.webhooks ?? []).map((delivery) => `  webhook ${describeDelivery(delivery)}\n`).join("");
}
