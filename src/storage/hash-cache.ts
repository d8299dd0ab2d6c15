import { mkdir, open, readFile, rename, rm, writeFile } from "node:fs/promises";
import { createHash, randomBytes } from "node:crypto";
import { dirname, join } from "node:path";

/** What identifies one version of a file without reading it. */
export type FileIdentity = {
  readonly size: number;
  readonly mtimeMs: number;
  readonly ino: number;
};

type Entry = FileIdentity & { readonly sha256: string };

/** Computes a file's SHA-256 (lower-case hex) by reading it. */
export type HashFile = (path: string) => Promise<string>;

const CHUNK_BYTES = 1 << 20;

/**
 * Reads the file through SHA-256 in 1 MiB chunks: memory stays flat whatever
 * its size, and a small file costs one read (a stream costs far more per
 * file, which shows on projects with thousands of small files).
 */
export const sha256OfFile: HashFile = async (path) => {
  const hash = createHash("sha256");
  const file = await open(path, "r");
  try {
    // Sized to the file: a fresh 1 MiB buffer per tiny file keeps the garbage collector busy.
    const { size } = await file.stat();
    const buffer = Buffer.allocUnsafe(Math.max(1, Math.min(CHUNK_BYTES, size)));
    for (;;) {
      const { bytesRead } = await file.read(buffer, 0, buffer.length, null);
      if (bytesRead === 0) break;
      hash.update(buffer.subarray(0, bytesRead));
    }
  } finally {
    await file.close();
  }
  return hash.digest("hex");
};

/** Where the cache lives: `$BRENDER_HOME/cache/hashes.json`. */
export function hashCachePath(brenderHome: string): string {
  return join(brenderHome, "cache", "hashes.json");
}

/** Beyond this many entries the least recently used are dropped, so the file stays small. */
const MAX_ENTRIES = 200_000;

/**
 * A file's mtime only moves when the clock has ticked, so a file written
 * again just after it was hashed can keep its old mtime and size ("racy"
 * entries, as git calls them). Hashes are only remembered for files whose
 * mtime is older than the hash by more than the timestamp resolution can
 * hide: a little for file systems with sub-second timestamps, two seconds
 * (FAT) for the others.
 */
function racyMarginMs(mtimeMs: number): number {
  return Number.isInteger(mtimeMs / 1000) ? 2000 : 100;
}

/**
 * SHA-256 of files keyed by absolute path + size + mtime + inode, so
 * submitting an unchanged project again reads none of its bytes. The cache is
 * a hint: an unreadable or foreign cache file counts as empty, and concurrent
 * writers simply replace each other's file (each write is atomic).
 */
export class HashCache {
  readonly file: string;
  private readonly entries: Map<string, Entry>;
  private dirty = false;

  private constructor(file: string, entries: Map<string, Entry>) {
    this.file = file;
    this.entries = entries;
  }

  /** Loads the cache file; a missing or damaged one gives an empty cache. */
  static async open(file: string): Promise<HashCache> {
    let json: unknown;
    try {
      json = JSON.parse(await readFile(file, "utf8"));
    } catch {
      return new HashCache(file, new Map());
    }
    const entries = new Map<string, Entry>();
    const stored = (json as { version?: unknown; entries?: unknown })?.entries;
    if ((json as { version?: unknown })?.version === 1 && stored && typeof stored === "object") {
      for (const [path, value] of Object.entries(stored as Record<string, unknown>)) {
        if (isEntry(value)) entries.set(path, value);
      }
    }
    return new HashCache(file, entries);
  }

  /** An empty cache that is never saved (for tests and one-off uploads). */
  static inMemory(): HashCache {
    return new HashCache("", new Map());
  }

  get size(): number {
    return this.entries.size;
  }

  /** The remembered SHA-256 of this version of the file, if any. */
  lookup(absolutePath: string, identity: FileIdentity): string | undefined {
    const entry = this.entries.get(absolutePath);
    if (!entry || entry.size !== identity.size || entry.mtimeMs !== identity.mtimeMs || entry.ino !== identity.ino) return undefined;
    // Touch: recently used entries survive trimming.
    this.entries.delete(absolutePath);
    this.entries.set(absolutePath, entry);
    return entry.sha256;
  }

  /**
   * Remembers a hash computed by reading the file, which started at
   * `hashStartedMs` (Date.now()). Racy versions (see racyMarginMs) are not
   * remembered: they will simply be read again next time.
   */
  remember(absolutePath: string, identity: FileIdentity, sha256: string, hashStartedMs: number): void {
    this.entries.delete(absolutePath);
    if (identity.mtimeMs > hashStartedMs - racyMarginMs(identity.mtimeMs)) {
      this.dirty = true;
      return;
    }
    this.entries.set(absolutePath, { size: identity.size, mtimeMs: identity.mtimeMs, ino: identity.ino, sha256 });
    this.dirty = true;
    while (this.entries.size > MAX_ENTRIES) {
      const oldest = this.entries.keys().next().value as string;
      this.entries.delete(oldest);
    }
  }

  /** Writes the cache file atomically when something changed (an in-memory cache is never written). */
  async save(): Promise<void> {
    if (!this.dirty || this.file === "") return;
    await mkdir(dirname(this.file), { recursive: true });
    const temp = `${this.file}.${randomBytes(4).toString("hex")}.tmp`;
    try {
      await writeFile(temp, JSON.stringify({ version: 1, entries: Object.fromEntries(this.entries) }));
      await rename(temp, this.file);
      this.dirty = false;
    } catch (error) {
      await rm(temp, { force: true });
      throw error;
    }
  }
}

function isEntry(value: unknown): value is Entry {
  if (!value || typeof value !== "object") return false;
  const entry = value as Record<string, unknown>;
  return (
    typeof entry.size === "number" &&
    typeof entry.mtimeMs === "number" &&
    typeof entry.ino === "number" &&
    typeof entry.sha256 === "string" &&
    /^[0-9a-f]{64}$/.test(entry.sha256)
  );
}

/**
 * The file's SHA-256 from the cache when this version of it was hashed
 * before, else by reading it with `hashFile` (and remembering the result).
 */
export async function hashThroughCache(
  absolutePath: string,
  identity: FileIdentity,
  cache: HashCache | undefined,
  hashFile: HashFile = sha256OfFile,
): Promise<string> {
  const cached = cache?.lookup(absolutePath, identity);
  if (cached) return cached;
  const started = Date.now();
  const sha256 = await hashFile(absolutePath);
  cache?.remember(absolutePath, identity, sha256, started);
  return sha256;
}
