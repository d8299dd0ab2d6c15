import type { Command } from "commander";
import { JOB_ACTION_TYPES } from "../../worker/env.ts";
import { runCommand, terminationSignal } from "../run-command.ts";

export function registerWorker(program: Command): void {
  program
    .command("worker")
    .description(`run one job, chosen by JOB_ACTION_TYPE (${JOB_ACTION_TYPES.join(", ")}); the container's entry point`)
    .option("--action <type>", "the job type (overrides JOB_ACTION_TYPE)")
    .option("--payload <file>", "the render job payload JSON file (overrides BRENDER_JOB_PAYLOAD_FILE)")
    .action((options: { action?: string; payload?: string }) =>
      runCommand(async () => {
        const env = { ...process.env };
        if (options.action) env.JOB_ACTION_TYPE = options.action;
        if (options.payload) {
          env.BRENDER_JOB_PAYLOAD_FILE = options.payload;
          delete env.BRENDER_JOB_PAYLOAD;
        }
        const { runWorker } = await import("../../worker/main.ts");
        const result = await runWorker({ env, signal: terminationSignal() });
        if (result.error) process.stderr.write(`brender worker: ${result.error}\n`);
        return result.exitCode;
      }),
    );
}
