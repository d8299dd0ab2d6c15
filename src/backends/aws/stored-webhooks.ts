/**
 * Writing a render's webhook URLs to the farm's bucket around its submission (src/domain/stored-webhooks.ts
 * says why they are not in the jobs' environment).
 */
import { RENDER_OUTPUT_TAG } from "../../domain/layout.ts";
import type { ObjectStore } from "../../storage/object-store.ts";

/**
 * Stores the URLs, then submits. The object carries the outputs' expiry tag, so the bucket's lifecycle
 * rule takes it even when no upload job ever runs to delete it (a render cancelled without publishing).
 * When submitting fails no job will read it: it is deleted again (best effort) and the error raised.
 */
export async function submitWithStoredWebhooks<T>(
  store: ObjectStore,
  stored: { readonly key: string; readonly body: string } | undefined,
  submit: () => Promise<T>,
): Promise<T> {
  if (stored === undefined) return submit();
  await store.putBytes(stored.key, stored.body, { tags: { [RENDER_OUTPUT_TAG.key]: RENDER_OUTPUT_TAG.value } });
  try {
    return await submit();
  } catch (error) {
    await store.delete(stored.key).catch(() => {});
    throw error;
  }
}
