/**
 * Unpacks an uploaded project archive (.tar.gz, .tar, .zip) into a folder on
 * shared disk, refusing anything that could write outside it.
 *
 * Two reads of the archive: the first only lists entries and asks policy.ts
 * for a plan, so a hostile archive is refused before anything is written. The
 * second writes the plan into a fresh staging folder beside the destination,
 * symlinks last, checks where every symlink really resolves, and only then
 * renames the staging folder into place. Any failure removes the staging
 * folder, so the destination is either complete or untouched.
 */
import { createReadStream, constants as fsConstants } from "node:fs";
import { lstat, mkdir, open, readdir, realpath, rename, rm, symlink, chmod } from "node:fs/promises";
import { randomBytes } from "node:crypto";
import { basename, dirname, join, resolve, sep } from "node:path";
import { createGunzip, crc32 } from "node:zlib";
import { Parser, type ReadEntry } from "tar";
import yauzl from "yauzl";
import { JobFailedError, UserInputError } from "../../errors.ts";
import {
  DEFAULT_EXTRACTION_LIMITS,
  UnsafeArchiveError,
  planExtraction,
  type ArchiveEntry,
  type ExtractionLimits,
  type PlannedEntry,
} from "./policy.ts";

export type ArchiveFormat = "tar.gz" | "tar" | "zip";

/** True for names ending in .tar.gz, .tgz, .tar or .zip, whatever the case. */
export function isArchiveFileName(name: string): boolean {
  return /\.(tar\.gz|tgz|tar|zip)$/i.test(name);
}

/**
 * Extraction limits from BRENDER_MAX_UNPACK_BYTES and BRENDER_MAX_UNPACK_ENTRIES,
 * each falling back to `defaults` (the workers' DEFAULT_EXTRACTION_LIMITS) when unset or empty.
 */
export function limitsFromEnvironment(env: NodeJS.ProcessEnv = process.env, defaults: ExtractionLimits = DEFAULT_EXTRACTION_LIMITS): ExtractionLimits {
  return {
    maxTotalBytes: readLimit(env, "BRENDER_MAX_UNPACK_BYTES", defaults.maxTotalBytes),
    maxEntries: readLimit(env, "BRENDER_MAX_UNPACK_ENTRIES", defaults.maxEntries),
  };
}

function readLimit(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const raw = env[name]?.trim();
  if (raw === undefined || raw === "") return fallback;
  const value = Number(raw);
  if (!/^\d+$/.test(raw) || !Number.isSafeInteger(value) || value === 0) {
    throw new UserInputError(
      `${name} must be a positive whole number, got ${JSON.stringify(raw)}. Set it to e.g. ${fallback}, or unset it for that default.`,
    );
  }
  return value;
}

/**
 * Tells the format from the first bytes, never from the name: gzip magic means
 * a tar.gz, "ustar" at offset 257 a tar, a zip local or end-of-directory header a zip.
 */
export async function detectArchiveFormat(archivePath: string): Promise<ArchiveFormat> {
  const handle = await open(archivePath, "r");
  let head: Buffer;
  try {
    const buffer = Buffer.alloc(512);
    const { bytesRead } = await handle.read(buffer, 0, buffer.length, 0);
    head = buffer.subarray(0, bytesRead);
  } finally {
    await handle.close();
  }
  if (head[0] === 0x1f && head[1] === 0x8b) return "tar.gz";
  if (head.length >= 262 && head.toString("latin1", 257, 262) === "ustar") return "tar";
  const zipSignature = head.toString("latin1", 0, 4);
  if (zipSignature === "PK\x03\x04" || zipSignature === "PK\x05\x06") return "zip";
  throw new JobFailedError(
    `Cannot unpack ${basename(archivePath)}: it is not a .tar.gz, .tar or .zip archive (judging by its content, not its name). Upload the project packed as one of those.`,
  );
}

/**
 * Unpacks `archivePath` into `destDir`, which must not exist yet or be an empty
 * folder. Limits come from `options.limits`, else from the environment
 * (see limitsFromEnvironment). Returns how many entries and file bytes were written.
 *
 * Throws UnsafeArchiveError (a JobFailedError) naming the entry and the rule
 * it broke; on any failure nothing is left behind and `destDir` is untouched.
 */
