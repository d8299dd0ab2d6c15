/**
 * Turns a Blender series (`--blender 4.2`) into the release the image build
 * needs (4.2.12): the worker image downloads one exact tarball, so a
 * two-part version would be accepted by synth and then refused by the build.
 * The newest release of the series is read from the same site the
 * Dockerfile downloads from (download.blender.org/release/BlenderX.Y/); when
 * it cannot be read, the version is refused with the fix (exit 2).
 */
import { UserInputError } from "../../../errors.ts";

/** Where Blender's releases are listed; BRENDER_BLENDER_DOWNLOADS overrides it (tests, mirrors). */
export const BLENDER_DOWNLOADS = "https://download.blender.org/release";

/** Fetches a listing page's text; throws when it cannot. */
export type FetchText = (url: string) => Promise<string>;

/** A two-part version (a series) rather than a release. */
export function isSeries(version: string): boolean {
  return /^\d+\.\d+$/.test(version);
}

/** The releases of `series` ("4.2") a download.blender.org folder listing names, oldest first (pure). */
export function releasesInListing(listing: string, series: string): string[] {
  const escaped = series.replace(".", "\\.");
  const names = listing.matchAll(new RegExp(`blender-(${escaped}\\.\\d+)-linux-x64\\.tar\\.xz`, "g"));
  const versions = [...new Set([...names].map((match) => match[1]!))];
  return versions.sort((a, b) => Number(a.split(".")[2]) - Number(b.split(".")[2]));
}

/**
 * Each version as a full release: releases stay as they are, a series
 * becomes its newest Linux x64 release. `onResolved` hears each resolution.
 * Throws UserInputError when a series has no release or its listing cannot
 * be read, naming the fix.
 */
export async function resolveBlenderReleases(
  versions: readonly string[],
  options: { readonly fetchText?: FetchText; readonly downloads?: string; readonly onResolved?: (series: string, release: string) => void } = {},
): Promise<string[]> {
  const fetchText = options.fetchText ?? fetchListing;
  const downloads = (options.downloads ?? BLENDER_DOWNLOADS).replace(/\/+$/, "");
  const resolved: string[] = [];
  for (const version of versions) {
    if (!isSeries(version)) {
      resolved.push(version);
      continue;
    }
    const url = `${downloads}/Blender${version}/`;
    let listing: string;
    try {
      listing = await fetchText(url);
    } catch (error) {
      throw new UserInputError(
        `Blender ${version} is a series, not a release, and its newest release could not be read from ${url} (${error instanceof Error ? error.message : String(error)}): give the full version, e.g. --blender ${version}.0.`,
        { cause: error },
      );
    }
    const release = releasesInListing(listing, version).at(-1);
    if (release === undefined) {
      throw new UserInputError(`Blender ${version} has no Linux release at ${url}: give a released version, e.g. --blender 4.2.0.`);
    }
    options.onResolved?.(version, release);
    resolved.push(release);
  }
  return [...new Set(resolved)];
}

async function fetchListing(url: string): Promise<string> {
  const response = await fetch(url, { signal: AbortSignal.timeout(15_000) });
  if (!response.ok) throw new Error(`HTTP ${response.status}`);
  return response.text();
}
