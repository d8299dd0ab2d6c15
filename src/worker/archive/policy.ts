/**
 * What may be unpacked from an uploaded project archive, decided before a
 * single byte is written. Pure: the archive is described as a list of entries
 * and the answer is a plan of safe, normalized relative paths, or an
 * UnsafeArchiveError naming the first entry that broke a rule.
 *
 * Both "/" and "\" count as path separators, whatever the archive format: a
 * Windows machine treats "\" as one, so "..\x" is refused everywhere rather
 * than trusting that no worker ever runs there.
 */
import { JobFailedError } from "../../errors.ts";

/** One entry of an archive as its listing describes it (sizes as declared, not trusted). */
export type ArchiveEntry = {
  path: string;
  type: "file" | "directory" | "symlink" | "hardlink" | "other";
  size: number;
  linkTarget?: string;
};

/** Bounds on what one archive may unpack to. */
export type ExtractionLimits = { maxTotalBytes: number; maxEntries: number };

/** 64 GiB and a million entries: far above any real Blender project, far below a full disk. */
export const DEFAULT_EXTRACTION_LIMITS: ExtractionLimits = Object.freeze({
  maxTotalBytes: 64 * 1024 ** 3,
  maxEntries: 1_000_000,
});

/** An entry that passed every rule, with its path normalized. */
export type PlannedEntry = {
  /** Position in the listed entries, so the writer can match a second read of the archive to the plan. */
  index: number;
  /** Relative POSIX path, no "." or ".." segments, no leading or trailing "/". */
  path: string;
  type: "file" | "directory" | "symlink";
  size: number;
  /** Symlinks only: the target with "/" as the only separator. */
  linkTarget?: string;
};

/** Which rule an entry broke, with what the message needs to explain it. */
export type ArchiveViolation =
  | { rule: "bad-name" }
  | { rule: "bad-size"; size: number }
  | { rule: "absolute-path" }
  | { rule: "parent-segment" }
  | { rule: "duplicate" }
  | { rule: "through-symlink"; symlink: string }
  | { rule: "through-file"; file: string }
  | { rule: "symlink-outside"; target: string }
  | { rule: "dangling-symlink"; target: string }
  | { rule: "symlink-loop"; target: string }
  | { rule: "hardlink"; target: string }
  | { rule: "special-file" }
  | { rule: "too-many-entries"; limit: number }
  | { rule: "too-many-bytes"; limit: number }
  | { rule: "size-mismatch"; declared: number };

export type ArchiveRule = ArchiveViolation["rule"];

const REBUILD = "Re-create the archive from inside the project folder.";

function explain(v: ArchiveViolation): { problem: string; fix: string } {
  switch (v.rule) {
    case "bad-name":
      return {
        problem: `has no usable name or link target (empty, "." or containing a NUL character)`,
        fix: "Re-create the archive with a standard tool.",
      };
    case "bad-size":
      return { problem: `declares an impossible size (${v.size})`, fix: "Re-create the archive with a standard tool." };
    case "absolute-path":
      return {
        problem: "is an absolute path, so it would land outside the project folder (entries must be relative to it)",
        fix: REBUILD,
      };
    case "parent-segment":
      return { problem: "would land outside the project folder (entries must stay inside it)", fix: REBUILD };
    case "duplicate":
      return { problem: "appears more than once", fix: "Re-create the archive so that every path appears once." };
    case "through-symlink":
      return {
        problem: `goes through the symlink ${quote(v.symlink)} of the same archive (nothing may be written through a symlink)`,
        fix: "Re-create the archive without that symlink.",
      };
    case "through-file":
      return {
        problem: `goes through ${quote(v.file)}, which is a file in the same archive, not a folder`,
        fix: "Re-create the archive with a standard tool.",
      };
    case "symlink-outside":
      return {
        problem: `is a symlink to ${quote(v.target)}, which points outside the project folder (symlinks must stay inside it)`,
        fix: "Copy the linked files into the project folder and re-create the archive.",
      };
    case "dangling-symlink":
      return {
        problem: `is a symlink to ${quote(v.target)}, which is not in the archive`,
        fix: "Add the linked file to the archive or leave the symlink out.",
      };
    case "symlink-loop":
      return {
        problem: `is a symlink to ${quote(v.target)}, which loops back on itself`,
        fix: "Leave the symlink out of the archive.",
      };
    case "hardlink":
      return {
        problem: `is a hard link to ${quote(v.target)} (hard links are not allowed)`,
        fix: "Re-create the archive without hard links (e.g. tar --hard-dereference).",
      };
    case "special-file":
      return {
        problem: "is a device, FIFO or other special file (only files, folders and symlinks are allowed)",
        fix: "Re-create the archive without it.",
      };
    case "too-many-entries":
      return {
        problem: `goes past the limit of ${v.limit} entries per archive`,
        fix: "Pack fewer files, or raise the limit with BRENDER_MAX_UNPACK_ENTRIES.",
      };
    case "too-many-bytes":
      return {
        problem: `takes the unpacked size past the limit of ${v.limit} bytes`,
        fix: "Pack less data, or raise the limit with BRENDER_MAX_UNPACK_BYTES.",
      };
    case "size-mismatch":
      return {
        problem: `holds more data than the ${v.declared} bytes its header declares (a forged size, as in a zip bomb)`,
        fix: "Re-create the archive with a standard tool.",
      };
  }
}

