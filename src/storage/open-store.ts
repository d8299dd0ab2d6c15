import { resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { brenderPaths } from "../config.ts";
import { UserInputError } from "../errors.ts";
import { FsObjectStore } from "./fs-store.ts";
import type { ObjectStore } from "./object-store.ts";
import { S3ObjectStore } from "./s3-store.ts";

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
  if (/^s3:\/\//i.test(configured)) return S3ObjectStore.fromEnvironment(configured, env);
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(configured)) {
    throw new UserInputError(
      `BRENDER_STORAGE="${configured}" uses a storage scheme this version does not support; use a folder path, file:// URL or s3://bucket[/prefix].`,
    );
  }
  return new FsObjectStore(resolve(configured));
}
