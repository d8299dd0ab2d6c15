import type { Command } from "commander";
import { runCommand } from "../run-command.ts";

/** `brender serve`: the HTTP API (and later the web UI) over the local farm. */
export function registerServe(program: Command): void {
  program
    .command("serve")
    .description("serve the web UI and the HTTP API on this machine and run the local farm (no token on 127.0.0.1; any other address needs one)")
    .option("--host <host>", "address to bind", "127.0.0.1")
    .option("--port <port>", "port (0: any free port)", "4600")
    .option("--token <token>", "require this token (generated and printed when binding beyond loopback without one)")
    .action((options) => runCommand(async () => (await import("../../server/serve.ts")).runServe(options)));
}
