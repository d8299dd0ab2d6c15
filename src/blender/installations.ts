/**
 * The Blenders installed on this machine, and which one renders a file.
 *
 * Found in this order (the earlier wins a tie between equal versions):
 * BLENDER_EXECUTABLE, the registry ($BRENDER_HOME/blenders.json, written by
 * `brender blenders add`), `blender` on PATH, and the usual install places of
 * Linux, macOS and Windows. Versions come from `blender --version`, cached in
 * $BRENDER_HOME/cache/blender-versions.json by path, size and modification time.
 */
import { execFile } from "node:child_process";
import { constants, existsSync } from "node:fs";
import { access, mkdir, readdir, readFile, realpath, rename, stat, writeFile } from "node:fs/promises";
import { homedir } from "node:os";
import { delimiter, dirname, isAbsolute, join, resolve } from "node:path";
import { z } from "zod";
import { brenderHome } from "../config.ts";
import { pickBlender, releaseOf, versionFromBanner } from "../domain/blender-version.ts";
import { UserInputError } from "../errors.ts";

export type BlenderSource = "BLENDER_EXECUTABLE" | "registry" | "PATH" | "install place";

export type InstalledBlender = {
  /** The path as found (a wrapper script or a symlink stays as it is: that is what runs). */
  readonly path: string;
  /** "4.3.2"; undefined when it did not answer `--version` like a Blender. */
  readonly version: string | undefined;
  readonly sources: readonly BlenderSource[];
  /** Why it is unusable (no version), for `brender blenders`. */
  readonly problem?: string;
};

/** The Blender a render will use. */
export type BlenderChoice = {
  readonly path: string;
  /** Undefined only when a single Blender was found and not probed (its inspection says its version). */
  readonly version: string | undefined;
  readonly warning?: string;
};

const registrySchema = z.object({ blenders: z.array(z.string()) });
const versionCacheSchema = z.record(z.string(), z.object({ size: z.number(), mtimeMs: z.number(), version: z.string().nullable() }));
type VersionCache = z.infer<typeof versionCacheSchema>;

const PROBE_TIMEOUT_MS = 60_000;

export function registryPath(env: NodeJS.ProcessEnv = process.env): string {
  return join(brenderHome(env), "blenders.json");
}

function versionCachePath(env: NodeJS.ProcessEnv): string {
  return join(brenderHome(env), "cache", "blender-versions.json");
}

/** Every Blender found, usable ones first (newest first), each once. */
export async function findBlenders(env: NodeJS.ProcessEnv = process.env): Promise<InstalledBlender[]> {
  const candidates = await candidatePaths(env);
  const cache = await readVersionCache(env);
  const found = await Promise.all(candidates.map(async ({ path, sources }) => ({ path, sources, ...(await probe(path, cache, env)) })));
  await writeVersionCache(env, cache);
  return found;
}

/**
 * The Blender to render (and inspect) a file saved with `fileVersion`:
 * `requested` (--blender) when given, else the nearest installed release at
 * or above the file's, else the newest installed one with a warning. With
 * one Blender found and nothing requested, that one, without asking its version.
 */
export async function chooseBlender(fileVersion: string, options: { requested?: string; env?: NodeJS.ProcessEnv } = {}): Promise<BlenderChoice> {
  const env = options.env ?? process.env;
  const candidates = await candidatePaths(env);
  if (candidates.length === 0) {
    throw new UserInputError(
      "No Blender found (BLENDER_EXECUTABLE, PATH, 'brender blenders add', usual install places): install it (Debian: apt-get install blender) or set BLENDER_EXECUTABLE to its path.",
    );
  }
  if (candidates.length === 1 && options.requested === undefined) return { path: candidates[0]!.path, version: undefined };

  const found = await findBlenders(env);
  const usable = found.filter((blender): blender is InstalledBlender & { version: string } => blender.version !== undefined);
  const list = usable.map((blender) => blender.version).join(", ") || "none that answers --version";
  const pick = pickBlender(fileVersion, usable, options.requested);
  if (pick.kind === "none") {
    throw new UserInputError(`No working Blender found (tried ${candidates.map((candidate) => candidate.path).join(", ")}): 'brender blenders' says why; install Blender or set BLENDER_EXECUTABLE.`);
  }
  if (pick.kind === "missing") {
    throw new UserInputError(`Blender ${options.requested} is not installed here (found ${list}): pick one of those with --blender, or add one with 'brender blenders add PATH'.`);
  }
  const { path, version } = pick.chosen;
  // "requested": asked for by name, the render itself warns when that Blender is older than the file.
  const ownWarning =
    pick.kind === "older"
      ? `No Blender at or above ${fileVersion} is installed here (found ${list}), so the newest, ${version}, renders it: install Blender ${fileVersion} or newer and 'brender blenders add' it.`
      : pick.kind === "newer"
        ? `The file was saved with Blender ${fileVersion}; rendering with ${version} (${path}), the nearest installed version above it.`
        : undefined;
  const warning = [configuredButUnusable(found), ownWarning].filter((text): text is string => text !== undefined).join(" ");
  return { path, version, ...(warning ? { warning } : {}) };
}

