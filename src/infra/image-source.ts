/**
 * The source zip the farm's CodeBuild project builds the worker image from:
 * docker/Dockerfile and docker/buildspec.yml at the zip's root, next to what
 * the Dockerfile copies (package.json, package-lock.json, bin/, dist/).
 *
 * The zip is deterministic (sorted entries, fixed times and modes, no
 * compression, whose output could change with the machine's zlib), so an
 * unchanged source gives identical bytes and the same sourceDigest: that is
 * how `brender farm deploy` knows it can skip rebuilding the images.
 */
import { createHash } from "node:crypto";
import { createReadStream, createWriteStream } from "node:fs";
import { mkdir, readFile, readdir, rename, rm, stat } from "node:fs/promises";
import { dirname, join, posix, relative, sep } from "node:path";
import { pipeline } from "node:stream/promises";
import yazl from "yazl";
import { UserInputError } from "../errors.ts";

/** Where the zip's special entries come from in the repository, and their names in the zip. */
const ROOT_FILES = [
  { from: "docker/Dockerfile", to: "Dockerfile" },
  { from: "docker/buildspec.yml", to: "buildspec.yml" },
  { from: "package.json", to: "package.json" },
  { from: "package-lock.json", to: "package-lock.json" },
] as const;

/** Folders the Dockerfile copies, taken whole. */
const APP_FOLDERS = ["bin", "dist"] as const;

/** The file that proves `npm run build` has run. */
const BUILT_ENTRY = "dist/cli/main.js";

/**
 * Built in local time on purpose: zip (DOS) timestamps have no time zone, and
 * yazl writes the local-time fields of the Date, so this reads 1980-01-01
 * 00:00 on every machine, whatever its TZ.
 */
const FIXED_MTIME = new Date(1980, 0, 1, 0, 0, 0);
const FILE_MODE = 0o100644;
const EXECUTABLE_MODE = 0o100755;

type SourceEntry = { readonly path: string; readonly name: string; readonly executable: boolean };

/**
 * Writes the image-build source zip of the repository at `repoRoot` to
 * `outFile` (its folder is created; the file is replaced atomically).
 * Throws UserInputError when the project is not built (no dist/cli/main.js)
 * or a file the build needs is missing.
 */
export async function bundleImageSource(
  repoRoot: string,
  outFile: string,
): Promise<{ file: string; bytes: number; files: number }> {
  await requireFile(
    join(repoRoot, BUILT_ENTRY),
    `Brender is not built ("${BUILT_ENTRY}" is missing in ${repoRoot}): run npm run build first, then deploy again.`,
  );
  const entries: SourceEntry[] = [];
  for (const { from, to } of ROOT_FILES) {
    const path = join(repoRoot, from);
    await requireFile(path, `The image source needs "${from}", which is missing in ${repoRoot}: restore it (git checkout -- ${from}).`);
    entries.push({ path, name: to, executable: false });
  }
  for (const folder of APP_FOLDERS) {
    entries.push(...(await filesUnder(repoRoot, folder)));
  }
  entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));

  const zip = new yazl.ZipFile();
  for (const entry of entries) {
    zip.addBuffer(await readFile(entry.path), entry.name, {
      mtime: FIXED_MTIME,
      forceDosTimestamp: true,
      mode: entry.executable ? EXECUTABLE_MODE : FILE_MODE,
      compress: false,
    });
  }
  zip.end();

  await mkdir(dirname(outFile), { recursive: true });
  const partial = `${outFile}.partial`;
  try {
    await pipeline(zip.outputStream, createWriteStream(partial));
    await rename(partial, outFile);
  } catch (error) {
    await rm(partial, { force: true });
    throw error;
  }
  return { file: outFile, bytes: (await stat(outFile)).size, files: entries.length };
}

/** The SHA-256 of a file, in hex: the identity of an image source zip. */
export async function sourceDigest(zipFile: string): Promise<string> {
  const hash = createHash("sha256");
  await pipeline(createReadStream(zipFile), hash);
  return hash.digest("hex");
}

/** Every regular file under `repoRoot/folder`, named by its path from repoRoot with "/" separators. */
async function filesUnder(repoRoot: string, folder: string): Promise<SourceEntry[]> {
  const root = join(repoRoot, folder);
  let names: string[];
  try {
    names = await readdir(root, { recursive: true });
  } catch (error) {
    if (isMissing(error)) {
      throw new UserInputError(`The image source needs the folder "${folder}/", which is missing in ${repoRoot}: run npm run build first.`);
    }
    throw error;
  }
  const entries: SourceEntry[] = [];
  for (const name of names) {
    const path = join(root, name);
    // stat follows links, so a linked file is zipped as the file it points to.
    const info = await stat(path);
    if (!info.isFile()) continue;
    entries.push({
      path,
      name: relative(repoRoot, path).split(sep).join(posix.sep),
      executable: (info.mode & 0o111) !== 0,
    });
  }
  return entries;
}

async function requireFile(path: string, message: string): Promise<void> {
  try {
    if ((await stat(path)).isFile()) return;
  } catch (error) {
    if (!isMissing(error)) throw error;
  }
  throw new UserInputError(message);
}

function isMissing(error: unknown): boolean {
  return error instanceof Error && "code" in error && (error.code === "ENOENT" || error.code === "ENOTDIR");
}