/** JSON quoting keeps the message on one line whatever control characters a hostile name holds. */
function quote(text: string): string {
  const shown = text.length > 200 ? `${text.slice(0, 200)}…` : text;
  return JSON.stringify(shown);
}

/** An archive entry broke a safety rule; nothing of the archive was (or stays) unpacked. */
export class UnsafeArchiveError extends JobFailedError {
  readonly archiveName: string;
  readonly entryPath: string;
  readonly violation: ArchiveViolation;

  constructor(archiveName: string, entryPath: string, violation: ArchiveViolation) {
    const { problem, fix } = explain(violation);
    super(`Refused to unpack ${archiveName}: entry ${quote(entryPath)} ${problem}. ${fix}`);
    this.archiveName = archiveName;
    this.entryPath = entryPath;
    this.violation = violation;
  }

  get rule(): ArchiveRule {
    return this.violation.rule;
  }
}

const SEPARATOR = /[\\/]/;

/** "C:", "C:\x", "C:/x" and "C:x" all address a drive, never the project folder. */
function isAbsolute(path: string): boolean {
  return path.startsWith("/") || path.startsWith("\\") || /^[A-Za-z]:/.test(path);
}

/** ".." and the forms Windows trims into it (".. ", "..."). */
function isParentSegment(segment: string): boolean {
  return segment.includes("..") && /^[. ]+$/.test(segment);
}

type Normalized = { ok: true; segments: string[] } | { ok: false; violation: ArchiveViolation };

function normalizeEntryPath(raw: string): Normalized {
  if (raw.length === 0 || raw.includes("\0")) return { ok: false, violation: { rule: "bad-name" } };
  if (isAbsolute(raw)) return { ok: false, violation: { rule: "absolute-path" } };
  const segments: string[] = [];
  for (const segment of raw.split(SEPARATOR)) {
    if (segment === "" || segment === ".") continue;
    // Refused even when it would stay inside ("a/../b"): no honest archiver writes one.
    if (isParentSegment(segment)) return { ok: false, violation: { rule: "parent-segment" } };
    segments.push(segment);
  }
  // "./C:x" is still drive-relative once the "./" is gone.
  if (isAbsolute(segments.join("/"))) return { ok: false, violation: { rule: "absolute-path" } };
  return { ok: true, segments };
}

/**
 * Where a relative symlink target lands, seen from the link's folder, without
 * following other symlinks (extract.ts checks the real resolution after writing).
 * Undefined when it climbs above the root.
 */
function resolveLinkTarget(linkSegments: readonly string[], target: string): string[] | undefined {
  const resolved = linkSegments.slice(0, -1);
  for (const segment of target.split(SEPARATOR)) {
    if (segment === "" || segment === ".") continue;
    if (isParentSegment(segment)) {
      if (resolved.length === 0) return undefined;
      resolved.pop();
    } else {
      resolved.push(segment);
    }
  }
  return resolved;
}

