import type { Command } from "commander";
import { runCommand } from "../run-command.ts";

/** Commands that look at and steer renders on the local farm. */
export function registerFarmCommands(program: Command): void {
  const load = async () => import("./farm-run.ts");
  program
    .command("jobs")
    .description("list renders on this machine, newest first")
    .option("--limit <n>", "how many", "20")
    .option("--json", "print JSON")
    .action((options) => runCommand(async () => (await load()).listRenders(options)));
  program
    .command("status")
    .description("show a render's jobs, frames and outputs")
    .argument("<id>", "render id (or its unambiguous start)")
    .option("--watch", "follow the render until it ends")
    .option("--json", "print JSON")
    .action((id: string, options) => runCommand(async () => (await load()).showStatus(id, options)));
  program
    .command("logs")
    .description("print a render's logs: every job, child and attempt")
    .argument("<id>", "render id (or its unambiguous start)")
    .option("--follow", "keep printing until the render ends")
    .action((id: string, options) => runCommand(async () => (await load()).showLogs(id, options)));
  program
    .command("cancel")
    .description("cancel a render: queued jobs are cancelled, running ones terminated (Blender is killed); the frames already rendered are still uploaded")
    .argument("<id>", "render id (or its unambiguous start)")
    .action((id: string) => runCommand(async () => (await load()).cancelRender(id)));
  program
    .command("download")
    .description("copy a render's outputs (frames, zip, thumbnail, preview, manifest) into a folder")
    .argument("<id>", "render id (or its unambiguous start)")
    .argument("<dir>", "where to put them")
    .action((id: string, dir: string) => runCommand(async () => (await load()).downloadRender(id, dir)));
  program
    .command("link")
    .description("print links that fetch a render's outputs without credentials (presigned on S3)")
    .argument("<id>", "render id (or its unambiguous start)")
    .option("--expires <duration>", "how long the links work: 5m to 7d", "1h")
    .option("--json", "print JSON")
    .action((id: string, options) => runCommand(async () => (await load()).linkRender(id, options)));
  program
    .command("runner")
    .description("run queued jobs on this machine (what `render --detach` starts in the background)")
    .option("--until-idle", "stop when no job is left")
    .action((options) => runCommand(async () => (await load()).runFarmProcess(options)));
}
