/**
 * Which Blender renders a file (pure): the rule both backends share. The AWS
 * backend picks among the versions a farm deployed, the local farm among the
 * Blenders installed on this machine; each words its own messages.
 */
import { UserInputError } from "./errors.ts";

/** "4.2.0", "3.6" — what `--blender` takes, and what Blender versions are written like. */
export const BLENDER_VERSION_PATTERN = /^\d+\.\d+(\.\d+)?$/;

export type Version = readonly [major: number, minor: number, patch: number];

/** A candidate Blender: its version text ("4.2.0") and whatever the caller needs back (a path, a job definition). */
export type VersionedCandidate = { readonly version: string };

/**
 * The outcome of a choice:
 * - `same`: the file's own release (newest patch of it);
 * - `newer`: the nearest release above the file's (no candidate has the file's release);
 * - `older`: every candidate is older than the file, so the newest one was taken;
 * - `requested`: the version asked for (`older` tells whether it is older than the file);
 * - `none`: no candidate at all; `missing`: the requested version is not among them.
 */
export type BlenderPick<T> =
  | { readonly kind: "same" | "newer"; readonly chosen: T }
  | { readonly kind: "older"; readonly chosen: T }
  | { readonly kind: "requested"; readonly chosen: T; readonly older: boolean }
  | { readonly kind: "none" }
  | { readonly kind: "missing" };

/**
 * Picks the Blender for a file saved by `fileVersion` ("3.4", from the .blend
 * header): `requested` ("4.2.0", or "4.2" for its newest patch) when given,
 * else the nearest release at or above the file's (its newest patch), else
 * the newest candidate. Throws UserInputError for text that is not a version.
 */
export function pickBlender<T extends VersionedCandidate>(fileVersion: string, candidates: readonly T[], requested?: string): BlenderPick<T> {
  const file = parseBlenderVersion(fileVersion, "the file's Blender version");
  const available = candidates.map((candidate) => ({ candidate, version: parseBlenderVersion(candidate.version, "a Blender version") }));
  if (available.length === 0) return { kind: "none" };

  if (requested !== undefined) {
    const wanted = parseBlenderVersion(requested, "--blender");
    const patchGiven = requested.split(".").length === 3;
    const chosen = newest(available.filter((entry) => sameRelease(entry.version, wanted) && (!patchGiven || entry.version[2] === wanted[2])));
    if (chosen === undefined) return { kind: "missing" };
    return { kind: "requested", chosen: chosen.candidate, older: compareVersions(release(chosen.version), release(file)) < 0 };
  }

  const atOrAbove = available.filter((entry) => compareVersions(release(entry.version), release(file)) >= 0);
  if (atOrAbove.length === 0) return { kind: "older", chosen: newest(available)!.candidate };
  const nearestRelease = atOrAbove.map((entry) => release(entry.version)).sort(compareVersions)[0]!;
  const chosen = newest(atOrAbove.filter((entry) => sameRelease(entry.version, nearestRelease)))!;
  return { kind: sameRelease(chosen.version, file) ? "same" : "newer", chosen: chosen.candidate };
}

/** "4.2" or "4.2.1" → [4, 2, 0] / [4, 2, 1]; a UserInputError naming `what` otherwise. */
export function parseBlenderVersion(text: string, what: string): Version {
  if (!BLENDER_VERSION_PATTERN.test(text)) {
    throw new UserInputError(`${what} ${JSON.stringify(text)} is not a Blender version: write it like 4.2 or 4.2.0.`);
  }
  const [major = 0, minor = 0, patch = 0] = text.split(".").map(Number);
  return [major, minor, patch];
}

/** The version in `blender --version`'s first line ("Blender 4.3.2", "Blender 5.2.2 LTS"), as "4.3.2". */
export function versionFromBanner(banner: string): string | undefined {
  const match = /^\s*Blender\s+(\d+)\.(\d+)(?:\.(\d+))?/m.exec(banner);
  return match ? `${match[1]}.${match[2]}.${match[3] ?? "0"}` : undefined;
}

export function compareVersions(a: Version, b: Version): number {
  return a[0] - b[0] || a[1] - b[1] || a[2] - b[2];
}

/** "4.2.1" → "4.2" (what a .blend header records). */
export function releaseOf(version: string): string {
  return version.split(".").slice(0, 2).join(".");
}

function release(version: Version): Version {
  return [version[0], version[1], 0];
}

function sameRelease(a: Version, b: Version): boolean {
  return a[0] === b[0] && a[1] === b[1];
}

function newest<T extends { version: Version }>(entries: readonly T[]): T | undefined {
  return [...entries].sort((a, b) => compareVersions(b.version, a.version))[0];
}
