import { z } from "zod";

/**
 * A project submitted content-addressed: every file's bytes are stored once,
 * by SHA-256, under `cas/sha256/<2 hex>/<64 hex>`, and one manifest per
 * submission lists which blob goes where. Re-submitting an unchanged project
 * uploads only a new manifest.
 */

/** Object-key prefix of every content blob. */
export const BLOB_PREFIX = "cas/sha256/";

/** Ending of every project-manifest key; copy_efs recognises manifests by it. */
export const MANIFEST_SUFFIX = ".manifest.json";

/** The only two modes a manifest records: the executable bit is all that matters to a render. */
export const REGULAR_MODE = 0o644;
export const EXECUTABLE_MODE = 0o755;

const SHA256_HEX = /^[0-9a-f]{64}$/;

/** Where the blob with this SHA-256 (lower-case hex) lives in the store. */
export function blobKey(sha256: string): string {
  if (!SHA256_HEX.test(sha256)) throw new Error(`Not a SHA-256 hex digest: "${sha256}"`);
  return `${BLOB_PREFIX}${sha256.slice(0, 2)}/${sha256}`;
}

/** The manifest key of one submission: `<project>/projects/<renderId>.manifest.json`. */
export function manifestKeyFor(projectName: string, renderId: string): string {
  return `${projectName}/projects/${renderId}${MANIFEST_SUFFIX}`;
}

export function isManifestKey(key: string): boolean {
  return key.endsWith(MANIFEST_SUFFIX);
}

/** Blender's own backups (scene.blend1, scene.blend2…) are never needed to render. */
export function isBlenderBackup(fileName: string): boolean {
  return /\.blend\d+$/.test(fileName);
}

/** The manifest mode of a file from its `stat` mode: executable by its owner or not. */
export function manifestModeOf(statMode: number): typeof REGULAR_MODE | typeof EXECUTABLE_MODE {
  return (statMode & 0o100) !== 0 ? EXECUTABLE_MODE : REGULAR_MODE;
}

/**
 * Why a manifest path is unsafe or unportable, or undefined when it is fine.
 * Paths are POSIX and relative to the project folder; a path that could
 * name something outside it (absolute, drive letter, "..") is refused, and so
 * are "." and empty segments, backslashes and NUL (ambiguous across systems).
 */
export function manifestPathProblem(path: string): string | undefined {
  if (path.length === 0) return "is empty";
  if (path.startsWith("/")) return "is absolute";
  if (/^[A-Za-z]:/.test(path)) return "starts with a drive letter";
  if (/[\\\0]/.test(path)) return "contains a backslash or NUL character";
  if (path.split("/").some((segment) => segment === "" || segment === "." || segment === "..")) {
    return "has an empty, '.' or '..' segment";
  }
  return undefined;
}

const manifestFileSchema = z
  .object({
    path: z.string().superRefine((path, context) => {
      const problem = manifestPathProblem(path);
      if (problem) context.addIssue({ code: "custom", message: `path "${path}" ${problem}` });
    }),
    size: z.number().int().nonnegative(),
    sha256: z.string().regex(SHA256_HEX, "must be 64 lower-case hex digits"),
    mode: z.union([z.literal(REGULAR_MODE), z.literal(EXECUTABLE_MODE)]),
  })
  .strict();

export type ManifestFile = z.infer<typeof manifestFileSchema>;

/** The versioned manifest schema: files sorted by path, no path inside another file, totalBytes the sum of sizes. */
export const projectManifestSchema = z
  .object({
    schemaVersion: z.literal(1),
    files: z.array(manifestFileSchema),
    totalBytes: z.number().int().nonnegative(),
  })
  .strict()
  .superRefine((manifest, context) => {
    const problem = structureProblem(manifest.files, manifest.totalBytes);
    if (problem) context.addIssue({ code: "custom", message: problem });
  });

export type ProjectManifest = z.infer<typeof projectManifestSchema>;

/** Code-unit order: the same on every machine and locale. */
function comparePaths(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function structureProblem(files: readonly ManifestFile[], totalBytes: number): string | undefined {
  const paths = new Set<string>();
  let sum = 0;
  for (const [index, file] of files.entries()) {
    const previous = files[index - 1];
    if (previous && comparePaths(previous.path, file.path) >= 0) {
      return previous.path === file.path ? `path "${file.path}" is listed twice` : `files are not sorted by path at "${file.path}"`;
    }
    paths.add(file.path);
    sum += file.size;
  }
  // A file cannot also be a folder holding another file.
  for (const path of paths) {
    const segments = path.split("/");
    for (let depth = 1; depth < segments.length; depth += 1) {
      const folder = segments.slice(0, depth).join("/");
      if (paths.has(folder)) return `"${folder}" is both a file and the folder of "${path}"`;
    }
  }
  if (sum !== totalBytes) return `totalBytes is ${totalBytes} but the files add up to ${sum}`;
  return undefined;
}

/**
 * Builds a manifest from files in any order: sorts them by path and sums
 * their sizes. Throws when the result would not pass the schema (duplicate or
 * unsafe paths), naming the bad path.
 */
export function buildManifest(files: readonly ManifestFile[]): ProjectManifest {
  const sorted = [...files].sort((a, b) => comparePaths(a.path, b.path));
  return checked({ schemaVersion: 1, files: sorted, totalBytes: sorted.reduce((sum, file) => sum + file.size, 0) });
}

/** The manifest as stored: compact JSON, one file per line so it diffs and greps well. */
export function serializeManifest(manifest: ProjectManifest): string {
  const files = manifest.files.map((file) => `    ${JSON.stringify(file)}`).join(",\n");
  return `{\n  "schemaVersion": ${manifest.schemaVersion},\n  "totalBytes": ${manifest.totalBytes},\n  "files": [\n${files}\n  ]\n}\n`;
}

/** Parses stored manifest text; throws an Error whose message names the first problem (with its field path). */
export function parseManifest(text: string): ProjectManifest {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new Error(`not valid JSON (${(error as Error).message})`);
  }
  return checked(json);
}

/** Validates against the schema; the error names the first problem, with its dotted field path. */
function checked(json: unknown): ProjectManifest {
  const result = projectManifestSchema.safeParse(json);
  if (!result.success) {
    const issue = result.error.issues[0]!;
    const where = issue.path.length > 0 ? `${issue.path.join(".")}: ` : "";
    throw new Error(`${where}${issue.message}`);
  }
  return result.data;
}

/** The files of a manifest grouped by content, in manifest order: each distinct blob once, with every path that holds it. */
export function filesByContent(manifest: ProjectManifest): Map<string, ManifestFile[]> {
  const groups = new Map<string, ManifestFile[]>();
  for (const file of manifest.files) {
    const group = groups.get(file.sha256);
    if (group) group.push(file);
    else groups.set(file.sha256, [file]);
  }
  return groups;
}
