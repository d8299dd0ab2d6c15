import { appendFileSync } from "node:fs";

/**
 * Phase marks for the pipeline benchmark (bench/pipeline.ts): with
 * BRENDER_TRACE_FILE set, each mark appends `{"mark":NAME,"at":EPOCH_MS}` to
 * that file, so a run's timeline accounts for the time before the jobs exist
 * (the job store and the logs tell the rest). Unset, a mark costs nothing.
 */
export function traceMark(name: string, at: number = Date.now(), env: NodeJS.ProcessEnv = process.env): void {
  const file = env.BRENDER_TRACE_FILE;
  if (!file) return;
  try {
    appendFileSync(file, `${JSON.stringify({ mark: name, at })}\n`);
  } catch {
    // A benchmark aid: never the reason a render fails.
  }
}

/** When this process started (epoch ms), for the first mark of a timeline. */
export function processStartedAt(): number {
  return Math.round(performance.timeOrigin);
}
