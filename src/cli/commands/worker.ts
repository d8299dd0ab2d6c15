import type { Command } from "commander";
import { JOB_ACTION_TYPES } from "../../domain/job-actions.ts";
import { UserInputError } from "../../errors.ts";
import { parentGoneSignal } from "../../worker/parent-gone.ts";
import { runCommand, terminationSignal } from "../run-command.ts";

export function registerWorker(program: Command): void {
  program
    .command("worker")
    .description(`run one job, chosen by JOB_ACTION_TYPE (${JOB_ACTION_TYPES.join(", ")}); the container's entry point`)
    .option("--action <type>", "the job type (overrides JOB_ACTION_TYPE)")
    .option("--payload <file>", "the render job payload JSON file (overrides BRENDER_JOB_PAYLOAD_FILE)")
    .option("--after-failed-upload <jobId>", "publish and report the render whose upload job AWS Batch failed (the farm's event rule passes it)")
    .option("--job-on-stdin", "load the render action now, then take the job from the first line on stdin (the local farm's spare workers)")
    .action((options: { action?: string; payload?: string; afterFailedUpload?: string; jobOnStdin?: boolean }) =>
      runCommand(async () => {
        if (options.jobOnStdin) {
          if (options.action || options.payload || options.afterFailedUpload) {
            throw new UserInputError("--job-on-stdin takes the whole job from stdin; drop --action, --payload and --after-failed-upload");
          }
          const { runSpareWorker } = await import("../../worker/spare.ts");
          return runSpareWorker(terminationSignal());
        }
        const env = { ...process.env };
        if (options.afterFailedUpload) env.BRENDER_AFTER_FAILED_UPLOAD = options.afterFailedUpload;
        if (options.action) env.JOB_ACTION_TYPE = options.action;
        if (options.payload) {
          env.BRENDER_JOB_PAYLOAD_FILE = options.payload;
          delete env.BRENDER_JOB_PAYLOAD;
        }
        const { runWorker } = await import("../../worker/main.ts");
        const parent = env.BRENDER_EXIT_WITH_PARENT === "1" ? parentGoneSignal() : undefined;
        try {
          const signal = parent ? AbortSignal.any([terminationSignal(), parent.signal]) : terminationSignal();
          const result = await runWorker({ env, signal });
          if (result.error) process.stderr.write(`brender worker: ${result.error}\n`);
          return result.exitCode;
        } finally {
          parent?.release();
        }
      }),
    );
}
