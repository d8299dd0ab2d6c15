import { isTerminal } from "../backends/local/job-state.ts";
import type { AttemptView, ChildView, JobView } from "../backends/local/job-store.ts";
import { renderJobs, submitPlanFor, type LocalFarm } from "../backends/local/farm.ts";
import type { RenderJobPayload } from "../domain/render-payload.ts";
import { UserInputError } from "../errors.ts";
import { submittedPayload } from "./render-wait.ts";

/**
 * Steering a local render, shared by the CLI (`jobs`, `cancel`, `retry`,
 * `logs`) and the HTTP API, so both behave the same.
 */

/** The render is in a state that forbids the action (retry while running, cancel once ended). Exit 2 in the CLI, 409 over HTTP. */
export class RenderConflictError extends UserInputError {}

/** One row of the render list, as `brender jobs --json` prints it. */
export type RenderListRow = {
  readonly renderId: string;
  readonly backend: string;
  readonly project: string;
  readonly submittedAt: string;
  readonly status: string;
};

/** Local renders (newest submission time per render), unsorted. */
export function listLocalRenders(farm: LocalFarm): RenderListRow[] {
  const newest = new Map<string, { project: string; createdAt: number }>();
  for (const job of farm.jobs.listJobs({ limit: 100_000 })) {
    if (!job.renderId) continue;
    const entry = newest.get(job.renderId);
    newest.set(job.renderId, { project: job.tags.project ?? "", createdAt: Math.max(entry?.createdAt ?? 0, job.createdAt) });
  }
  return [...newest.entries()].map(([renderId, entry]) => ({
    renderId,
    backend: "local",
    project: entry.project,
    submittedAt: new Date(entry.createdAt).toISOString(),
    status: localRenderStatus(renderJobs(farm, renderId)),
  }));
}

/** A render's status from its jobs: the first unfinished job's status, else SUCCEEDED or FAILED. */
export function localRenderStatus(jobs: readonly JobView[]): string {
  const running = jobs.find((job) => !isTerminal(job.status));
  if (running) return running.status;
  return jobs.every((job) => job.status === "SUCCEEDED") ? "SUCCEEDED" : "FAILED";
}

/**
 * Cancels queued jobs and terminates running ones. The upload job is left to
 * run: it publishes the frames rendered so far and reports the cancellation.
 */
export function cancelLocalRender(farm: LocalFarm, renderId: string): { cancelled: number; terminating: number } {
  let cancelled = 0;
  let terminating = 0;
  // Later jobs first, so each says it was cancelled rather than that its dependency failed.
  for (const job of renderJobs(farm, renderId).reverse()) {
    if (isTerminal(job.status) || job.action === "upload_render_output") continue;
    const result = farm.jobs.terminate(job.id, "Cancelled by user");
    cancelled += result.cancelled;
    terminating += result.terminating;
  }
  if (cancelled + terminating === 0) {
    throw new RenderConflictError(`Render ${renderId} has no job left to cancel (it has ended, or only its upload is left).`);
  }
  return { cancelled, terminating };
}

/** Submits an ended render's plan again with its settings; frames already uploaded are kept. Returns its payload. */
export function retryLocalRender(farm: LocalFarm, renderId: string): RenderJobPayload {
  const jobs = renderJobs(farm, renderId);
  if (jobs.some((job) => !isTerminal(job.status))) {
    throw new RenderConflictError(`Render ${renderId} is still running; wait for it, or 'brender cancel ${renderId}' first.`);
  }
  const payload = submittedPayload(farm, renderId);
  const copy = jobs.find((job) => job.action === "copy_efs")!;
  const render = jobs.find((job) => job.action === "render" || job.action === "custom_render_python");
  const blenderExecutable = render?.environment.BLENDER_EXECUTABLE;
  submitPlanFor(farm, payload, copy.environment.BUCKET_KEY!, {
    attempts: render?.attempts, timeoutSeconds: render?.timeoutSeconds, priority: copy.priority, ...(blenderExecutable ? { blenderExecutable } : {}),
  });
  return payload;
}

/** One attempt's log of a render: where it is, a heading for people, and the job, child and attempt it belongs to. */
export type RenderLogFile = { readonly heading: string; readonly logFile: string; readonly job: JobView; readonly child: ChildView; readonly attempt: AttemptView };

/** Every attempt's log file of a render's newest submission, in plan order (jobs, children, attempts ascending). */
export function renderLogFiles(farm: LocalFarm, renderId: string): RenderLogFile[] {
  const files: RenderLogFile[] = [];
  for (const job of renderJobs(farm, renderId)) {
    for (const child of farm.jobs.listChildren(job.id, { limit: 10_000 })) {
      for (const attempt of farm.jobs.listAttempts(job.id, child.index)) {
        if (!attempt.logFile) continue;
        const heading = `==> ${job.action}${job.arraySize > 1 ? ` child ${child.index}` : ""}, attempt ${attempt.attempt} (${attempt.logFile}) <==`;
        files.push({ heading, logFile: attempt.logFile, job, child, attempt });
      }
    }
  }
  return files;
}
