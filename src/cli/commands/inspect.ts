import type { Command } from "commander";
import { fileOutputName } from "../../domain/file-output-name.ts";
import type { SceneInspection, SceneInfo } from "../../domain/scene-inspection.ts";
import { dirname, resolve } from "node:path";
import { UserInputError } from "../../errors.ts";
import { runCommand, terminationSignal } from "../run-command.ts";

export function registerInspect(program: Command): void {
  program
    .command("inspect")
    .description("describe a .blend file: scenes, frame ranges, cameras, output settings, missing files")
    .argument("<file>", "the .blend file")
    .option("--blender <version>", "read it with this installed Blender version (default: the nearest at or above the file's, as a render)")
    .option("--json", "print JSON for machines")
    .option("--deps", "list every file the render needs (kind, path as written, where it resolves, size, inside the project?); exit 2 when one is missing")
    .option("--project-folder <dir>", "with --deps: the project folder (default: the .blend's folder)")
    .option("--allow-missing", "with --deps: exit 0 even when files are missing")
    .option("--path-map <FROM=TO>", "find paths written on another machine here (repeatable)", (value: string, previous: string[] = []) => [...previous, value])
    .action((file: string, options: InspectOptions) =>
      runCommand(async () => {
        const { inspectBlendFile } = await import("../../blender/inspect.ts");
        const pathMaps = (options.pathMap ?? []).map(parsePathMap);
        const inspection = await inspectBlendFile(file, { signal: terminationSignal(), pathMaps, ...(options.blender ? { blender: options.blender } : {}) });
        if (options.deps) return printDependencies(inspection, options);
        process.stdout.write(options.json ? `${JSON.stringify(inspection, null, 2)}\n` : formatInspection(inspection));
      }),
    );
}

type InspectOptions = { json?: boolean; blender?: string; deps?: boolean; projectFolder?: string; allowMissing?: boolean; pathMap?: string[] };

/** `inspect --deps`: the dependency list; exit 2 naming the missing ones unless --allow-missing. */
async function printDependencies(inspection: SceneInspection, options: InspectOptions): Promise<number> {
  const { describeDependencies, formatDependencies } = await import("../../packing/describe.ts");
  const { formatBytes } = await import("../render-watch.ts");
  const root = resolve(options.projectFolder ?? dirname(inspection.file));
  const rows = await describeDependencies(inspection.dependencies ?? [], root);
  const missing = rows.filter((row) => row.isMissing);
  if (options.json) {
    process.stdout.write(`${JSON.stringify({ file: inspection.file, projectFolder: root, dependencies: rows, missing: missing.length }, null, 2)}\n`);
  } else {
    process.stdout.write(formatDependencies(rows, root, formatBytes));
  }
  if (missing.length > 0 && !options.allowMissing) {
    const { describeMissing } = await import("../../domain/dependencies.ts");
    process.stderr.write(`error: ${missing.length} file(s) the .blend needs are missing: ${missing.map(describeMissing).join("; ")}. Put them back or fix the paths in Blender.\n`);
    return 2;
  }
  return 0;
}

function parsePathMap(pair: string): [string, string] {
  const at = pair.indexOf("=");
  if (at <= 0 || at === pair.length - 1) throw new UserInputError(`--path-map "${pair}" must look like FROM=TO, e.g. 'C:\\\\textures=/mnt/textures'.`);
  return [pair.slice(0, at), pair.slice(at + 1)];
}

/** The human summary of an inspection. */
export function formatInspection(inspection: SceneInspection): string {
  const lines = [
    `${inspection.file}`,
    `  saved with Blender ${inspection.savedWith}${inspection.compression === "none" ? "" : ` (${inspection.compression}-compressed)`}; read with Blender ${inspection.blenderVersion}`,
    `  renders here with Blender ${inspection.renderBlender.version} (${inspection.renderBlender.path})`,
    ...(inspection.renderBlender.warning ? [`  warning: ${inspection.renderBlender.warning}`] : []),
    `  active scene: ${inspection.activeScene}`,
    ...inspection.warnings.map((warning) => `  warning: ${warning}`),
    "",
    ...inspection.scenes.flatMap(formatScene),
  ];
  const external = inspection.externalFiles;
  lines.push(`External files: ${external.length} (${inspection.missingFiles.length} missing)`);
  for (const entry of inspection.missingFiles) {
    lines.push(`  MISSING ${entry.type} "${entry.name}": ${entry.path} -> ${entry.absolutePath}`);
  }
  const traced = inspection.dependencies ?? [];
  if (traced.length > 0) {
    const files = traced.reduce((sum, dependency) => sum + dependency.files.length, 0);
    lines.push(`Files the render needs: ${traced.length} paths, ${files} files (brender inspect --deps lists them)`);
  }
  return `${lines.join("\n")}\n`;
}

function formatScene(scene: SceneInfo): string[] {
  const { resolution: res, output } = scene;
  const step = scene.frameStep === 1 ? "" : `:${scene.frameStep}`;
  const width = Math.round((res.x * res.percentage) / 100);
  const height = Math.round((res.y * res.percentage) / 100);
  const lines = [
    `Scene "${scene.name}"`,
    `  frames ${scene.frameStart}-${scene.frameEnd}${step} at ${scene.fps} fps (current ${scene.frameCurrent})`,
    `  engine ${scene.engine}${scene.cycles && scene.engine === "CYCLES" ? `, ${scene.cycles.samples} samples${scene.cycles.denoising ? `, denoising (${scene.cycles.denoiser})` : ""}` : ""}`,
    `  resolution ${res.x}x${res.y} at ${res.percentage}% = ${width}x${height}`,
    `  output ${output.format} ${output.colorMode}${output.colorDepth ? ` ${output.colorDepth}-bit` : ""}`,
    `  camera ${scene.camera ?? "(none)"}; cameras: ${scene.cameras.join(", ") || "(none)"}`,
    `  view layers: ${scene.viewLayers.map((layer) => `${layer.name}${layer.use ? "" : " (off)"}`).join(", ")}`,
  ];
  if (scene.compositor.fileOutputs.length) {
    lines.push("  compositor File Output nodes:");
    for (const node of scene.compositor.fileOutputs) {
      const escapes = node.escapes ? "  WRITES OUTSIDE the .blend's folder" : "";
      lines.push(`    ${fileOutputName(node)} -> ${(node.writesTo ?? [node.basePath]).join(", ")}${escapes}`);
    }
  }
  lines.push("");
  return lines;
}
