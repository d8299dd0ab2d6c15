import { access, readFile } from "node:fs/promises";
import { join } from "node:path";
import { z } from "zod";
import { DEPENDENCY_MAP_PATH, type TracedDependency } from "../domain/dependencies.ts";

/**
 * The dependencies an uploaded project still lacks once its packing map
 * (`_brender-dependencies.json`, written by `brender render` or the Blender
 * add-on) is taken into account: a path the map points at a copy inside the
 * upload is found on the farm (brender_deps.remap), even though the server,
 * tracing the .blend where it stores it, sees it point outside the upload.
 */

const dependencyMapSchema = z.object({
  schemaVersion: z.literal(1),
  entries: z.array(z.object({ library: z.string().nullable(), path: z.string(), resolved: z.string(), target: z.string() })),
});

/**
 * The server resolves libraries where it stores them, not where the
 * submitting machine found them, so a path is matched by what it says and
 * whether a library writes it (as the farm's remap matches it once the
 * libraries themselves are remapped).
 */
function identity(library: string | null, path: string): string {
  return `${library === null ? "main" : "library"}\0${path}`;
}

export async function unmappedDependencies(dependencies: readonly TracedDependency[], projectRoot: string): Promise<TracedDependency[]> {
  const text = await readFile(join(projectRoot, DEPENDENCY_MAP_PATH), "utf8").catch(() => undefined);
  if (text === undefined) return [...dependencies];
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return [...dependencies]; // not a map after all: every dependency is checked as if there were none
  }
  const parsed = dependencyMapSchema.safeParse(json);
  if (!parsed.success) return [...dependencies];
  const copied = new Set<string>();
  for (const entry of parsed.data.entries) {
    const copy = join(projectRoot, ...entry.target.split("/"));
    // A UDIM target names its tiles by pattern: the first tile stands for it.
    const present = await access(copy.replace("<UDIM>", "1001")).then(() => true, () => false);
    if (present) copied.add(identity(entry.library, entry.path));
  }
  return dependencies.filter((dependency) => !copied.has(identity(dependency.library, dependency.path)));
}
