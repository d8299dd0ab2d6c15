/**
 * The Blender add-on as an installable zip: the brender_submit package
 * folder, its blender_manifest.toml inside it, so Blender 3.x–4.1 install it
 * as an add-on (bl_info) and 4.2+ as an extension (the manifest).
 */
import { createWriteStream } from "node:fs";
import { mkdir, readdir, readFile, rename, rm, stat } from "node:fs/promises";
import { basename, join } from "node:path";
import { pipeline } from "node:stream/promises";
import yazl from "yazl";
import { UserInputError } from "../errors.ts";

export const ADDON_PACKAGE = "brender_submit";
const SOURCE_DIR = new URL(`./${ADDON_PACKAGE}/`, import.meta.url).pathname;
const PACKAGED = /\.(py|toml)$/;
// Packing's tracer, shipped as it is: the add-on's upload follows the same rules as `brender render` (one source file).
const SHARED_FILES = [new URL("../blender/bpy/brender_deps.py", import.meta.url).pathname];
// A fixed date: the same sources give the same zip, byte for byte.
const FIXED_MTIME = new Date("2020-01-01T00:00:00Z");

/** The add-on's version, from its manifest (the test checks bl_info and package.json agree). */
export async function addonVersion(sourceDir = SOURCE_DIR): Promise<string> {
  const manifest = await readFile(join(sourceDir, "blender_manifest.toml"), "utf8");
  const version = /^version\s*=\s*"([^"]+)"/m.exec(manifest)?.[1];
  if (!version) throw new Error(`${sourceDir}blender_manifest.toml names no version`);
  return version;
}

/** Writes `<outDir>/brender_submit-<version>.zip` and returns its path. */
export async function writeAddonZip(outDir: string, sourceDir = SOURCE_DIR): Promise<{ file: string; files: string[] }> {
  const existing = await stat(outDir).catch(() => undefined);
  if (existing && !existing.isDirectory()) {
    throw new UserInputError(`--out ${outDir} is a file, not a folder: give a folder to write the add-on's zip into.`);
  }
  const sources = new Map<string, string>();
  for (const name of (await readdir(sourceDir)).filter((entry) => PACKAGED.test(entry))) sources.set(name, join(sourceDir, name));
  for (const file of SHARED_FILES) sources.set(basename(file), file);
  const names = [...sources.keys()].sort();
  const zip = new yazl.ZipFile();
  for (const name of names) {
    zip.addBuffer(await readFile(sources.get(name)!), `${ADDON_PACKAGE}/${name}`, { mtime: FIXED_MTIME, forceDosTimestamp: true, mode: 0o100644 });
  }
  zip.end();
  await mkdir(outDir, { recursive: true });
  const file = join(outDir, `${ADDON_PACKAGE}-${await addonVersion(sourceDir)}.zip`);
  const partial = `${file}.partial`;
  try {
    await pipeline(zip.outputStream, createWriteStream(partial));
    await rename(partial, file);
  } catch (error) {
    await rm(partial, { force: true });
    throw error;
  }
  return { file, files: names.map((name) => `${ADDON_PACKAGE}/${name}`) };
}
