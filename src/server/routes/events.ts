import type { FastifyInstance } from "fastify";
import { isTerminal } from "../../backends/local/job-state.ts";
import type { JobView } from "../../backends/local/job-store.ts";
import { renderJobs } from "../../backends/local/farm.ts";
import type { ServerContext } from "../context.ts";
import { ApiError } from "../http-errors.ts";
import { newestSubmissions, RenderTracker } from "../render-view.ts";
import { renderIdParamsSchema } from "../schemas.ts";
import { openEventStream, type EventStream } from "../sse.ts";

/** Open streams and their polling loops, so closing the server ends them before the job store closes. */
export type LiveStreams = Set<{ stream: EventStream; loop: Promise<void> }>;

/**
 * GET /api/events: Server-Sent Events for every render (or ?render=ID):
 * `render` (status changes), `progress` (frames, samples) and `frame` (a frame finished).
 */
export function registerEventRoutes(app: FastifyInstance, context: ServerContext, live: LiveStreams): void {
  app.get("/api/events", async (request, reply) => {
    const only = (request.query as Record<string, unknown>).render;
    if (only !== undefined) {
      const valid = typeof only === "string" && renderIdParamsSchema.safeParse({ id: only }).success;
      if (!valid || renderJobs(context.farm, only).length === 0) throw new ApiError(404, `No render "${String(only)}"; GET /api/renders lists them.`);
    }
    const stream = openEventStream(reply, context.heartbeatMs);
    const entry = { stream, loop: Promise.resolve() };
    entry.loop = follow(context, stream, typeof only === "string" ? only : undefined, (error) => request.log.error(error)).finally(() => live.delete(entry));
    live.add(entry);
  });
}

async function follow(context: ServerContext, stream: EventStream, only: string | undefined, report: (error: unknown) => void): Promise<void> {
  const { farm } = context;
  const trackers = new Map<string, RenderTracker>();
  // Renders whose current submission has ended and been told (or had ended before the client came): not polled again until retried.
  const settled = new Map<string, string>();
  let first = true;
  while (!stream.closed) {
    try {
      const groups: Map<string, JobView[]> = only ? new Map([[only, renderJobs(farm, only)]]) : newestSubmissions(farm.jobs.listJobs({ limit: 100_000 }));
      for (const [renderId, jobs] of groups) {
        if (stream.closed) break;
        const submission = jobs.find((job) => job.action === "copy_efs")?.id ?? "";
        if (settled.get(renderId) === submission) continue;
        // With every render followed, old finished ones are not replayed to a new client.
        if (!only && first && jobs.every((job) => isTerminal(job.status))) {
          settled.set(renderId, submission);
          continue;
        }
        const tracker = trackers.get(renderId) ?? new RenderTracker(renderId);
        trackers.set(renderId, tracker);
        for (const { event, data } of await tracker.poll(farm, jobs)) stream.send(event, data);
        if (tracker.ended) settled.set(renderId, submission);
      }
    } catch (error) {
      report(error);
    }
    first = false;
    await Promise.race([new Promise((resolve) => setTimeout(resolve, context.pollMs)), stream.done]);
  }
}
