import type { Command } from "commander";
import { runCommand } from "../run-command.ts";

/** `brender addon --out DIR`: the Blender add-on as an installable zip. */
export function registerAddon(program: Command): void {
  program
    .command("addon")
    .description("write the Blender add-on (submit renders from inside Blender) as an installable zip")
    .requiredOption("--out <dir>", "folder to write brender_submit-VERSION.zip into")
    .action((options: { out: string }) =>
      runCommand(async () => {
        const { writeAddonZip } = await import("../../addon/package.ts");
        const { file } = await writeAddonZip(options.out);
        process.stdout.write(`${file}\nInstall it in Blender: Edit > Preferences > Add-ons > Install (4.2+: Get Extensions > Install from Disk), then enable "Brender Farm".\n`);
      }),
    );
}
