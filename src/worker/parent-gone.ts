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
export function parentGoneSignal(): { readonly signal: AbortSignal; release(): void } {
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
  // A spare worker read its job from stdin first: the runner may have gone before these listeners were added.
  if (process.stdin.readableEnded || process.stdin.destroyed) gone();
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
