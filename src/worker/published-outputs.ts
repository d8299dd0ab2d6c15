import { access } from "node:fs/promises";
import { join } from "node:path";
import { renderManifestSchema, type RenderManifest } from "../domain/render-manifest.ts";
import type { ObjectStore } from "../storage/object-store.ts";

/**
 * What an earlier run of `upload_render_output` left in the object store.
 * An upload can be run again after its worker was stopped half-way (its
 * runner died, the machine rebooted); the store then holds part or all of
 * the render, and the work folder may already be gone. These functions let
 * the re-run finish the job instead of reporting frames as lost.
 */

/** The manifest an earlier run wrote under `prefix`, if there is a readable one. */
export async function publishedManifest(store: ObjectStore, prefix: string): Promise<RenderManifest | undefined> {
  const key = `${prefix}manifest.json`;
  if (!(await store.stat(key))) return undefined;
  try {
    const parsed = renderManifestSchema.safeParse(JSON.parse((await store.getBytes(key)).toString("utf8")));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}

/**
 * True when the render is already published and nothing is left to do: the
 * manifest (written last) says it succeeded and every file it lists is still
 * in the store. The earlier run also sent the e-mail, so the re-run must not;
 * at most the work folder it was cleaning is left to remove.
 */
export async function alreadyPublished(store: ObjectStore, manifest: RenderManifest | undefined): Promise<boolean> {
  if (!manifest || manifest.status !== "succeeded") return false;
  for (const file of manifest.files) if (!(await store.stat(file.key))) return false;
  return true;
}

/**
 * Brings back into `outputFolder` every render output the store holds under
 * `prefix` that is missing locally (frames, compositor outputs: the keys in
 * sub-folders; the top-level keys are this action's own zip, thumbnail,
 * preview and manifest, which it makes again). The re-run then counts,
 * zips and reports them like freshly rendered files, so it never reports
 * fewer frames than the store holds. Returns how many files came back.
 */
export async function restoreFromStore(store: ObjectStore, prefix: string, outputFolder: string, signal?: AbortSignal): Promise<number> {
  let restored = 0;
  for await (const object of store.list(prefix)) {
    const relativeKey = object.key.slice(prefix.length);
    if (!relativeKey.includes("/")) continue;
    const target = join(outputFolder, ...relativeKey.split("/"));
    if (await access(target).then(() => true, () => false)) continue;
    signal?.throwIfAborted();
    await store.getFile(object.key, target, { signal });
    restored++;
  }
  return restored;
}
