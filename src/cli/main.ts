import { Command, CommanderError } from "commander";
import { readFileSync } from "node:fs";
import { registerBlenders } from "./commands/blenders.ts";
import { registerAddon } from "./commands/addon.ts";
import { registerDemo } from "./commands/demo.ts";
import { registerEvents } from "./commands/events.ts";
import { registerEstimate } from "./commands/estimate.ts";
import { registerFarmCommands } from "./commands/farm.ts";
import { registerAwsFarmCommands } from "./commands/farm-aws.ts";
import { registerInspect } from "./commands/inspect.ts";
import { registerRender } from "./commands/render.ts";
import { registerServe } from "./commands/serve.ts";
import { registerWorker } from "./commands/worker.ts";
import { endQuietlyWhenStdoutCloses } from "./closed-stdout.ts";

const packageJson = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as { version: string };

/** Usage errors exit with 2, like every other kind of bad input. */
const USAGE_EXIT_CODE = 2;

export function buildProgram(): Command {
  const program = new Command("brender")
    .description("Render Blender scenes on this machine or on AWS Batch, with one job model.")
    .version(packageJson.version, "-V, --version")
    .showHelpAfterError("(run 'brender help' for the commands)")
    .exitOverride();
  registerRender(program);
  registerFarmCommands(program);
  registerAwsFarmCommands(program);
  registerDemo(program);
  registerInspect(program);
  registerEstimate(program);
  registerBlenders(program);
  registerWorker(program);
  registerServe(program);
  registerEvents(program);
  registerAddon(program);
  return program;
}

async function main(argv: string[]): Promise<void> {
  try {
    await buildProgram().parseAsync(argv);
  } catch (error) {
    if (error instanceof CommanderError) {
      const ok = error.exitCode === 0 || error.code === "commander.helpDisplayed" || error.code === "commander.version";
      process.exitCode = ok ? 0 : USAGE_EXIT_CODE;
      return;
    }
    throw error;
  }
}

endQuietlyWhenStdoutCloses();
await main(process.argv);
