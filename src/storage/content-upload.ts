import { lstat, readdir, realpath, stat } from "node:fs/promises";
import type { Stats } from "node:fs";
import { basename, join, resolve, sep } from "node:path";
import { UserInputError } from "../errors.ts";
import { hashThroughCache, sha256OfFile, type HashCache, type HashFile } from "./hash-cache.ts";
import { assertValidKey, type ObjectStore } from "./object-store.ts";
import {
  blobKey,
  buildManifest,
  filesByContent,
  isBlenderBackup,
  isManifestKey,
  manifestModeOf,
  manifestPathProblem,
  MANIFEST_SUFFIX,
  serializeManifest,
  type ManifestFile,
} from "./project-manifest.ts";

/** A file uploaded with the project from anywhere on disk, and the manifest path it gets. */
export type ExtraFile = { readonly absolutePath: string; readonly path: string };

/**
 * What to upload: one file (the manifest holds just its name) or a whole
 * folder, plus extra files from elsewhere (the dependencies packing found;
 * a path the folder already holds is not added twice).
 */
export type UploadSource = { readonly kind: "file" | "folder"; readonly path: string; readonly extraFiles?: readonly ExtraFile[] };

/** Below this a blob's transfer is latency-bound (overlap many), above it bandwidth-bound (a few, each in parts). */
export const SMALL_BLOB_BYTES = 8 * 1024 * 1024;

/** Progress of an upload. Bytes of content already in the store count as done (and skipped) at once. */
export type UploadProgress = {
  readonly filesDone: number;
  readonly files: number;
  readonly bytesDone: number;
  readonly bytesTotal: number;
  readonly bytesSkipped: number;
};

export type UploadOptions = {
  /** Remembers hashes of unchanged files between uploads (see HashCache). */
  readonly hashCache?: HashCache;
  /** Files hashed and large blobs uploaded at the same time (default 4; each may upload in parallel parts itself). */
  readonly concurrency?: number;
  /** Small blobs (under SMALL_BLOB_BYTES) uploaded at the same time (default 16): their time is mostly round trips. */
  readonly smallConcurrency?: number;
  /**
   * Blobs checked for at the same time (default 32): a check is one small
   * request whose time is mostly the round trip, so many can be in flight
   * where uploads would only share the bandwidth.
   */
  readonly checkConcurrency?: number;
  readonly onProgress?: (progress: UploadProgress) => void;
  readonly signal?: AbortSignal;
  /** How a file's SHA-256 is computed when the cache does not know it (tests count calls). */
  readonly hashFile?: HashFile;
};

/** The outcome: bytesUploaded + bytesSkipped = bytesTotal (duplicates within the project count as skipped). */
export type UploadResult = {
  readonly manifestKey: string;
  readonly files: number;
  readonly bytesTotal: number;
  readonly bytesUploaded: number;
  readonly bytesSkipped: number;
};

/** A file found in the project: where it is on disk and the manifest path it gets. */
type LocalFile = { readonly absolutePath: string; readonly path: string; readonly info: Stats };

/**
 * Uploads a project content-addressed: hashes every file (through the hash
 * cache), uploads only the blobs the store lacks, verifying each upload
 * against the hash, and writes the manifest last, so a manifest never names
 * a missing blob. Blender backups (.blend1…) are left out; symlinks pointing
 * inside the folder are followed, ones pointing outside are refused.
 */
