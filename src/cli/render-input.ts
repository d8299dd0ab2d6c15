import { open, stat } from "node:fs/promises";
import { basename, isAbsolute, join, relative, resolve, sep } from "node:path";
import type { Stats } from "node:fs";
import type { ProjectSource } from "../backends/local/farm.ts";
import { MAX_TIMEOUT_SECONDS } from "../backends/local/store/validation.ts";
import { frameCount, parseFrameSet } from "../domain/frames.ts";
import type { SceneInspection } from "../domain/scene-inspection.ts";
import { UserInputError } from "../errors.ts";
import { parseDuration } from "../renders/render-request.ts";

/**
 * Checks of `brender render`'s input that need no Blender and no farm: what
 * the user pointed at, the --python script, the job options. They all run
 * before anything is uploaded or submitted, and each names the problem in
 * the user's words and the fix.
 */

/** Archives people try to render directly; `serve` unpacks them, `render` wants the folder. */
const ARCHIVE = /\.(zip|tar|tar\.gz|tgz|tar\.bz2|tar\.xz|7z|rar)$/i;

/** The project the user pointed at: one .blend, or a folder with --blend naming the .blend inside it. */
export async function locateProject(path: string, blend: string | undefined): Promise<{ source: ProjectSource; blendPath: string; blendFile: string }> {
  const absolute = resolve(path);
  const info = await stat(absolute).catch(() => undefined);
  if (!info) throw new UserInputError(`${absolute} does not exist; give a .blend file or a project folder.`);
  if (!info.isFile() && !info.isDirectory()) {
    throw new UserInputError(`${absolute} is ${kindOf(info)}, not a .blend file or a project folder; give a file saved by Blender or the folder holding it.`);
  }
  if (info.isFile()) {
    if (await isArchive(absolute)) {
      throw new UserInputError(`${absolute} is an archive; brender render takes a .blend file or a project folder: unpack it, then 'brender render FOLDER --blend FILE.blend'.`);
    }
    if (blend) throw new UserInputError("--blend is for project folders; with a .blend file, drop it.");
    return { source: { kind: "file", path: absolute }, blendPath: absolute, blendFile: basename(absolute) };
  }
  if (!blend) throw new UserInputError(`${absolute} is a folder; say which .blend in it to render with --blend (a path inside the folder).`);
  const blendFile = insideFolder(absolute, blend, "--blend", "the .blend");
  return { source: { kind: "folder", path: absolute }, blendPath: join(absolute, ...blendFile.split("/")), blendFile };
}

/**
 * A --python script must be a file of the project folder (only the project
 * is uploaded): checked here, so a missing script is never submitted.
 */
export async function checkPythonScript(source: ProjectSource, script: string | undefined): Promise<string | undefined> {
  if (script === undefined) return undefined;
  if (source.kind === "file") {
    throw new UserInputError(
      `--python runs a script from the project folder, and a single .blend has no folder: put ${basename(script)} and ${basename(source.path)} in one folder, then 'brender render FOLDER --blend ${basename(source.path)} --python ${basename(script)}'.`,
    );
  }
  const inside = insideFolder(source.path, script, "--python", "the script");
  const info = await stat(join(source.path, ...inside.split("/"))).catch(() => undefined);
  if (!info?.isFile()) {
    throw new UserInputError(`--python "${script}" is not a file in ${source.path}; give the script's path inside the project folder.`);
  }
  return inside;
}

/** attempts undefined: the backend's default (1 here; on AWS the queue's, as spot hosts get reclaimed). */
export type JobOptions = { readonly attempts: number | undefined; readonly priority: number; readonly timeoutSeconds: number | undefined };

