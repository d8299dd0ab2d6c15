import { resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { brenderPaths } from "../config.ts";
import { UserInputError } from "../errors.ts";
import { FsObjectStore } from "./fs-store.ts";
import type { ObjectStore } from "./object-store.ts";

/** Where `BRENDER_STORAGE` points: a folder, or an S3 URL. */
export type StoreLocation = { readonly kind: "folder"; readonly folder: string } | { readonly kind: "s3"; readonly url: string };

/**
 * Reads the store's place from the configuration. `BRENDER_STORAGE` may be a
 * folder path, a file:// URL, or `s3://bucket[/prefix]` (credentials, region
 * and AWS_ENDPOINT_URL_S3 / AWS_ENDPOINT_URL from `env` and the standard AWS
 * chain); unset, the embedded store under `$BRENDER_HOME/bucket` is used.
 */
export function storeLocation(env: NodeJS.ProcessEnv = process.env): StoreLocation {
  const configured = env.BRENDER_STORAGE?.trim();
  if (!configured) return { kind: "folder", folder: brenderPaths(env).bucket };
  if (configured.startsWith("file://")) return { kind: "folder", folder: fileURLToPath(configured) };
  if (/^s3:\/\//i.test(configured)) return { kind: "s3", url: configured };
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(configured)) {
    throw new UserInputError(
      `BRENDER_STORAGE="${configured}" uses a storage scheme this version does not support; use a folder path, file:// URL or s3://bucket[/prefix].`,
    );
  }
  return { kind: "folder", folder: resolve(configured) };
}

/**
 * openObjectStore for short-lived processes (the worker): the AWS SDK is
 * loaded only for an s3:// store. Loading it costs a Node process about half a
 * second of CPU, more than a short render's frame.
 */
export async function loadObjectStore(env: NodeJS.ProcessEnv = process.env): Promise<ObjectStore> {
  const location = storeLocation(env);
  if (location.kind === "folder") return new FsObjectStore(location.folder);
  const { S3ObjectStore } = await import("./s3-store.ts");
  return S3ObjectStore.fromEnvironment(location.url, env);
}
