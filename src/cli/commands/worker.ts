import type { Command } from "commander";
import { JOB_ACTION_TYPES } from "../../domain/job-actions.ts";
import { runCommand, terminationSignal } from "../run-command.ts";

export function registerWorker(program: Command): void {
  program
    .command("worker")
    .description(`run one job, chosen by JOB_ACTION_TYPE (${JOB_ACTION_TYPES.join(", ")}); the container's entry point`)
    .option("--action <type>", "the job type (overrides JOB_ACTION_TYPE)")
    .option("--payload <file>", "the render job payload JSON file (overrides BRENDER_JOB_PAYLOAD_FILE)")
    .option("--after-failed-upload <jobId>", "publish and report the render whose upload job AWS Batch failed (the farm's event rule passes it)")
    .action((options: { action?: string; payload?: string; afterFailedUpload?: string }) =>
      runCommand(async () => {
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

/** How long an action has, once its runner is gone, to stop on the abort before the worker exits anyway. */
const ORPHAN_GRACE_MS = 5_000;

/**
 * The local farm's runner keeps a pipe open on our stdin and never writes to
 * it: when the runner dies (even by SIGKILL) the pipe closes, and the job
 * must stop too (the abort kills Blender, stops transfers, and keeps an upload
 * from publishing or e-mailing) rather than run on unowned while the farm
 * hands the same child to another worker. Every action gets the abort; one
 * that does not end within ORPHAN_GRACE_MS is cut short by exiting. Only with
 * BRENDER_EXIT_WITH_PARENT=1, so an interactive or container stdin (AWS Batch,
 * where no runner exists) is left alone.
 */
function parentGoneSignal(): { readonly signal: AbortSignal; release(): void } {
  const controller = new AbortController();
  const gone = () => {
    if (controller.signal.aborted) return;
    controller.abort(new Error("the process that started this worker exited (stdin closed)"));
    setTimeout(() => process.exit(1), ORPHAN_GRACE_MS).unref();
  };
  process.stdin.on("end", gone);
  process.stdin.on("close", gone);
  process.stdin.on("error", gone);
  process.stdin.resume();
  return {
    signal: controller.signal,
    // Reading stdin keeps the event loop alive; let the worker exit once its job is done.
    release: () => {
      process.stdin.off("end", gone);
      process.stdin.off("close", gone);
      process.stdin.destroy();
    },
  };
}
