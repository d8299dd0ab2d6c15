import type { Command } from "commander";
import { runCommand } from "../run-command.ts";

export function registerEvents(program: Command): void {
  program
    .command("events")
    .description("follow a running `brender serve`'s event stream (GET /api/events), for scripts")
    .option("--render <id>", "only this render's events; ends when it ends (exit 0 succeeded, 1 failed)")
    .option("--json", "one JSON object per line: {\"event\": NAME, \"data\": {...}}")
    .option("--server <url>", "the server (default: BRENDER_SERVER_URL, else http://127.0.0.1:4600)")
    .option("--token <token>", "the server's token (default: BRENDER_TOKEN)")
    .action((options) => runCommand(async () => (await import("./events-run.ts")).runEvents(options)));
}
