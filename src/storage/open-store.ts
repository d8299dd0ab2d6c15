import { resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { brenderPaths } from "../config.ts";
import { UserInputError } from "../errors.ts";
import { FsObjectStore } from "./fs-store.ts";
import type { ObjectStore } from "./object-store.ts";

/**
 * Opens the object store the configuration names. `BRENDER_STORAGE` may be a
 * folder path or a file:// URL; unset, the embedded store under
 * `$BRENDER_HOME/bucket` is used. (S3 storage is the next step on the roadmap.)
 */
export function openObjectStore(env: NodeJS.ProcessEnv = process.env): ObjectStore {
  const configured = env.BRENDER_STORAGE?.trim();
  if (!configured) return new FsObjectStore(brenderPaths(env).bucket);
  if (configured.startsWith("file://")) return new FsObjectStore(fileURLToPath(configured));
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(configured)) {
    throw new UserInputError(
      `BRENDER_STORAGE="${configured}" uses a storage scheme this version does not support; use a folder path or file:// URL.`,
    );
  }
  return new FsObjectStore(resolve(configured));
}
