import type { FastifyInstance } from "fastify";
import { isTerminal } from "../../domain/job-status.ts";
import type { JobView } from "../../backends/local/job-store.ts";
import { renderJobs } from "../../backends/local/farm.ts";
import { findRenderRecord, listRenderRecords, type AwsRenderRecord } from "../../backends/aws/render-record.ts";
import { frameOfFileName } from "../../domain/layout.ts";
import type { ServerContext } from "../context.ts";
import { ApiError } from "../http-errors.ts";
import { newestSubmissions, RenderTracker } from "../render-view.ts";
import { renderIdParamsSchema } from "../schemas.ts";
import { openEventStream, type EventStream } from "../sse.ts";

/** Open streams and their polling loops, so closing the server ends them before the job store closes. */
export type LiveStreams = Set<{ stream: EventStream; loop: Promise<void> }>;

/**
 * GET /api/events: Server-Sent Events for every render (local ones in full,
 * AWS ones' status changes), or for one (?render=ID, local or on AWS):
 * `render` (status changes), `progress` (frames, samples) and `frame` (a
 * frame finished).
 */
export function registerEventRoutes(app: FastifyInstance, context: ServerContext, live: LiveStreams): void {
  app.get("/api/events", async (request, reply) => {
    const only = (request.query as Record<string, unknown>).render;
    let awsRecord: AwsRenderRecord | undefined;
    if (only !== undefined) {
      const valid = typeof only === "string" && renderIdParamsSchema.safeParse({ id: only }).success;
      const local = valid && renderJobs(context.farm, only).length > 0;
      if (valid && !local) {
        const record = await findRenderRecord(context.home, only).catch(() => undefined);
        // findRenderRecord also takes an id's start; streams name renders exactly.
        if (record?.renderId === only) awsRecord = record;
      }
      if (!local && !awsRecord) throw new ApiError(404, `No render "${String(only)}"; GET /api/renders lists them.`);
    }
    const stream = openEventStream(reply, context.heartbeatMs);
    const entry = { stream, loop: Promise.resolve() };
    const report = (error: unknown) => request.log.error(error);
    const loop = awsRecord ? followAws(context, stream, awsRecord, report) : follow(context, stream, typeof only === "string" ? only : undefined, report);
    entry.loop = loop.finally(() => live.delete(entry));
    live.add(entry);
  });
}

async function follow(context: ServerContext, stream: EventStream, only: string | undefined, report: (error: unknown) => void): Promise<void> {
  const { farm } = context;
  const trackers = new Map<string, RenderTracker>();
  // Renders whose current submission has ended and been told (or had ended before the client came): not polled again until retried.
  const settled = new Map<string, string>();
  let first = true;
  const awsStatuses = only ? undefined : new AwsStatusFollower(context);
  while (!stream.closed) {
    try {
      for (const event of (await awsStatuses?.poll()) ?? []) stream.send("render", event);
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

/**
 * One AWS render's events: its detail is asked for every awsPollMs (AWS
 * itself is asked at most every 10 s, through the status cache) and what
 * changed is sent, the same events as for a local render. Polling stops once
 * the render ended; the stream stays open (heartbeats) until the client goes.
 */
async function followAws(context: ServerContext, stream: EventStream, record: AwsRenderRecord, report: (error: unknown) => void): Promise<void> {
  const { renderId } = record;
  let lastState = "";
  let lastProgress = "";
  const framesSent = new Set<number>();
  while (!stream.closed) {
    try {
      const detail = await context.aws.detail(record);
      const state = { renderId, project: detail.project, status: detail.status, ...(detail.stage ? { stage: detail.stage } : {}), ...(detail.reason ? { reason: detail.reason } : {}) };
      for (const output of detail.outputs) {
        const frame = output.name.startsWith("frames/") ? frameOfFileName(output.name.slice("frames/".length)) : undefined;
        if (frame === undefined || framesSent.has(frame)) continue;
        framesSent.add(frame);
        stream.send("frame", { renderId, frame, url: output.url });
      }
      const progress = { renderId, ...detail.progress };
      if (JSON.stringify(progress) !== lastProgress) stream.send("progress", progress);
      lastProgress = JSON.stringify(progress);
      if (JSON.stringify(state) !== lastState) stream.send("render", state);
      lastState = JSON.stringify(state);
      if (detail.status === "SUCCEEDED" || detail.status === "FAILED") break;
    } catch (error) {
      report(error);
    }
    await Promise.race([new Promise((resolve) => setTimeout(resolve, context.awsPollMs)), stream.done]);
  }
  await stream.done;
}

/**
 * For the stream of every render: AWS renders' status changes, from the
 * list's status cache every awsPollMs. Renders already ended when the client
 * came are not replayed, as for local ones; with no AWS render, AWS is never asked.
 */
class AwsStatusFollower {
  readonly #context: ServerContext;
  readonly #told = new Map<string, string>();
  #next = 0;
  #first = true;

  constructor(context: ServerContext) {
    this.#context = context;
  }

  async poll(): Promise<{ renderId: string; project: string; status: string }[]> {
    if (Date.now() < this.#next) return [];
    this.#next = Date.now() + this.#context.awsPollMs;
    const records = await listRenderRecords(this.#context.home).catch(() => []);
    const statuses = records.length > 0 ? await this.#context.aws.listStatuses(records) : new Map();
    const events = [];
    for (const record of records) {
      const status = statuses.get(record.renderId)?.status ?? "UNKNOWN";
      const ended = status === "SUCCEEDED" || status === "FAILED";
      const before = this.#told.get(record.renderId);
      this.#told.set(record.renderId, status);
      if (status === before || (before === undefined && this.#first && ended)) continue;
      events.push({ renderId: record.renderId, project: record.payload.project.name, status });
    }
    this.#first = false;
    return events;
  }
}
