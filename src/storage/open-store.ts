import { createRequire } from "node:module";
import { extname } from "node:path";
import { fileURLToPath } from "node:url";
import { FsObjectStore } from "./fs-store.ts";
import type { ObjectStore } from "./object-store.ts";
import type * as S3Store from "./s3-store.ts";
import { storeLocation } from "./store-location.ts";

const require = createRequire(import.meta.url);

/**
 * The S3 store's module, loaded on first use (synchronously, so
 * openObjectStore stays synchronous): the AWS SDK takes about a third of a
 * second to load (more on a busy machine), which `brender render` would pay
 * for the folder store too. The worker uses loadObjectStore (store-location.ts).
 */
function s3Store(): typeof S3Store {
  // This file runs as .ts (tests) and .js (dist/); its neighbour has the same extension.
  return require(fileURLToPath(new URL(`./s3-store${extname(fileURLToPath(import.meta.url))}`, import.meta.url))) as typeof S3Store;
}

/** Opens the object store the configuration names (see storeLocation; the worker uses loadObjectStore). */
export function openObjectStore(env: NodeJS.ProcessEnv = process.env): ObjectStore {
  const location = storeLocation(env);
  return location.kind === "s3" ? s3Store().S3ObjectStore.fromEnvironment(location.url, env) : new FsObjectStore(location.folder);
}

/** Fails (naming the bucket and the fix) when the store cannot be written; the folder store always can. */
export async function checkStoreAccess(store: ObjectStore): Promise<void> {
  if (!(store instanceof FsObjectStore)) await s3Store().checkBucketAccess(store);
}
