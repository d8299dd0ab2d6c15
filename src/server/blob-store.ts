/**
 * The server's content-addressed file store (`$BRENDER_HOME/blobs/`), which
 * the add-on's uploads are built from: each file content once, by SHA-256.
 *
 * Decision: a blob is removed once it has gone unused for 7 days. "Used"
 * means asked about by POST /api/blobs/missing or copied into an upload;
 * both touch its modification time, so a client that was just told "the
 * server has it" finds it there when it sends the listing a moment later.
 * Uploads hold their own copies, so removing a blob never breaks a render;
 * the worst it costs is sending that file again.
 */
import { readdir, rm, stat, utimes } from "node:fs/promises";
import { join } from "node:path";

export const BLOB_MAX_IDLE_MS = 7 * 24 * 3600 * 1000;
const BLOB_NAME = /^[0-9a-f]{64}$/;

export function blobPath(blobsDir: string, hash: string): string {
  return join(blobsDir, hash.slice(0, 2), hash);
}

/** Whether the store has `hash`; when it does, marks it used now. */
export async function hasBlob(blobsDir: string, hash: string, now = new Date()): Promise<boolean> {
  try {
    await utimes(blobPath(blobsDir, hash), now, now);
    return true;
  } catch {
    return false;
  }
}

/** Removes the blobs unused for longer than BLOB_MAX_IDLE_MS (and the folders that leaves empty); returns their hashes. */
export async function removeIdleBlobs(blobsDir: string, nowMs = Date.now()): Promise<string[]> {
  const removed: string[] = [];
  for (const prefix of await readdir(blobsDir).catch(() => [] as string[])) {
    const folder = join(blobsDir, prefix);
    const names = await readdir(folder).catch(() => [] as string[]);
    let left = names.length;
    for (const name of names) {
      // A `.partial` is a blob still arriving (or one a crash cut off): removed only once it is as idle as a blob.
      const isBlob = BLOB_NAME.test(name);
      const modified = (await stat(join(folder, name)).catch(() => undefined))?.mtimeMs;
      if (modified === undefined || nowMs - modified <= BLOB_MAX_IDLE_MS) continue;
      await rm(join(folder, name), { force: true });
      left -= 1;
      if (isBlob) removed.push(name);
    }
    if (left === 0) await rm(folder, { recursive: true, force: true });
  }
  return removed;
}