export async function extractArchive(
  archivePath: string,
  destDir: string,
  options?: { limits?: ExtractionLimits },
): Promise<{ entries: number; bytes: number }> {
  const limits = options?.limits ?? limitsFromEnvironment();
  const archiveName = basename(archivePath);
  const destination = resolve(destDir);
  const existingMode = await checkDestinationFree(archiveName, destination);
  const format = await detectArchiveFormat(archivePath);
  const walk = walkerFor(format, archivePath, archiveName);

  const listing = await listEntries(walk, limits);
  const plan = planExtraction(listing, limits, archiveName);

  await mkdir(dirname(destination), { recursive: true });
  const staging = join(dirname(destination), `.${basename(destination)}.unpacking-${randomBytes(6).toString("hex")}`);
  await mkdir(staging);
  try {
    const bytes = await writePlan(walk, listing, plan, staging, limits, archiveName);
    if (existingMode !== undefined) await chmod(staging, existingMode);
    await moveIntoPlace(archiveName, staging, destination);
    return { entries: plan.length, bytes };
  } catch (error) {
    await rm(staging, { recursive: true, force: true });
    throw error;
  }
}

/** The permission bits of an existing empty destination (to keep them), undefined if there is none. */
async function checkDestinationFree(archiveName: string, destination: string): Promise<number | undefined> {
  let stats;
  try {
    stats = await lstat(destination);
  } catch (error) {
    if (errorCode(error) === "ENOENT") return undefined;
    throw error;
  }
  if (stats.isDirectory() && (await readdir(destination)).length === 0) return stats.mode & 0o7777;
  throw destinationTaken(archiveName, destination);
}

function destinationTaken(archiveName: string, destination: string): JobFailedError {
  return new JobFailedError(
    `Cannot unpack ${archiveName} into ${destination}: it already exists and is not an empty folder. Remove it or unpack somewhere else.`,
  );
}

async function moveIntoPlace(archiveName: string, staging: string, destination: string): Promise<void> {
  try {
    await rename(staging, destination);
  } catch (error) {
    // Someone filled or created the destination since the check: still never merge into it.
    if (["ENOTEMPTY", "EEXIST", "ENOTDIR", "EISDIR"].includes(errorCode(error) ?? "")) {
      throw destinationTaken(archiveName, destination);
    }
    throw error;
  }
}

// ---------------------------------------------------------------------------
// Reading archives: one walker per format, the same shape for both passes.

/** An entry met while walking an archive; `body` may be read at most once, during the visit. */
type WalkedEntry = {
  entry: ArchiveEntry;
  executable: boolean;
  /** Zip only: the CRC-32 the archive declares for the content. */
  crc32?: number;
  body: () => AsyncIterable<Buffer>;
};

/** Returning "stop" ends the walk early without an error. */
type Visit = (walked: WalkedEntry) => Promise<"stop" | void>;
type Walk = (visit: Visit) => Promise<void>;

function walkerFor(format: ArchiveFormat, archivePath: string, archiveName: string): Walk {
  return format === "zip"
    ? (visit) => walkZip(archivePath, archiveName, visit)
    : (visit) => walkTar(archivePath, archiveName, format === "tar.gz", visit);
}

function damaged(archiveName: string, kind: string, cause: unknown): JobFailedError {
  const reason = (cause instanceof Error ? cause.message : String(cause)).replace(/\s+/g, " ");
  return new JobFailedError(
    `Cannot unpack ${archiveName}: it is damaged or not a valid ${kind} archive (${reason}). Re-create it and upload it again.`,
    { cause },
  );
}

const TAR_TYPES: Record<string, ArchiveEntry["type"]> = {
  File: "file",
  OldFile: "file",
  ContiguousFile: "file",
  Directory: "directory",
  GNUDumpDir: "directory",
  SymbolicLink: "symlink",
  Link: "hardlink",
};