/**
 * A BLENDER_EXECUTABLE that does not answer `--version` is passed over for a
 * working Blender; the user set it on purpose, so they hear why it was not used.
 */
function configuredButUnusable(found: readonly InstalledBlender[]): string | undefined {
  const configured = found.find((blender) => blender.sources.includes("BLENDER_EXECUTABLE"));
  if (!configured || configured.version !== undefined) return undefined;
  return `BLENDER_EXECUTABLE=${configured.path} ${configured.problem ?? "is not usable"}, so it was passed over: fix or unset BLENDER_EXECUTABLE ('brender blenders' lists what was found).`;
}


/**
 * The Blender a worker runs when its job names none: BLENDER_EXECUTABLE, else
 * `blender` on PATH (as an absolute path, to compare with a choice).
 */
export async function defaultBlenderPath(env: NodeJS.ProcessEnv = process.env): Promise<string | undefined> {
  const configured = env.BLENDER_EXECUTABLE?.trim();
  if (configured) return (await onPath(configured, env)) ?? resolve(configured);
  return onPath(process.platform === "win32" ? "blender.exe" : "blender", env);
}

/**
 * What a render job records as its BLENDER_EXECUTABLE: the chosen Blender when
 * it is not the one the runner would run anyway (so a retry keeps a choice
 * among several Blenders, and otherwise follows the runner's own).
 */
export async function jobBlender(chosen: string, env: NodeJS.ProcessEnv = process.env): Promise<string | undefined> {
  return chosen === (await defaultBlenderPath(env)) ? undefined : chosen;
}

/** `brender blenders add PATH`: checks that PATH is a Blender, then remembers it. Returns what was added. */
export async function addBlender(path: string, env: NodeJS.ProcessEnv = process.env): Promise<InstalledBlender> {
  const absolute = resolve(path);
  if (!(await isExecutableFile(absolute))) {
    throw new UserInputError(`${absolute} is not an executable file: give the path of a Blender executable (e.g. /opt/blender-4.5/blender).`);
  }
  const version = await blenderVersionOf(absolute, env);
  if (version === undefined) {
    throw new UserInputError(`${absolute} did not answer --version like Blender does: give the path of a Blender executable.`);
  }
  const registry = await readRegistry(env);
  if (!registry.includes(absolute)) {
    const file = registryPath(env);
    await mkdir(dirname(file), { recursive: true });
    await writeFile(`${file}.tmp`, `${JSON.stringify({ blenders: [...registry, absolute] }, null, 2)}\n`);
    await rename(`${file}.tmp`, file);
  }
  return { path: absolute, version, sources: ["registry"] };
}

/**
 * Runs `PATH --version` with `env` (the environment the render will run
 * Blender with, e.g. the server's, not necessarily this process's); the
 * version it prints, or undefined.
 */
export function blenderVersionOf(path: string, env: NodeJS.ProcessEnv = process.env): Promise<string | undefined> {
  return new Promise((done) => {
    execFile(path, ["--version"], { env, timeout: PROBE_TIMEOUT_MS, maxBuffer: 1 << 20 }, (_error, stdout) => done(versionFromBanner(String(stdout ?? ""))));
  });
}

/** A short "Blender 4.3.2 (/usr/bin/blender)" for messages and listings. */
export function describeChoice(choice: BlenderChoice, inspectedVersion?: string): string {
  const version = choice.version ?? inspectedVersion;
  return `Blender ${version ?? "(version unknown)"} (${choice.path})`;
}

/** The release ("4.3") a choice runs, or undefined when unknown. */
export function choiceRelease(choice: BlenderChoice): string | undefined {
  return choice.version ? releaseOf(choice.version) : undefined;
}

// ---------------------------------------------------------------------------

type Candidate = { path: string; sources: BlenderSource[] };

