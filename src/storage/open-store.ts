import { FsObjectStore } from "./fs-store.ts";
import type { ObjectStore } from "./object-store.ts";
import { S3ObjectStore } from "./s3-store.ts";
import { storeLocation } from "./store-location.ts";

/** Opens the object store the configuration names (see storeLocation; the worker uses loadObjectStore). */
export function openObjectStore(env: NodeJS.ProcessEnv = process.env): ObjectStore {
  const location = storeLocation(env);
  return location.kind === "s3" ? S3ObjectStore.fromEnvironment(location.url, env) : new FsObjectStore(location.folder);
}