function walkTar(archivePath: string, archiveName: string, gzipped: boolean, visit: Visit): Promise<void> {
  return new Promise((resolvePromise, rejectPromise) => {
    const source = createReadStream(archivePath);
    // Our own gunzip: the parser then sees plain tar and never second-guesses sizes or ratios.
    const gunzip = gzipped ? createGunzip() : undefined;
    // strict: a checksum failure or truncation is an error, not a silently skipped entry.
    const parser = new Parser({ strict: true, zstd: false, brotli: false });
    let settled = false;
    let current: ReadEntry | undefined;
    let pending: Promise<void> = Promise.resolve();

    const settle = (error?: unknown): void => {
      if (settled) return;
      settled = true;
      source.destroy();
      gunzip?.destroy();
      // Unblocks a visit still waiting for body bytes that will never come.
      if (error !== undefined) current?.destroy(error instanceof Error ? error : new Error(String(error)));
      // Settle only once the visit in flight is over, so no write races the caller's clean-up.
      void pending.then(() => (error === undefined ? resolvePromise() : rejectPromise(error)));
    };

    const enqueue = (entry: ReadEntry, ignored: boolean): void => {
      pending = pending
        .then(async () => {
          if (settled) {
            entry.resume();
            return;
          }
          current = entry;
          const type = ignored ? "other" : (TAR_TYPES[entry.type] ?? "other");
          const archiveEntry: ArchiveEntry = { path: entry.path, type, size: entry.size };
          if (entry.linkpath !== undefined) archiveEntry.linkTarget = entry.linkpath;
          const result = await visit({
            entry: archiveEntry,
            executable: ((entry.mode ?? 0) & 0o111) !== 0,
            body: () => entry,
          });
          current = undefined;
          entry.resume(); // discards whatever the visit did not read, so the parser moves on
          if (result === "stop") settle();
        })
        .catch(settle);
    };

    parser.on("entry", (entry: ReadEntry) => enqueue(entry, false));
    parser.on("ignoredEntry", (entry: ReadEntry) => enqueue(entry, true));
    parser.on("error", (error: unknown) => settle(damaged(archiveName, gzipped ? ".tar.gz" : ".tar", error)));
    parser.on("end", () => void pending.then(() => settle()));
    source.on("error", settle);
    const tarStream = gunzip ? source.pipe(gunzip) : source;
    gunzip?.on("error", (error) => settle(damaged(archiveName, ".tar.gz", error)));
    tarStream.pipe(parser as unknown as NodeJS.WritableStream);
  });
}

const S_IFMT = 0o170000;
const S_IFDIR = 0o040000;
const S_IFREG = 0o100000;
const S_IFLNK = 0o120000;
const UNIX_HOST = 3;
const MSDOS_DIRECTORY_ATTRIBUTE = 0x10;
const MAX_ZIP_LINK_TARGET = 4096;

async function walkZip(archivePath: string, archiveName: string, visit: Visit): Promise<void> {
  const asDamaged = (error: unknown): unknown =>
    error instanceof JobFailedError ? error : damaged(archiveName, ".zip", error);
  let zip: yauzl.ZipFile;
  try {
    // Names stay raw so that policy.ts, not yauzl, judges them and names the rule;
    // sizes are checked by writePlan against the bytes that really come out.
    zip = await yauzl.openPromise(archivePath, {
      lazyEntries: true,
      autoClose: false,
      decodeStrings: false,
      validateEntrySizes: false,
    });
  } catch (error) {
    throw asDamaged(error);
  }
  try {
    const entries = zip.eachEntry();
    while (true) {
      let next: IteratorResult<yauzl.Entry>;
      try {
        next = await entries.next();
      } catch (error) {
        throw asDamaged(error);
      }
      if (next.done) return;
      const raw = next.value;
      const name = yauzl.getFileNameLowLevel(raw.generalPurposeBitFlag, raw.fileNameRaw, raw.extraFields, true);
      const unixMode = raw.versionMadeBy >> 8 === UNIX_HOST ? raw.externalFileAttributes >>> 16 : 0;
      const type = zipEntryType(name, unixMode, raw.externalFileAttributes);
      const body = async function* (): AsyncIterable<Buffer> {
        let stream;
        try {
          stream = await zip.openReadStreamPromise(raw);
        } catch (error) {
          throw asDamaged(error);
        }
        try {
          for await (const chunk of stream) yield chunk as Buffer;
        } catch (error) {
          throw asDamaged(error);
        } finally {
          stream.destroy();
        }
      };
      if (type === "file" || type === "symlink") checkZipDecodable(archiveName, name, raw);
      const archiveEntry: ArchiveEntry = { path: name, type, size: raw.uncompressedSize };
      if (type === "symlink") archiveEntry.linkTarget = await readZipLinkTarget(archiveName, name, raw, body);
      const result = await visit({
        entry: archiveEntry,
        executable: (unixMode & 0o111) !== 0,
        crc32: raw.crc32,
        body,
      });
      if (result === "stop") {
        await entries.return?.();
        return;
      }
    }
  } finally {
    zip.close();
  }
}