async function candidatePaths(env: NodeJS.ProcessEnv): Promise<Candidate[]> {
  const listed: Array<[string, BlenderSource]> = [];
  const configured = env.BLENDER_EXECUTABLE?.trim();
  if (configured) listed.push([(await onPath(configured, env)) ?? resolve(configured), "BLENDER_EXECUTABLE"]);
  for (const path of await readRegistry(env)) listed.push([path, "registry"]);
  const fromPath = await onPath(process.platform === "win32" ? "blender.exe" : "blender", env);
  if (fromPath) listed.push([fromPath, "PATH"]);
  for (const path of await installPlaces(env)) listed.push([path, "install place"]);

  const byIdentity = new Map<string, Candidate>();
  for (const [path, source] of listed) {
    if (!(await isExecutableFile(path))) {
      // A configured or registered Blender that is gone is still listed, so `brender blenders` can say so.
      if (source === "BLENDER_EXECUTABLE" || source === "registry") byIdentity.set(`missing:${path}`, { path, sources: [source] });
      continue;
    }
    // A symlink and its target are one Blender, but a wrapper script is its own (it may run another Blender).
    const identity = await realpath(path).catch(() => path);
    const known = byIdentity.get(identity);
    if (known) {
      if (!known.sources.includes(source)) known.sources.push(source);
    } else {
      byIdentity.set(identity, { path, sources: [source] });
    }
  }
  return [...byIdentity.values()];
}

/** The usual places Blender is installed, for this platform; only the ones that exist. */
async function installPlaces(env: NodeJS.ProcessEnv): Promise<string[]> {
  const home = env.HOME?.trim() || homedir();
  const places: string[] = [];
  const inFolders = async (parent: string, pattern: RegExp, executable: string) => {
    const names = await readdir(parent).catch(() => [] as string[]);
    for (const name of names.filter((entry) => pattern.test(entry)).sort()) places.push(join(parent, name, executable));
  };
  if (process.platform === "darwin") {
    for (const apps of ["/Applications", join(home, "Applications")]) await inFolders(apps, /^Blender.*\.app$/, "Contents/MacOS/Blender");
  } else if (process.platform === "win32") {
    for (const root of [env.ProgramFiles, env["ProgramFiles(x86)"]].filter((dir): dir is string => Boolean(dir))) {
      await inFolders(join(root, "Blender Foundation"), /^Blender/, "blender.exe");
    }
    if (env.ProgramFiles) places.push(join(env.ProgramFiles, "Steam", "steamapps", "common", "Blender", "blender.exe"));
  } else {
    places.push("/usr/bin/blender", "/usr/local/bin/blender", "/snap/bin/blender", "/var/lib/flatpak/exports/bin/org.blender.Blender");
    for (const parent of ["/opt", "/usr/local", home, join(home, "Applications"), join(home, ".local", "opt")]) {
      await inFolders(parent, /^blender/i, "blender");
    }
  }
  return places.filter((path) => existsSync(path));
}

/** Where a bare command name is found on env's PATH; undefined for paths and names not found. */
export async function onPath(command: string, env: NodeJS.ProcessEnv): Promise<string | undefined> {
  if (isAbsolute(command) || command.includes("/")) return undefined;
  for (const dir of (env.PATH ?? "").split(delimiter).filter(Boolean)) {
    const path = join(dir, command);
    if (await isExecutableFile(path)) return path;
  }
  return undefined;
}

async function isExecutableFile(path: string): Promise<boolean> {
  try {
    if (!(await stat(path)).isFile()) return false;
    await access(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

async function readRegistry(env: NodeJS.ProcessEnv): Promise<string[]> {
  const text = await readFile(registryPath(env), "utf8").catch(() => undefined);
  if (text === undefined) return [];
  const parsed = registrySchema.safeParse(JSON.parse(text));
  if (!parsed.success) throw new UserInputError(`${registryPath(env)} is not a Blender registry ({"blenders": [paths]}): fix or delete it.`);
  return parsed.data.blenders;
}

async function probe(path: string, cache: VersionCache, env: NodeJS.ProcessEnv): Promise<{ version: string | undefined; problem?: string }> {
  const info = await stat(path).catch(() => undefined);
  if (!info) return { version: undefined, problem: "not found" };
  const cached = cache[path];
  let version: string | undefined;
  if (cached && cached.size === info.size && cached.mtimeMs === info.mtimeMs) {
    version = cached.version ?? undefined;
  } else {
    version = await blenderVersionOf(path, env);
    cache[path] = { size: info.size, mtimeMs: info.mtimeMs, version: version ?? null };
  }
  return version ? { version } : { version: undefined, problem: "does not answer --version like Blender" };
}

async function readVersionCache(env: NodeJS.ProcessEnv): Promise<VersionCache> {
  const text = await readFile(versionCachePath(env), "utf8").catch(() => undefined);
  if (text === undefined) return {};
  try {
    return versionCacheSchema.parse(JSON.parse(text));
  } catch {
    return {}; // a damaged cache is only a cache
  }
}

async function writeVersionCache(env: NodeJS.ProcessEnv, cache: VersionCache): Promise<void> {
  const file = versionCachePath(env);
  try {
    await mkdir(dirname(file), { recursive: true });
    const temp = `${file}.${process.pid}.tmp`;
    await writeFile(temp, JSON.stringify(cache));
    await rename(temp, file);
  } catch {
    // Not being able to cache only makes the next look-up slower.
  }
}
