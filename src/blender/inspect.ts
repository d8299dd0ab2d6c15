import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { blenderInspectionSchema, type SceneInspection } from "../domain/scene-inspection.ts";
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
 * and external files, with the missing ones listed, and every file the
 * render needs (traced by Blender: see src/packing/). The file is checked
 * without Blender first, so a damaged file gets a precise error.
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
    };
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}
