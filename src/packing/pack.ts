import { mkdtemp, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import {
  DEPENDENCY_MAP_PATH, dependencyMap, describeMissing, isInside, isMissing, manifestPathOf, type TracedDependency,
} from "../domain/dependencies.ts";
import { UserInputError } from "../errors.ts";
import type { ExtraFile, UploadSource } from "../storage/content-upload.ts";

/**
 * Packing: what travels with a render besides the project. Every file the
 * traced dependencies use goes into the upload (content-addressed, like the
 * project's own files), files outside the project under `_external/`, with a
 * map that lets the farm point each path at its copy (brender_deps.remap).
 */

/** What packing found, for the summary (text, JSON, API, UI). */
export type PackingReport = {
  /** Paths traced (one per image, library, cache… that is not packed into the .blend). */
  readonly traced: number;
  /** Files they use (every UDIM tile, sequence frame, cache file). */
  readonly files: number;
  /** Of those, the files outside the project, uploaded alongside it. */
  readonly outside: number;
  /** Size of every file the dependencies use. */
  readonly bytes: number;
  /** Paths the farm will point at the uploaded copies. */
  readonly remapped: number;
  /** One line per dependency that could not be found (rendered without it: only with allowMissing). */
  readonly missing: readonly string[];
};

export type PackedProject = {
  /** The source to upload: the project plus the dependency files and the farm's map. */
  readonly source: UploadSource;
  readonly report: PackingReport;
  /** Removes the map's scratch copy; call once the upload is done. */
  dispose(): Promise<void>;
};

/** The folder that counts as "the project": the folder given, or the lone .blend's own folder. */
export function projectRootOf(source: UploadSource): string {
  return source.kind === "folder" ? resolve(source.path) : dirname(resolve(source.path));
}

/**
 * Adds what the traced dependencies need to an upload source. A missing
 * dependency is bad input (exit 2, nothing uploaded) naming every one,
 * unless `allowMissing`: then it is only reported.
 */
export async function packDependencies(
  dependencies: readonly TracedDependency[],
  source: UploadSource,
  options: { readonly allowMissing?: boolean } = {},
): Promise<PackedProject> {
  const missing = dependencies.filter(isMissing).map(describeMissing);
  if (missing.length > 0 && !options.allowMissing) {
    throw new UserInputError(
      `${missing.length} file(s) the .blend needs are missing: ${missing.join("; ")}. Put them back (or fix the paths in Blender), or add --allow-missing to render without them.`,
    );
  }
  const root = projectRootOf(source);
  const blend = source.kind === "file" ? resolve(source.path) : undefined;
  const extra = new Map<string, ExtraFile>();
  const counted = new Set<string>();
  let bytes = 0;
  let outside = 0;
  for (const dependency of dependencies) {
    if (dependency.packed) continue;
    for (const file of dependency.files) {
      if (counted.has(file) || file === blend) continue;
      counted.add(file);
      bytes += (await stat(file)).size;
      const inside = isInside(file, root);
      if (!inside) outside += 1;
      // A folder project uploads what is inside it anyway.
      if (source.kind === "file" || !inside) extra.set(file, { absolutePath: file, path: manifestPathOf(file, root) });
    }
  }
  const map = dependencyMap(dependencies, root);
  const report: PackingReport = { traced: dependencies.filter((d) => !d.packed).length, files: counted.size, outside, bytes, remapped: map.entries.length, missing };
  if (map.entries.length === 0) return { source, report, dispose: async () => {} };

  const scratch = await mkdtemp(join(tmpdir(), "brender-pack-"));
  const mapFile = join(scratch, "dependencies.json");
  await writeFile(mapFile, `${JSON.stringify(map, null, 1)}\n`);
  return {
    source: { ...source, extraFiles: [...extra.values(), { absolutePath: mapFile, path: DEPENDENCY_MAP_PATH }] },
    report,
    dispose: () => rm(scratch, { recursive: true, force: true }),
  };
}

/** The packing summary in one line, for the CLI. */
export function formatPackingReport(report: PackingReport, formatBytes: (bytes: number) => string): string {
  const outside = report.outside > 0 ? `, ${report.outside} from outside the project` : "";
  const missing = report.missing.length > 0 ? `; MISSING (renders without them): ${report.missing.join("; ")}` : "";
  return `dependencies: ${report.traced} traced, ${report.files} files (${formatBytes(report.bytes)})${outside}, ${report.remapped} paths remapped on the farm${missing}`;
}
