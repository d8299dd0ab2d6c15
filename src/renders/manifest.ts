import { outputPrefix } from "../domain/layout.ts";
import { renderManifestSchema, type RenderManifest } from "../domain/render-manifest.ts";
import type { ObjectStore } from "../storage/object-store.ts";

/**
 * A render's manifest.json (written last by the upload job), or undefined
 * while there is none. Both stores say "missing" with code ENOENT; any other
 * failure (S3 refusing, unreachable) is thrown for the caller to explain.
 */
export async function readRenderManifest(objects: ObjectStore, projectName: string, renderId: string): Promise<RenderManifest | undefined> {
  let bytes: Buffer;
  try {
    bytes = await objects.getBytes(`${outputPrefix(projectName, renderId)}manifest.json`);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw error;
  }
  return renderManifestSchema.parse(JSON.parse(bytes.toString("utf8")));
}
