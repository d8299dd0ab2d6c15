import { brenderHome } from "../config.ts";
import { DiskFullError, diskFullFolder, isDiskFull } from "../disk-full.ts";
import { BrenderError } from "../errors.ts";
import { explainNetworkFailure } from "./network-error.ts";

/**
 * Runs one command's body and turns its outcome into an exit code: a
 * BrenderError prints its one-line message (exit 1 or 2); a service that
 * cannot be reached is said in one line (exit 1); anything else is a bug and
 * prints the stack (exit 1).
 */
export async function runCommand(body: () => Promise<number | void>): Promise<void> {
  try {
    process.exitCode = (await body()) ?? 0;
  } catch (caught) {
    // A full disk is the user's to fix, not a bug: say so in one line, without a stack.
    const error = !(caught instanceof BrenderError) && isDiskFull(caught, brenderHome())
      ? new DiskFullError(diskFullFolder(caught, brenderHome()), { cause: caught })
      : caught;
    if (error instanceof BrenderError) {
      process.stderr.write(`brender: ${error.message}\n`);
      if (process.env.BRENDER_DEBUG) process.stderr.write(`${error.stack}\n`);
      process.exitCode = error.exitCode;
      return;
    }
    const network = explainNetworkFailure(error);
    if (network !== undefined) {
      process.stderr.write(`brender: ${network}\n`);
      if (process.env.BRENDER_DEBUG) process.stderr.write(`${error instanceof Error ? error.stack : String(error)}\n`);
      process.exitCode = 1;
      return;
    }
    process.stderr.write(`brender: unexpected error: ${error instanceof Error ? error.stack : String(error)}\n`);
    process.exitCode = 1;
  }
}

/** An AbortSignal that fires on SIGINT/SIGTERM, so running Blender processes are terminated cleanly. */
export function terminationSignal(): AbortSignal {
  const controller = new AbortController();
  const stop = (signal: NodeJS.Signals) => {
    if (controller.signal.aborted) process.exit(signal === "SIGINT" ? 130 : 143);
    controller.abort(new Error(`received ${signal}`));
  };
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);
  return controller.signal;
}