function zipEntryType(name: string, unixMode: number, attributes: number): ArchiveEntry["type"] {
  const format = unixMode & S_IFMT;
  if (format === S_IFLNK) return "symlink";
  if (format === S_IFDIR) return "directory";
  if (format !== 0 && format !== S_IFREG) return "other";
  if (/[\\/]$/.test(name)) return "directory";
  if (format === 0 && (attributes & MSDOS_DIRECTORY_ATTRIBUTE) !== 0) return "directory";
  return "file";
}

function checkZipDecodable(archiveName: string, name: string, raw: yauzl.Entry): void {
  const quoted = JSON.stringify(name);
  if (raw.isEncrypted()) {
    throw new JobFailedError(
      `Cannot unpack ${archiveName}: entry ${quoted} is encrypted. Re-create the archive without a password.`,
    );
  }
  if (raw.compressionMethod !== 0 && raw.compressionMethod !== 8) {
    throw new JobFailedError(
      `Cannot unpack ${archiveName}: entry ${quoted} uses compression method ${raw.compressionMethod}; only stored and deflated entries are supported. Re-create the archive with standard zip compression.`,
    );
  }
}

/** A zip symlink keeps its target as its content; read it with a hard cap whatever the header says. */
async function readZipLinkTarget(
  archiveName: string,
  name: string,
  raw: yauzl.Entry,
  body: () => AsyncIterable<Buffer>,
): Promise<string> {
  const tooLong = () =>
    new JobFailedError(
      `Cannot unpack ${archiveName}: entry ${JSON.stringify(name)} is a symlink with a target longer than ${MAX_ZIP_LINK_TARGET} bytes. Leave the symlink out of the archive.`,
    );
  if (raw.uncompressedSize > MAX_ZIP_LINK_TARGET) throw tooLong();
  const chunks: Buffer[] = [];
  let length = 0;
  for await (const chunk of body()) {
    length += chunk.length;
    if (length > MAX_ZIP_LINK_TARGET) throw tooLong();
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString("utf8");
}

// ---------------------------------------------------------------------------
// The two passes.

/** Lists entries, stopping as soon as a limit is passed: the plan then refuses the entry that passed it. */
async function listEntries(walk: Walk, limits: ExtractionLimits): Promise<ArchiveEntry[]> {
  const entries: ArchiveEntry[] = [];
  let declaredBytes = 0;
  await walk(async ({ entry }) => {
    entries.push(entry);
    if (entry.type === "file") declaredBytes += entry.size;
    if (entries.length > limits.maxEntries || declaredBytes > limits.maxTotalBytes) return "stop";
  });
  return entries;
}

function sameEntry(a: ArchiveEntry, b: ArchiveEntry): boolean {
  return a.path === b.path && a.type === b.type && a.size === b.size && a.linkTarget === b.linkTarget;
}

/** Writes the plan into `staging` and returns the file bytes written. */
async function writePlan(
  walk: Walk,
  listing: readonly ArchiveEntry[],
  plan: readonly PlannedEntry[],
  staging: string,
  limits: ExtractionLimits,
  archiveName: string,
): Promise<number> {
  const planByIndex = new Map(plan.map((planned) => [planned.index, planned]));
  const symlinks: PlannedEntry[] = [];
  const changed = () =>
    new JobFailedError(`Cannot unpack ${archiveName}: the archive changed while it was being unpacked. Upload it again.`);
  let index = 0;
  let totalBytes = 0;

  await walk(async (walked) => {
    const position = index++;
    const listed = listing[position];
    if (listed === undefined || !sameEntry(listed, walked.entry)) throw changed();
    const planned = planByIndex.get(position);
    if (planned === undefined) return; // the root folder or a repeated folder entry
    const target = join(staging, ...planned.path.split("/"));
    switch (planned.type) {
      case "directory":
        await mkdir(target, { recursive: true });
        return;
      case "symlink":
        // Last, once every file is written: until then nothing in staging is a symlink.
        symlinks.push(planned);
        return;
      case "file": {
        await mkdir(dirname(target), { recursive: true });
        const written = await writeFileEntry(target, planned, walked, {
          archiveName,
          rawPath: listed.path,
          addToTotal: (count) => {
            totalBytes += count;
            if (totalBytes > limits.maxTotalBytes) {
              throw new UnsafeArchiveError(archiveName, listed.path, {
                rule: "too-many-bytes",
                limit: limits.maxTotalBytes,
              });
            }
          },
        });
        if (written !== planned.size) {
          throw new JobFailedError(
            `Cannot unpack ${archiveName}: entry ${JSON.stringify(listed.path)} holds ${written} bytes, fewer than the ${planned.size} its header declares. Re-create the archive and upload it again.`,
          );
        }
        return;
      }
    }
  });
  if (index !== listing.length) throw changed();

  for (const link of symlinks) {
    const target = join(staging, ...link.path.split("/"));
    await mkdir(dirname(target), { recursive: true });
    await symlink(link.linkTarget ?? "", target);
  }
  await checkSymlinksStayInside(staging, symlinks, listing, archiveName);
  return totalBytes;
}

const O_NOFOLLOW = fsConstants.O_NOFOLLOW ?? 0;

async function writeFileEntry(
  target: string,
  planned: PlannedEntry,
  walked: WalkedEntry,
  context: { archiveName: string; rawPath: string; addToTotal: (count: number) => void },
): Promise<number> {
  const flags = fsConstants.O_WRONLY | fsConstants.O_CREAT | fsConstants.O_EXCL | O_NOFOLLOW;
  const handle = await open(target, flags, walked.executable ? 0o755 : 0o644);
  let written = 0;
  let checksum = 0;
  try {
    for await (const chunk of walked.body()) {
      // Count before writing: a forged size never gets a byte past what it declared.
      written += chunk.length;
      if (written > planned.size) {
        throw new UnsafeArchiveError(context.archiveName, context.rawPath, {
          rule: "size-mismatch",
          declared: planned.size,
        });
      }
      context.addToTotal(chunk.length);
      if (walked.crc32 !== undefined) checksum = crc32(chunk, checksum);
      for (let offset = 0; offset < chunk.length; ) {
        const { bytesWritten } = await handle.write(chunk, offset);
        offset += bytesWritten;
      }
    }
  } finally {
    await handle.close();
  }
  if (walked.crc32 !== undefined && written === planned.size && checksum !== walked.crc32) {
    throw new JobFailedError(
      `Cannot unpack ${context.archiveName}: entry ${JSON.stringify(context.rawPath)} is damaged (its CRC-32 does not match). Re-create the archive and upload it again.`,
    );
  }
  return written;
}

/**
 * policy.ts judged link targets on paper; here every link is resolved for
 * real, which also catches chains (a link through another link that climbs out).
 */
async function checkSymlinksStayInside(
  staging: string,
  symlinks: readonly PlannedEntry[],
  listing: readonly ArchiveEntry[],
  archiveName: string,
): Promise<void> {
  const root = await realpath(staging);
  for (const link of symlinks) {
    const rawPath = listing[link.index]?.path ?? link.path;
    const target = link.linkTarget ?? "";
    let resolved: string;
    try {
      resolved = await realpath(join(staging, ...link.path.split("/")));
    } catch (error) {
      const code = errorCode(error);
      if (code === "ENOENT" || code === "ENOTDIR") {
        throw new UnsafeArchiveError(archiveName, rawPath, { rule: "dangling-symlink", target });
      }
      if (code === "ELOOP") throw new UnsafeArchiveError(archiveName, rawPath, { rule: "symlink-loop", target });
      throw error;
    }
    if (resolved !== root && !resolved.startsWith(root + sep)) {
      throw new UnsafeArchiveError(archiveName, rawPath, { rule: "symlink-outside", target });
    }
  }
}

function errorCode(error: unknown): string | undefined {
  return typeof error === "object" && error !== null && "code" in error && typeof error.code === "string"
    ? error.code
    : undefined;
}
