import { createRequire } from "node:module";
import { extname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { brenderPaths } from "../config.ts";
import { UserInputError } from "../errors.ts";
import { FsObjectStore } from "./fs-store.ts";
import type { ObjectStore } from "./object-store.ts";
import type * as S3Store from "./s3-store.ts";

const require = createRequire(import.meta.url);

/**
 * The S3 store's module, loaded on first use: the AWS SDK takes about a third
 * of a second to load (more on a busy machine), which every worker job and
 * `brender render` would pay for the folder store too.
 */
function s3Store(): typeof S3Store {
  // This file runs as .ts (tests) and .js (dist/); its neighbour has the same extension.
  return require(fileURLToPath(new URL(`./s3-store${extname(fileURLToPath(import.meta.url))}`, import.meta.url))) as typeof S3Store;
}

/** Fails (naming the bucket and the fix) when the store cannot be written; the folder store always can. */
export async function checkStoreAccess(store: ObjectStore): Promise<void> {
  if (!(store instanceof FsObjectStore)) await s3Store().checkBucketAccess(store);
}

/**
 * Opens the object store the configuration names. `BRENDER_STORAGE` may be a
 * folder path, a file:// URL, or `s3://bucket[/prefix]` (credentials, region
 * and AWS_ENDPOINT_URL_S3 / AWS_ENDPOINT_URL from `env` and the standard AWS
 * chain); unset, the embedded store under `$BRENDER_HOME/bucket` is used.
 */
export function openObjectStore(env: NodeJS.ProcessEnv = process.env): ObjectStore {
  const configured = env.BRENDER_STORAGE?.trim();
  if (!configured) return new FsObjectStore(brenderPaths(env).bucket);
  if (configured.startsWith("file://")) return new FsObjectStore(fileURLToPath(configured));
  if (/^s3:\/\//i.test(configured)) return s3Store().S3ObjectStore.fromEnvironment(configured, env);
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(configured)) {
    throw new UserInputError(
      `BRENDER_STORAGE="${configured}" uses a storage scheme this version does not support; use a folder path, file:// URL or s3://bucket[/prefix].`,
    );
  }
  return new FsObjectStore(resolve(configured));
}
