import { statfsSync } from "node:fs";
import { dirname } from "node:path";
import { BrenderError } from "./errors.ts";

/** SQLite's primary result codes for "the disk is full" and "an I/O error" (the low byte of errcode). */
const SQLITE_FULL = 13;
const SQLITE_IOERR = 10;
/** Below this much free space an SQLite I/O error is taken for a full disk (its shared-memory file could not grow). */
const NEARLY_FULL_BYTES = 1024 * 1024;

/**
 * A write failed because the disk is full. One line says which folder, how
 * much is free, and what to do; exit code 1 (the work failed, the input was
 * fine).
 */
export class DiskFullError extends BrenderError {
  readonly folder: string;
  constructor(folder: string, options?: { cause?: unknown }) {
    super(diskFullMessage(folder, failedPath(options?.cause)), 1, options);
    this.folder = folder;
  }
}

/** True for an error caused by a full disk: ENOSPC/EDQUOT from the file system, or SQLite's SQLITE_FULL. */
export function isDiskFull(error: unknown, folder?: string): boolean {
  if (!(error instanceof Error)) return false;
  if (error instanceof DiskFullError) return true;
  const { code, errcode } = error as { code?: unknown; errcode?: unknown };
  if (code === "ENOSPC" || code === "EDQUOT") return true;
  if (typeof errcode !== "number") return false;
  const primary = errcode & 0xff;
  if (primary === SQLITE_FULL) return true;
  // SQLite reports a shared-memory file it cannot grow as a plain "disk I/O error": ask the disk.
  return primary === SQLITE_IOERR && folder !== undefined && (freeBytes(folder) ?? Infinity) < NEARLY_FULL_BYTES;
}

/** The folder a disk-full error is about: the path it names when it names one, else `fallback`. */
export function diskFullFolder(error: unknown, fallback: string): string {
  const path = failedPath(error);
  return path ? dirname(path) : fallback;
}

function failedPath(error: unknown): string | undefined {
  const path = (error as { path?: unknown } | undefined)?.path;
  return typeof path === "string" && path.length > 0 ? path : undefined;
}

/** The one-line message: which file could not be written (when known), which folder, how much is free, the fix, how to resume. */
export function diskFullMessage(folder: string, file?: string): string {
  const free = freeBytes(folder);
  const room = free === undefined ? "" : ` (${formatSize(free)} free)`;
  return `${file ? `Could not write ${file}: t` : "T"}he disk holding ${folder} is full${room}: free some space there (or point BRENDER_HOME at a bigger disk), then run 'brender retry ID' for any render that failed.`;
}

/** Free bytes for an unprivileged user on the disk holding `folder` (the nearest existing parent), if it can be asked. */
export function freeBytes(folder: string): number | undefined {
  for (let at = folder; ; at = dirname(at)) {
    try {
      const stats = statfsSync(at);
      return stats.bavail * stats.bsize;
    } catch {
      if (dirname(at) === at) return undefined;
    }
  }
}

function formatSize(bytes: number): string {
  const units = ["B", "KB", "MB", "GB", "TB"];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${unit === 0 ? value : value.toFixed(1)} ${units[unit]}`;
}
