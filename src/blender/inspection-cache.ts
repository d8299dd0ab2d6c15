/**
 * Inspect once: Blender's report on a .blend (inspect_scene.py's JSON) kept
 * under $BRENDER_HOME/cache/inspections/, so rendering an unchanged file
 * again skips the Blender start that inspecting costs (about 1.5 s).
 *
 * An entry is found by a key over everything the report depends on: the
 * file's content (SHA-256, through the upload's hash cache, so an unchanged
 * file is not read again), its absolute path (relative paths in it resolve
 * from there), the Blender that read it (real path, size, modification time,
 * version), our bpy scripts' content and the path maps. The files the report
 * describes (textures, libraries, sequences, caches: present or missing) are
 * fingerprinted when it is stored and checked on every look-up: a texture
 * added, removed or changed, a library saved again, a tile or frame added to
 * a folder, and the entry no longer counts.
 */
import { createHash, randomBytes } from "node:crypto";
import { readdir, readFile, mkdir, realpath, rename, rm, stat, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { blenderInspectionSchema, type BlenderInspection } from "../domain/scene-inspection.ts";
import { hashCachePath, HashCache, hashThroughCache } from "../storage/hash-cache.ts";
import { onPath } from "./installations.ts";
import { BPY_SCRIPTS } from "./runner.ts";

/** The folder of cached inspections under BRENDER_HOME. */
export function inspectionCacheDir(brenderHome: string): string {
  return join(brenderHome, "cache", "inspections");
}

/** Beyond this many entries the least recently stored are removed. */
const MAX_ENTRIES = 256;
/** A file changed this recently may change again within its timestamp's resolution: its fingerprint is not trusted. */
const RACY_MS = 2000;

/** What identifies one version of a path on disk, or its absence. */
type Fingerprint = Record<string, string>;

type Entry = { readonly version: 1; readonly report: BlenderInspection; readonly fingerprint: Fingerprint };

export type InspectionKeyParts = {
  readonly file: string;
  readonly blender: { readonly path: string; readonly version: string | undefined };
  readonly pathMaps: readonly (readonly [string, string])[];
  /** Whose PATH finds a Blender given by name. */
  readonly env?: NodeJS.ProcessEnv;
};

let scriptsDigest: Promise<string> | undefined;

/** The content of every bpy script, once per process: a changed script is a different inspection. */
function bpyScriptsDigest(): Promise<string> {
  scriptsDigest ??= (async () => {
    const hash = createHash("sha256");
    for (const name of (await readdir(BPY_SCRIPTS)).filter((entry) => entry.endsWith(".py")).sort()) {
      hash.update(name).update("\0").update(await readFile(join(BPY_SCRIPTS, name))).update("\0");
    }
    return hash.digest("hex");
  })();
  return scriptsDigest;
}

/** The cache key of one inspection, or undefined when a part cannot be read (then nothing is cached). */
export async function inspectionKey(brenderHome: string, parts: InspectionKeyParts): Promise<string | undefined> {
  try {
    const info = await stat(parts.file);
    const hashes = await HashCache.open(hashCachePath(brenderHome));
    const content = await hashThroughCache(parts.file, { size: info.size, mtimeMs: info.mtimeMs, ino: info.ino }, hashes);
    // The upload hashes the same file next: leave it the answer.
    await hashes.save().catch(() => undefined);
    const blender = await blenderIdentity(parts.blender.path, parts.env ?? process.env);
    const key = { file: parts.file, content, blender: { ...blender, version: parts.blender.version ?? null }, scripts: await bpyScriptsDigest(), pathMaps: parts.pathMaps };
    return createHash("sha256").update(JSON.stringify(key)).digest("hex");
  } catch {
    return undefined;
  }
}

/** The cached report for `key` when every file it describes is as it was; else undefined. */
export async function cachedInspection(brenderHome: string, key: string): Promise<BlenderInspection | undefined> {
  let entry: Entry;
  try {
    const parsed = JSON.parse(await readFile(join(inspectionCacheDir(brenderHome), `${key}.json`), "utf8")) as Entry;
    if (parsed.version !== 1) return undefined;
    entry = { version: 1, report: blenderInspectionSchema.parse(parsed.report), fingerprint: parsed.fingerprint };
  } catch {
    return undefined; // missing or damaged: only a cache
  }
  const now = await fingerprint(describedPaths(entry.report), Date.now());
  if (now === undefined || !sameFingerprint(now, entry.fingerprint)) return undefined;
  return entry.report;
}

/** Stores `report` under `key`, unless a file it describes changed too recently to be fingerprinted safely. */
export async function storeInspection(brenderHome: string, key: string, report: BlenderInspection, inspectionStartedMs: number): Promise<void> {
  const prints = await fingerprint(describedPaths(report), inspectionStartedMs);
  if (prints === undefined) return;
  const folder = inspectionCacheDir(brenderHome);
  try {
    await mkdir(folder, { recursive: true });
    const target = join(folder, `${key}.json`);
    const temp = `${target}.${randomBytes(4).toString("hex")}.tmp`;
    await writeFile(temp, JSON.stringify({ version: 1, report, fingerprint: prints } satisfies Entry));
    await rename(temp, target);
    await trim(folder);
  } catch {
    // Not being able to cache only makes the next render inspect again.
  }
}

/** Every path the report's contents depend on: described files and the folders they were found in (adding a tile changes the folder). */
function describedPaths(report: BlenderInspection): string[] {
  const paths = new Set<string>();
  for (const file of report.externalFiles) if (!file.packed) paths.add(file.absolutePath);
  for (const dependency of report.dependencies ?? []) {
    if (dependency.packed) continue;
    paths.add(dependency.resolved.includes("<UDIM>") ? dirname(dependency.resolved) : dependency.resolved);
    for (const file of [...dependency.files, ...dependency.missing]) {
      paths.add(file);
      paths.add(dirname(file));
    }
    if (dependency.library) paths.add(dependency.library);
  }
  return [...paths].sort();
}

/** Each path's identity now; undefined when one changed after `since - RACY_MS` (too recent to trust). */
async function fingerprint(paths: readonly string[], since: number): Promise<Fingerprint | undefined> {
  const prints: Fingerprint = {};
  let racy = false;
  await Promise.all(
    paths.map(async (path) => {
      const info = await stat(path).catch(() => undefined);
      if (!info) {
        prints[path] = "absent";
        return;
      }
      if (info.mtimeMs > since - RACY_MS) racy = true;
      prints[path] = `${info.isDirectory() ? "d" : "f"}:${info.size}:${info.mtimeMs}:${info.ino}`;
    }),
  );
  return racy ? undefined : prints;
}

function sameFingerprint(a: Fingerprint, b: Fingerprint): boolean {
  const keys = Object.keys(a);
  return keys.length === Object.keys(b).length && keys.every((key) => a[key] === b[key]);
}

/** The Blender executable's identity: an upgraded or replaced Blender reads files anew. */
async function blenderIdentity(path: string, env: NodeJS.ProcessEnv): Promise<{ path: string; size: number; mtimeMs: number }> {
  const found = await onPath(path, env);
  const real = await realpath(found ?? path);
  const info = await stat(real);
  return { path: real, size: info.size, mtimeMs: info.mtimeMs };
}

async function trim(folder: string): Promise<void> {
  const names = (await readdir(folder)).filter((name) => name.endsWith(".json"));
  if (names.length <= MAX_ENTRIES) return;
  const aged = await Promise.all(names.map(async (name) => ({ name, mtimeMs: (await stat(join(folder, name)).catch(() => undefined))?.mtimeMs ?? 0 })));
  aged.sort((a, b) => a.mtimeMs - b.mtimeMs);
  await Promise.all(aged.slice(0, aged.length - MAX_ENTRIES).map(({ name }) => rm(join(folder, name), { force: true })));
}
