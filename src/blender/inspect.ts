import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { versionFromBanner } from "../domain/blender-version.ts";
import { newerFileWarning } from "../domain/blender-release.ts";
import { fileOutputName } from "../domain/file-output-name.ts";
import { blenderInspectionSchema, type BlenderInspection, type SceneInspection } from "../domain/scene-inspection.ts";
import { JobFailedError, UserInputError } from "../errors.ts";
import { checkBlendFile } from "./blend-file.ts";
import { cachedInspection, inspectionKey, storeInspection } from "./inspection-cache.ts";
import { chooseBlender, type BlenderChoice } from "./installations.ts";
import { BPY_SCRIPTS, describeExit, runBlender, type BlenderExit } from "./runner.ts";

export type InspectOptions = {
  /** Run this Blender (skips the choice among the installed ones). */
  readonly executable?: string;
  /** The Blender version asked for (--blender); default: the nearest installed at or above the file's. */
  readonly blender?: string;
  readonly env?: NodeJS.ProcessEnv;
  readonly signal?: AbortSignal;
  /** Where paths written on another machine are found here ([from, to]: `C:\textures` → `/mnt/textures`). */
  readonly pathMaps?: readonly (readonly [string, string])[];
  /**
   * BRENDER_HOME whose inspection cache to use (see inspection-cache.ts): an
   * unchanged file read by the same Blender is not inspected again.
   */
  readonly cacheHome?: string;
};

/**
 * Describes a .blend file: the version that saved it (from the header, also
 * for compressed files), its scenes, cameras, view layers, compositor outputs
 * and external files, with the missing ones listed, the Blender that will
 * render it here (the one that reads it now), and warnings: a file saved by a
 * newer Blender than this one, File Output nodes writing outside the file's
 * folder. The file is checked without Blender first, so a damaged file gets a
 * precise error. The inspection also traces every file the render needs (see
 * src/packing/).
 */
export async function inspectBlendFile(path: string, options: InspectOptions = {}): Promise<SceneInspection> {
  const file = resolve(path);
  const { header } = await checkBlendFile(file);
  const choice: BlenderChoice = options.executable
    ? { path: options.executable, version: undefined }
    : await chooseBlender(header.version, { requested: options.blender, env: options.env });
  const pathMaps = options.pathMaps ?? [];
  const key = options.cacheHome ? await inspectionKey(options.cacheHome, { file, blender: choice, pathMaps, ...(options.env ? { env: options.env } : {}) }) : undefined;
  let report = key ? await cachedInspection(options.cacheHome!, key) : undefined;
  if (!report) {
    const started = Date.now();
    report = await runInspection(file, choice, pathMaps, options);
    if (key) await storeInspection(options.cacheHome!, key, report, started);
  }
  return {
    file,
    savedWith: header.version,
    compression: header.compression,
    ...report,
    missingFiles: report.externalFiles.filter((entry) => !entry.exists),
    renderBlender: {
      path: choice.path,
      version: choice.version ?? versionFromBanner(`Blender ${report.blenderVersion}`) ?? report.blenderVersion,
      ...(choice.warning ? { warning: choice.warning } : {}),
    },
    warnings: inspectionWarnings(header.version, report),
  };
}

/** Blender's own report on the file (inspect_scene.py), from one Blender start. */
async function runInspection(file: string, choice: BlenderChoice, pathMaps: InspectOptions["pathMaps"], options: InspectOptions): Promise<BlenderInspection> {
  const scratch = await mkdtemp(join(tmpdir(), "brender-inspect-"));
  try {
    const output = join(scratch, "inspection.json");
    const exit = await runBlender(
      ["-b", file, "--factory-startup", "-noaudio", "--python-exit-code", "1", "--python", join(BPY_SCRIPTS, "inspect_scene.py"), "--", output, JSON.stringify(pathMaps)],
      { executable: choice.path, env: options.env, signal: options.signal },
    );
    const text = await readFile(output, "utf8").catch(() => undefined);
    if (exit.exitCode !== 0 || text === undefined) throw inspectionFailure(file, choice, exit);
    return blenderInspectionSchema.parse(JSON.parse(text));
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}

/**
 * Says whose fault a failed inspection is. A Python error in our own scripts
 * is Brender's (the file is fine: another Blender may read it); a crash is
 * Blender's; only Blender's own refusal to load the file is about the file.
 */
function inspectionFailure(file: string, choice: BlenderChoice, exit: BlenderExit): Error {
  const blender = `Blender ${choice.version ?? versionFromBanner(exit.tail.join("\n")) ?? ""}`.trim() + ` (${choice.path})`;
  const ourScript = exit.tail.some((line) => /(inspect_scene|blender_compat|compositor_outputs)\.py/.test(line));
  if (ourScript) {
    const error = [...exit.tail].reverse().find((line) => /^\w*(Error|Exception)\b/.test(line.trim())) ?? describeExit(exit);
    return new JobFailedError(
      `Brender's inspection script failed on ${blender} reading ${file}: ${error.trim()}. This is a Brender bug with this Blender version, not a problem with the file: please report it, and meanwhile use another Blender (--blender VERSION; 'brender blenders' lists them).`,
    );
  }
  if (exit.signal || (exit.exitCode !== null && exit.exitCode > 128)) {
    return new JobFailedError(`${blender} crashed while reading ${file} (${describeExit(exit)}): try another Blender (--blender VERSION; 'brender blenders' lists them).`);
  }
  const detail = exit.tail.filter((line) => /error|cannot|failed|unable/i.test(line)).slice(-2).join(" | ");
  return new UserInputError(
    `${blender} could not open ${file}: ${describeExit(exit)}${detail ? ` (${detail})` : ""}. If the file opens in Blender, save it again there; if it was saved by a newer Blender, render with that version (--blender VERSION).`,
  );
}
/** What may go wrong rendering the file: one line each. */
function inspectionWarnings(savedWith: string, report: BlenderInspection): string[] {
  const warnings: string[] = [];
  const newer = newerFileWarning(savedWith, report.blenderVersion);
  if (newer) warnings.push(newer);
  for (const scene of report.scenes) {
    for (const node of scene.compositor.fileOutputs.filter((output) => output.escapes)) {
      warnings.push(
        `Scene "${scene.name}": File Output node ${fileOutputName(node)} writes outside the .blend's folder (${(node.writesTo ?? [node.basePath]).join(", ")}); ` +
          "the farm writes its images under the render's compositor/ outputs instead.",
      );
    }
  }
  return warnings;
}