export async function uploadProject(
  store: ObjectStore,
  source: UploadSource,
  manifestKey: string,
  options: UploadOptions = {},
): Promise<UploadResult> {
  assertValidKey(manifestKey);
  if (!isManifestKey(manifestKey)) throw new UserInputError(`Manifest key "${manifestKey}" must end with "${MANIFEST_SUFFIX}".`);
  const concurrency = Math.max(1, options.concurrency ?? 4);
  const hashFile = options.hashFile ?? sha256OfFile;

  // Absolute paths: the hash cache is keyed by them.
  const sourcePath = resolve(source.path);
  const locals = source.kind === "file" ? [await singleFile(sourcePath)] : await listFolder(sourcePath);
  const listed = new Set(locals.map((local) => local.path));
  for (const extra of source.extraFiles ?? []) {
    if (listed.has(extra.path)) continue;
    listed.add(extra.path);
    locals.push(await extraFile(extra));
  }
  const byPath = new Map(locals.map((local) => [local.path, local]));
  const entries = await mapWithConcurrency(locals, concurrency, async (local): Promise<ManifestFile> => {
    options.signal?.throwIfAborted();
    const { size, mtimeMs, ino, mode } = local.info;
    const sha256 = await hashThroughCache(local.absolutePath, { size, mtimeMs, ino }, options.hashCache, hashFile).catch((error: NodeJS.ErrnoException) => {
      throw new UserInputError(`Cannot read the project file "${local.absolutePath}" (${error.code ?? error.message}); check it is still there and readable.`);
    });
    return { path: local.path, size, sha256, mode: manifestModeOf(mode) };
  });
  // Keep the hashing work even when the upload fails below.
  await options.hashCache?.save();
  const manifest = buildManifest(entries);

  let filesDone = 0;
  let bytesSettled = 0;
  let bytesUploaded = 0;
  let bytesSkipped = 0;
  let inFlight = 0;
  const report = () =>
    options.onProgress?.({
      filesDone,
      files: manifest.files.length,
      bytesDone: bytesSettled + inFlight,
      bytesTotal: manifest.totalBytes,
      bytesSkipped,
    });
  report();

  const settle = (holders: readonly ManifestFile[], uploadedFirst: boolean) => {
    for (const holder of holders) {
      if (uploadedFirst && holder === holders[0]) bytesUploaded += holder.size;
      else bytesSkipped += holder.size;
      bytesSettled += holder.size;
      filesDone += 1;
    }
    report();
  };

  // First every blob is looked for, many at a time; then only the missing ones are uploaded.
  const groups = [...filesByContent(manifest)];
  const present = await mapWithConcurrency(groups, Math.max(1, options.checkConcurrency ?? 32), async ([sha256, holders]) => {
    options.signal?.throwIfAborted();
    // A blob of the wrong size is a leftover of some failure: upload it again.
    return (await store.stat(blobKey(sha256)))?.size === holders[0]!.size;
  });
  groups.forEach(([, holders], index) => {
    if (present[index]) settle(holders, false);
  });

  const upload = async ([sha256, holders]: (typeof groups)[number]): Promise<void> => {
    options.signal?.throwIfAborted();
    const first = holders[0]!;
    const key = blobKey(sha256);
    const local = byPath.get(first.path)!;
    let sent = 0;
    const put = await store.putFile(key, local.absolutePath, {
      signal: options.signal,
      onProgress: (bytes) => {
        inFlight += bytes - sent;
        sent = bytes;
        report();
      },
    });
    inFlight -= sent;
    if (put.sha256 !== sha256 || put.size !== first.size) {
      // The blob's name no longer matches its bytes: never leave it for a later manifest to trust.
      await store.delete(key).catch(() => undefined);
      throw new UserInputError(
        `"${local.absolutePath}" changed while it was being uploaded (it was ${first.size} bytes with sha256 ${sha256}, the upload read ${put.size} bytes with sha256 ${put.sha256}); submit again once nothing is writing to it.`,
      );
    }
    settle(holders, true);
  };
  const missing = groups.filter((_, index) => !present[index]);
  await mapWithConcurrency(missing.filter(([, holders]) => holders[0]!.size < SMALL_BLOB_BYTES), Math.max(1, options.smallConcurrency ?? 16), upload);
  await mapWithConcurrency(missing.filter(([, holders]) => holders[0]!.size >= SMALL_BLOB_BYTES), concurrency, upload);

  options.signal?.throwIfAborted();
  await store.putBytes(manifestKey, serializeManifest(manifest));
  return { manifestKey, files: manifest.files.length, bytesTotal: manifest.totalBytes, bytesUploaded, bytesSkipped };
}

