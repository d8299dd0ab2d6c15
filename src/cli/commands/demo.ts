import type { Command } from "commander";
import { runCommand } from "../run-command.ts";

export function registerDemo(program: Command): void {
  program
    .command("demo")
    .description("make the bundled demo scene and render it on this machine (like `brender render`)")
    .option("--frames <set>", "frames to render", "1-24")
    .option("--array-size <n>", "render children to split the frames across", "2")
    .option("--json", "print one JSON summary instead of progress")
    .action((options: { frames: string; arraySize: string; json?: boolean }) => runCommand(async () => (await import("./demo-run.ts")).runDemo(options)));
}

