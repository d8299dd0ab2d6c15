import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { newerFileWarning } from "../domain/blender-release.ts";
import { blenderInspectionSchema, type BlenderInspection, fileOutputName, type SceneInspection } from "../domain/scene-inspection.ts";
import { UserInputError } from "../errors.ts";
import { checkBlendFile } from "./blend-file.ts";
import { BPY_SCRIPTS, describeExit, runBlender } from "./runner.ts";

export type InspectOptions = {
  readonly executable?: string;
  readonly env?: NodeJS.ProcessEnv;
  readonly signal?: AbortSignal;
  /** Where paths written on another machine are found here ([from, to]: `C:\textures` → `/mnt/textures`). */
  readonly pathMaps?: readonly (readonly [string, string])[];
};

/**
 * Describes a .blend file: the version that saved it (from the header, also
 * for compressed files), its scenes, cameras, view layers, compositor outputs
 * and external files, with the missing ones listed, and warnings: a file
 * saved by a newer Blender than this one, File Output nodes writing outside
 * the file's folder. The file is checked without Blender first, so a damaged
 * file gets a precise error. The inspection also traces every file the
 * render needs (see src/packing/).
 */
export async function inspectBlendFile(path: string, options: InspectOptions = {}): Promise<SceneInspection> {
  const file = resolve(path);
  const { header } = await checkBlendFile(file);
  const scratch = await mkdtemp(join(tmpdir(), "brender-inspect-"));
  try {
    const output = join(scratch, "inspection.json");
    const exit = await runBlender(
      ["-b", file, "--factory-startup", "-noaudio", "--python-exit-code", "1", "--python", join(BPY_SCRIPTS, "inspect_scene.py"), "--", output, JSON.stringify(options.pathMaps ?? [])],
      { executable: options.executable, env: options.env, signal: options.signal },
    );
    const text = await readFile(output, "utf8").catch(() => undefined);
    if (exit.exitCode !== 0 || text === undefined) {
      const detail = exit.tail.filter((line) => /error|cannot|failed|unable/i.test(line)).slice(-2).join(" | ");
      throw new UserInputError(`Blender could not read ${file}: ${describeExit(exit)}${detail ? ` (${detail})` : ""}. Open it in Blender and save it again.`);
    }
    const report = blenderInspectionSchema.parse(JSON.parse(text));
    return {
      file,
      savedWith: header.version,
      compression: header.compression,
      ...report,
      missingFiles: report.externalFiles.filter((entry) => !entry.exists),
      warnings: inspectionWarnings(header.version, report),
    };
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
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

