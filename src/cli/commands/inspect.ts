import type { Command } from "commander";
import { fileOutputName, type SceneInspection, type SceneInfo } from "../../domain/scene-inspection.ts";
import { runCommand, terminationSignal } from "../run-command.ts";

export function registerInspect(program: Command): void {
  program
    .command("inspect")
    .description("describe a .blend file: scenes, frame ranges, cameras, output settings, missing files")
    .argument("<file>", "the .blend file")
    .option("--blender <version>", "read it with this installed Blender version (default: the nearest at or above the file's, as a render)")
    .option("--json", "print JSON for machines")
    .action((file: string, options: { json?: boolean; blender?: string }) =>
      runCommand(async () => {
        const { inspectBlendFile } = await import("../../blender/inspect.ts");
        const inspection = await inspectBlendFile(file, { signal: terminationSignal(), ...(options.blender ? { blender: options.blender } : {}) });
        process.stdout.write(options.json ? `${JSON.stringify(inspection, null, 2)}\n` : formatInspection(inspection));
      }),
    );
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