function checkSymlinkTarget(linkSegments: readonly string[], target: string | undefined): ArchiveViolation | undefined {
  if (target === undefined || target === "" || target.includes("\0")) return { rule: "bad-name" };
  if (isAbsolute(target)) return { rule: "symlink-outside", target };
  if (resolveLinkTarget(linkSegments, target) === undefined) return { rule: "symlink-outside", target };
  return undefined;
}

/**
 * Checks every entry of an archive against the unpacking rules and returns
 * what to write, in archive order, with normalized paths. Folder entries for
 * the root itself ("./") and repeated folder entries are dropped.
 *
 * Throws UnsafeArchiveError for the first entry (in archive order) that is
 * absolute, has a ".." segment, is a hard link, device or FIFO, is a symlink
 * leaving the root, lies under a symlink or file entry, repeats a path, or
 * takes the entry count or the declared byte total past `limits`.
 */
export function planExtraction(
  entries: readonly ArchiveEntry[],
  limits: ExtractionLimits,
  archiveName = "the archive",
): PlannedEntry[] {
  const refuse = (entryPath: string, violation: ArchiveViolation): never => {
    throw new UnsafeArchiveError(archiveName, entryPath, violation);
  };

  const planned: PlannedEntry[] = [];
  const byPath = new Map<string, PlannedEntry>();
  let totalBytes = 0;

  entries.forEach((entry, index) => {
    if (index >= limits.maxEntries) refuse(entry.path, { rule: "too-many-entries", limit: limits.maxEntries });
    const normalized = normalizeEntryPath(entry.path);
    if (!normalized.ok) return refuse(entry.path, normalized.violation);
    const { segments } = normalized;
    const path = segments.join("/");

    switch (entry.type) {
      case "hardlink":
        return refuse(entry.path, { rule: "hardlink", target: entry.linkTarget ?? "" });
      case "other":
        return refuse(entry.path, { rule: "special-file" });
      case "directory": {
        if (path === "") return;
        const earlier = byPath.get(path);
        if (earlier?.type === "directory") return;
        if (earlier) return refuse(entry.path, { rule: "duplicate" });
        const plannedDir: PlannedEntry = { index, path, type: "directory", size: 0 };
        byPath.set(path, plannedDir);
        planned.push(plannedDir);
        return;
      }
      case "file":
      case "symlink": {
        if (path === "") return refuse(entry.path, { rule: "bad-name" });
        if (byPath.has(path)) return refuse(entry.path, { rule: "duplicate" });
        if (!Number.isSafeInteger(entry.size) || entry.size < 0) {
          return refuse(entry.path, { rule: "bad-size", size: entry.size });
        }
        let plannedEntry: PlannedEntry;
        if (entry.type === "file") {
          totalBytes += entry.size;
          if (totalBytes > limits.maxTotalBytes) {
            return refuse(entry.path, { rule: "too-many-bytes", limit: limits.maxTotalBytes });
          }
          plannedEntry = { index, path, type: "file", size: entry.size };
        } else {
          const problem = checkSymlinkTarget(segments, entry.linkTarget);
          if (problem) return refuse(entry.path, problem);
          const linkTarget = (entry.linkTarget ?? "").split(SEPARATOR).join("/");
          plannedEntry = { index, path, type: "symlink", size: entry.size, linkTarget };
        }
        byPath.set(path, plannedEntry);
        planned.push(plannedEntry);
        return;
      }
    }
  });

  // Only once every path is known: the symlink may come after the entries under it.
  for (const entry of planned) {
    const segments = entry.path.split("/");
    for (let depth = 1; depth < segments.length; depth++) {
      const ancestor = byPath.get(segments.slice(0, depth).join("/"));
      if (ancestor?.type === "symlink") refuse(entries[entry.index]!.path, { rule: "through-symlink", symlink: ancestor.path });
      if (ancestor?.type === "file") refuse(entries[entry.index]!.path, { rule: "through-file", file: ancestor.path });
    }
  }
  return planned;
}