async function singleFile(path: string): Promise<LocalFile> {
  const info = await stat(path).catch((error: NodeJS.ErrnoException) => {
    throw new UserInputError(`Cannot read the project file "${path}" (${error.code ?? error.message}); check the path.`);
  });
  if (!info.isFile()) throw new UserInputError(`"${path}" is not a file; give a .blend file or upload it as a folder.`);
  return { absolutePath: path, path: checkedPath(basename(path), path), info };
}

async function extraFile(extra: ExtraFile): Promise<LocalFile> {
  const info = await stat(extra.absolutePath).catch((error: NodeJS.ErrnoException) => {
    throw new UserInputError(`Cannot read "${extra.absolutePath}", a file the .blend needs (${error.code ?? error.message}); check it is still there and readable.`);
  });
  if (!info.isFile()) throw new UserInputError(`"${extra.absolutePath}", a file the .blend needs, is not a file; fix the path in Blender.`);
  return { absolutePath: extra.absolutePath, path: checkedPath(extra.path, extra.absolutePath), info };
}

function checkedPath(manifestPath: string, absolutePath: string): string {
  const problem = manifestPathProblem(manifestPath);
  if (problem) {
    throw new UserInputError(`The project file "${absolutePath}" cannot be uploaded: its path "${manifestPath}" ${problem}; rename it.`);
  }
  return manifestPath;
}

/**
 * Every regular file under the folder, links followed when they stay inside
 * it. Folder links are walked too, with the real folders being walked kept
 * so a link back up the tree is refused instead of looping forever.
 */
async function listFolder(folder: string): Promise<LocalFile[]> {
  const rootInfo = await stat(folder).catch(() => undefined);
  if (!rootInfo?.isDirectory()) throw new UserInputError(`The project folder "${folder}" does not exist or is not a folder; check the path.`);
  const realRoot = await realpath(folder);
  const found: LocalFile[] = [];

  async function walk(directory: string, manifestPrefix: string, realAncestors: readonly string[]): Promise<void> {
    const realDirectory = realAncestors[realAncestors.length - 1]!;
    const names = (await readdir(directory)).sort();
    for (const name of names) {
      if (isBlenderBackup(name)) continue;
      const absolutePath = join(directory, name);
      const manifestPath = manifestPrefix + name;
      let info = await lstat(absolutePath);
      let realPath = join(realDirectory, name);
      if (info.isSymbolicLink()) {
        realPath = await realpath(absolutePath).catch(() => {
          throw new UserInputError(`The link "${absolutePath}" in the project points at nothing; fix or remove it.`);
        });
        if (realPath !== realRoot && !realPath.startsWith(realRoot + sep)) {
          throw new UserInputError(
            `The link "${absolutePath}" points outside the project folder (to "${realPath}"); copy what it points at into the project folder instead.`,
          );
        }
        info = await stat(absolutePath);
      }
      if (info.isDirectory()) {
        if (realAncestors.includes(realPath)) {
          throw new UserInputError(`The link "${absolutePath}" points back at a folder that holds it (a loop); remove it.`);
        }
        await walk(absolutePath, `${manifestPath}/`, [...realAncestors, realPath]);
      } else if (info.isFile()) {
        found.push({ absolutePath, path: checkedPath(manifestPath, absolutePath), info });
      }
      // Sockets, pipes and devices are not project files (reading a pipe would block forever).
    }
  }

  await walk(folder, "", [realRoot]);
  if (found.length === 0) throw new UserInputError(`The project folder "${folder}" has no files to upload; check the path.`);
  return found;
}

/**
 * Runs `work` over the items with at most `limit` at a time and returns the
 * results in item order. After the first failure no new item starts; the
 * running ones finish, then that first error is thrown.
 */
export async function mapWithConcurrency<T, R>(items: readonly T[], limit: number, work: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  let failure: { error: unknown } | undefined;
  async function lane(): Promise<void> {
    while (!failure && next < items.length) {
      const index = next;
      next += 1;
      try {
        results[index] = await work(items[index]!, index);
      } catch (error) {
        failure ??= { error };
      }
    }
  }
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, lane));
  if (failure) throw failure.error;
  return results;
}
