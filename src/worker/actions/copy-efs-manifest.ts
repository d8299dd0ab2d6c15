import { chmod, constants, copyFile, mkdir, rm, stat } from "node:fs/promises";
import { dirname, join } from "node:path";
import { JobFailedError } from "../../errors.ts";
import { mapWithConcurrency, SMALL_BLOB_BYTES } from "../../storage/content-upload.ts";
import { sha256OfFile } from "../../storage/hash-cache.ts";
import type { ObjectStore } from "../../storage/object-store.ts";
import { blobKey, filesByContent, parseManifest, type ProjectManifest } from "../../storage/project-manifest.ts";

export type RebuildOptions = {
  /** Large blobs downloaded at the same time (default 4; each may download in parallel parts itself). */
  readonly concurrency?: number;
  /**
   * Small blobs (under SMALL_BLOB_BYTES) downloaded at the same time (default
   * 16): their time is mostly round trips, which overlap; large ones share
   * the bandwidth.
   */
  readonly smallConcurrency?: number;
  readonly signal?: AbortSignal;
  /** Told about a corrupted blob that could not be removed from the store. */
  readonly onWarning?: (message: string) => void;
  /**
   * Files the render only reads (manifest paths): on a store on this disk
   * they are hard-linked to the store's blob instead of copied (see
   * ObjectStore.linkFile). Default: none.
   */
  readonly readOnly?: (manifestPath: string) => boolean;
};

export type RebuildResult = {
  readonly files: number;
  readonly bytes: number;
  /** Distinct contents downloaded; the other files were local copies of them. */
  readonly blobsDownloaded: number;
  /** Files that are hard links to the store's blobs (no bytes copied). */
  readonly filesLinked: number;
};

/**
 * Rebuilds a project folder from its manifest: each distinct blob is
 * downloaded once, its SHA-256 checked on the bytes written, then copied to
 * the other paths holding the same content; files the render only reads are
 * hard links to the blob when the store is on this disk (`readOnly`).
 * `destination` should be a fresh
 * staging folder: on failure it holds a partial project, which the caller
 * throws away (copy_efs renames it into place only on success).
 */
export async function rebuildFromManifest(
  store: ObjectStore,
  manifestKey: string,
  destination: string,
  options: RebuildOptions = {},
): Promise<RebuildResult> {
  const manifest = await readManifest(store, manifestKey);
  await mkdir(destination, { recursive: true });
  const groups = [...filesByContent(manifest)];
  // Not every store's getFile creates folders; make each one once.
  const folders = new Map<string, Promise<unknown>>();
  const folderFor = (file: string) => {
    const folder = dirname(file);
    let made = folders.get(folder);
    if (!made) folders.set(folder, (made = mkdir(folder, { recursive: true })));
    return made;
  };
  let filesLinked = 0;
  let blobsDownloaded = 0;
  /** A hard link to the blob when the file is only read and keeps the blob's mode (a chmod would change the blob's too). */
  const linked = async (key: string, path: string, target: string, mode: number): Promise<boolean> => {
    if (!store.linkFile || !options.readOnly?.(path)) return false;
    if ((await store.linkFile(key, target)) !== "linked") return false;
    if (((await stat(target)).mode & 0o7777) === mode) {
      filesLinked += 1;
      return true;
    }
    await rm(target);
    return false;
  };
  const restore = async ([sha256, holders]: (typeof groups)[number]): Promise<void> => {
    options.signal?.throwIfAborted();
    const [first, ...copies] = holders;
    const target = localPath(destination, first!.path);
    const key = blobKey(sha256);
    await folderFor(target);
    const firstLinked = await linked(key, first!.path, target, first!.mode);
    if (!firstLinked) {
      await download(store, key, first!.path, target, options.signal);
      blobsDownloaded += 1;
    }
    const actual = await sha256OfFile(target);
    if (actual !== sha256) {
      // Remove it so the next submission finds the blob missing and uploads it again.
      await store.delete(key).catch((error: unknown) =>
        options.onWarning?.(`Could not remove the corrupted blob ${store.describe(key)}: ${(error as Error).message}`),
      );
      throw new JobFailedError(
        `"${first!.path}" (blob ${key}) is corrupted in the object store (expected sha256 ${sha256}, got ${actual}); submit the project again.`,
      );
    }
    if (!firstLinked) await chmod(target, first!.mode);
    for (const copy of copies) {
      const copyTarget = localPath(destination, copy.path);
      await folderFor(copyTarget);
      if (await linked(key, copy.path, copyTarget, copy.mode)) continue;
      // A reflink where the file system can, a plain copy elsewhere.
      await copyFile(target, copyTarget, constants.COPYFILE_FICLONE);
      await chmod(copyTarget, copy.mode);
    }
  };
  const small = groups.filter(([, holders]) => holders[0]!.size < SMALL_BLOB_BYTES);
  const large = groups.filter(([, holders]) => holders[0]!.size >= SMALL_BLOB_BYTES);
  await mapWithConcurrency(small, Math.max(1, options.smallConcurrency ?? 16), (group) => restore(group));
  await mapWithConcurrency(large, Math.max(1, options.concurrency ?? 4), (group) => restore(group));
  return { files: manifest.files.length, bytes: manifest.totalBytes, blobsDownloaded, filesLinked };
}

async function readManifest(store: ObjectStore, manifestKey: string): Promise<ProjectManifest> {
  if (!(await store.stat(manifestKey))) {
    throw new JobFailedError(
      `The project manifest "${manifestKey}" is not in the object store (${store.describe(manifestKey)}); submit the project again or check BUCKET_KEY.`,
    );
  }
  const text = (await store.getBytes(manifestKey)).toString("utf8");
  try {
    return parseManifest(text);
  } catch (error) {
    throw new JobFailedError(`The project manifest "${manifestKey}" is invalid (${(error as Error).message}); submit the project again.`);
  }
}

/** The manifest schema already refused paths that could leave the folder. */
function localPath(destination: string, manifestPath: string): string {
  return join(destination, ...manifestPath.split("/"));
}

async function download(store: ObjectStore, key: string, path: string, target: string, signal: AbortSignal | undefined): Promise<void> {
  try {
    await store.getFile(key, target, { signal });
  } catch (error) {
    if (signal?.aborted) throw error;
    const missing = await store.stat(key).then((object) => object === undefined, () => false);
    if (missing) {
      throw new JobFailedError(`"${path}" (blob ${key}) is missing from the object store; submit the project again.`, { cause: error });
    }
    throw error;
  }
}
