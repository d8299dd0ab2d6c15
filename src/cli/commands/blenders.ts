import type { Command } from "commander";
import { runCommand } from "../run-command.ts";

/** `brender blenders`: the Blenders on this machine, and `add PATH` to register one. */
export function registerBlenders(program: Command): void {
  const load = async () => import("../../blender/installations.ts");
  const blenders = program
    .command("blenders")
    .description("list the Blenders found on this machine (BLENDER_EXECUTABLE, registered, PATH, usual install places) with their versions")
    .option("--json", "print JSON")
    .action((options: { json?: boolean }) =>
      runCommand(async () => {
        const { findBlenders, registryPath } = await load();
        const found = await findBlenders();
        if (options.json) {
          process.stdout.write(`${JSON.stringify(found, null, 2)}\n`);
          return;
        }
        if (found.length === 0) {
          process.stdout.write(`No Blender found. Install it (Debian: apt-get install blender), set BLENDER_EXECUTABLE, or 'brender blenders add PATH' (registry: ${registryPath()}).\n`);
          return;
        }
        const width = Math.max(...found.map((blender) => (blender.version ?? "?").length));
        for (const blender of found) {
          const state = blender.problem ? `  (unusable: ${blender.problem})` : "";
          process.stdout.write(`${(blender.version ?? "?").padEnd(width)}  ${blender.path}  [${blender.sources.join(", ")}]${state}\n`);
        }
        process.stdout.write("A render uses the nearest version at or above the one that saved the file; --blender VERSION picks one.\n");
      }),
    );
  blenders
    .command("add")
    .description("remember a Blender executable (checked with --version) so renders can use it")
    .argument("<path>", "the Blender executable, e.g. /opt/blender-4.5/blender")
    .action((path: string) =>
      runCommand(async () => {
        const { addBlender, registryPath } = await load();
        const added = await addBlender(path);
        process.stdout.write(`Added Blender ${added.version} (${added.path}) to ${registryPath()}\n`);
      }),
    );
}