/** --attempts, --priority and --timeout, checked before anything is uploaded. */
export function parseJobOptions(options: { attempts?: string | undefined; priority: string; timeout?: string }): JobOptions {
  const attempts = options.attempts === undefined ? undefined : wholeNumber(options.attempts, "--attempts", 1, 10);
  const priority = Number(options.priority);
  if (!/^-?\d+$/.test(options.priority.trim()) || !Number.isSafeInteger(priority)) {
    throw new UserInputError(`--priority "${options.priority}" must be a whole number.`);
  }
  let timeoutSeconds: number | undefined;
  if (options.timeout !== undefined) {
    timeoutSeconds = parseDuration(options.timeout, "--timeout");
    if (timeoutSeconds < 1 || timeoutSeconds > MAX_TIMEOUT_SECONDS) {
      throw new UserInputError(`--timeout "${options.timeout}" must be from 1 second to ${MAX_TIMEOUT_SECONDS / 86_400} days, like 900, 15m or 2h; drop it for no limit.`);
    }
  }
  return { attempts, priority, timeoutSeconds };
}

/** How far past the scene a --frames range may reach before it is probably a typo. */
const FAR_BEYOND_FACTOR = 10;

/** Warnings about the file and the chosen frames, shown before the render starts (and kept in the JSON summary). */
export function inputWarnings(inspection: SceneInspection, frames: string | undefined, sceneName: string | undefined): string[] {
  const warnings: string[] = [];
  if (inspection.missingFiles.length) {
    warnings.push(`${inspection.missingFiles.length} external file(s) are missing and will render pink or empty: ${inspection.missingFiles.map((file) => file.path).join(", ")}`);
  }
  const scene = inspection.scenes.find((candidate) => candidate.name === (sceneName ?? inspection.activeScene));
  if (frames !== undefined && scene) {
    const set = parseFrameSet(frames);
    const sceneFrames = scene.frameEnd - scene.frameStart + 1;
    const last = Math.max(...set.ranges.map((range) => range.end));
    const count = frameCount(set);
    if (last > scene.frameEnd && count > FAR_BEYOND_FACTOR * sceneFrames) {
      warnings.push(`--frames ${frames} asks for ${count} frames, far beyond scene "${scene.name}"'s ${scene.frameStart}-${scene.frameEnd} (${sceneFrames} frames); is that a typo?`);
    }
  }
  return warnings;
}

/** `path` as a POSIX path inside `folder`; absolute paths inside the folder are accepted and made relative. */
function insideFolder(folder: string, path: string, option: string, what: string): string {
  const native = path.split("\\").join("/");
  if (isAbsolute(native)) {
    const within = relative(folder, native);
    if (within && !within.startsWith("..") && !isAbsolute(within)) return within.split(sep).join("/");
    throw new UserInputError(`${option} ${path} is not inside ${folder}; give the path of ${what} inside the project folder (e.g. ${option} ${basename(native)}).`);
  }
  const clean = native.replace(/^(\.\/)+/, "");
  if (clean.split("/").includes("..")) {
    throw new UserInputError(`${option} "${path}" climbs out of ${folder} with ".."; give the path of ${what} inside the project folder.`);
  }
  return clean;
}

async function isArchive(path: string): Promise<boolean> {
  if (ARCHIVE.test(path)) return true;
  const file = await open(path, "r").catch(() => undefined);
  if (!file) return false;
  try {
    const head = Buffer.alloc(4);
    await file.read(head, 0, 4, 0);
    return head.toString("latin1") === "PK\x03\x04";
  } finally {
    await file.close();
  }
}

function kindOf(info: Stats): string {
  if (info.isCharacterDevice()) return "a character device";
  if (info.isBlockDevice()) return "a block device";
  if (info.isFIFO()) return "a pipe";
  if (info.isSocket()) return "a socket";
  return "not a regular file";
}

function wholeNumber(text: string, option: string, min: number, max: number): number {
  const value = Number(text);
  if (!/^\d+$/.test(text) || value < min || value > max) throw new UserInputError(`${option} "${text}" must be a whole number from ${min} to ${max}.`);
  return value;
}
