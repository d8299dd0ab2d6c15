import { z } from "zod";

/**
 * The files a .blend needs to render, as Blender traced them
 * (src/blender/bpy/brender_deps.py), and where each goes in the uploaded
 * project. Files inside the project keep their place; files outside it go
 * under EXTERNAL_PREFIX at their absolute path, so paths written relative to
 * each other (a library and its textures, `//../`) still meet on the farm.
 */

/** Manifest folder of the files that live outside the project. */
export const EXTERNAL_PREFIX = "_external/";

/** Manifest path of the map the farm reads to point every traced path at its uploaded copy. */
export const DEPENDENCY_MAP_PATH = "_brender-dependencies.json";

export const DEPENDENCY_KINDS = [
  "image", "library", "sound", "movieclip", "font", "cache", "volume",
  "fluid_cache", "ocean_cache", "point_cache", "sequencer",
] as const;

/** One path a datablock holds, as the tracer reports it. */
export const tracedDependencySchema = z.object({
  kind: z.enum(DEPENDENCY_KINDS),
  owner: z.string().describe('the datablock holding the path, e.g. Image "wood.png"'),
  library: z.string().nullable().describe("the library file that writes the path (as resolved), null for the .blend itself"),
  path: z.string().describe("the path as written in the file"),
  resolved: z.string().describe("where it points on the submitting machine (<UDIM> tokens kept)"),
  folder: z.boolean().describe("a folder of cache files rather than one file"),
  packed: z.boolean().describe("packed into the .blend: needs nothing"),
  files: z.array(z.string()).describe("the files found: every UDIM tile, every frame of a sequence, every file of a cache folder"),
  missing: z.array(z.string()).describe("files it needs that are not there"),
});

export type TracedDependency = z.infer<typeof tracedDependencySchema>;

/** One entry of the farm's map: the path's identity on both machines and the manifest path of its copy. */
export type DependencyMapEntry = {
  readonly library: string | null;
  readonly path: string;
  readonly resolved: string;
  readonly target: string;
};

/** The map as the farm reads it (remap() in brender_deps.py). */
export type DependencyMap = { readonly schemaVersion: 1; readonly entries: readonly DependencyMapEntry[] };

/** Whether `path` is `root` itself or inside it (both absolute, same style). */
export function isInside(path: string, root: string): boolean {
  const sep = root.includes("\\") && !root.includes("/") ? "\\" : "/";
  const base = root.endsWith(sep) ? root : root + sep;
  return path === root || path.startsWith(base);
}

/**
 * Where a file the render needs goes in the project: its path relative to
 * the project root when inside it, else EXTERNAL_PREFIX plus its absolute
 * path with the root taken off (`/home/me/t.png` → `_external/home/me/t.png`,
 * `C:\tex\t.png` → `_external/C/tex/t.png`, `\\server\share\t.png` →
 * `_external/UNC/server/share/t.png`).
 */
export function manifestPathOf(absolute: string, projectRoot: string): string {
  if (isInside(absolute, projectRoot)) {
    const base = projectRoot.endsWith("/") || projectRoot.endsWith("\\") ? projectRoot : `${projectRoot}/`;
    return absolute.slice(base.length).split("\\").join("/");
  }
  const unc = /^\\\\([^\\]+)\\(.*)$/.exec(absolute);
  if (unc) return `${EXTERNAL_PREFIX}UNC/${unc[1]}/${unc[2]!.split("\\").join("/")}`;
  const drive = /^([A-Za-z]):[\\/](.*)$/.exec(absolute);
  if (drive) return `${EXTERNAL_PREFIX}${drive[1]!.toUpperCase()}/${drive[2]!.split("\\").join("/")}`;
  return EXTERNAL_PREFIX + absolute.replace(/^\/+/, "");
}

/** Whether a dependency cannot be found: some file it needs is missing, or (not packed) it has none at all. */
export function isMissing(dependency: TracedDependency): boolean {
  if (dependency.packed) return false;
  return dependency.missing.length > 0 || (dependency.files.length === 0 && !(dependency.folder && dependency.kind === "point_cache"));
}

/** The farm's map: every traced path that has files, by identity, to the manifest path of its copy. */
export function dependencyMap(dependencies: readonly TracedDependency[], projectRoot: string): DependencyMap {
  const entries = dependencies
    .filter((dependency) => !dependency.packed && dependency.files.length > 0)
    .map((dependency) => ({
      library: dependency.library,
      path: dependency.path,
      resolved: dependency.resolved,
      target: manifestPathOf(dependency.resolved, projectRoot),
    }));
  return { schemaVersion: 1, entries };
}

/** One-line description of a missing dependency, naming what needs it and where it was looked for. */
export function describeMissing(dependency: TracedDependency): string {
  const where = dependency.missing.length > 0 ? dependency.missing.slice(0, 3).join(", ") + (dependency.missing.length > 3 ? ` (+${dependency.missing.length - 3} more)` : "") : dependency.resolved;
  const written = dependency.path === dependency.resolved ? "" : ` (written "${dependency.path}")`;
  const from = dependency.library ? ` in library ${dependency.library}` : "";
  return `${dependency.kind} ${dependency.owner}${from}: ${where}${written}`;
}
