import type { FastifyInstance } from "fastify";
import type { LiveFollower } from "../../renders/backend.ts";
import type { ServerContext } from "../context.ts";
import { ApiError } from "../http-errors.ts";
import { renderIdParamsSchema } from "../schemas.ts";
import { openEventStream, type EventStream } from "../sse.ts";

/** Open streams and their polling loops, so closing the server ends them before the job store closes. */
export type LiveStreams = Set<{ stream: EventStream; loop: Promise<void> }>;

/**
 * GET /api/events: Server-Sent Events for every render (each backend tells
 * what it follows cheaply: local renders in full, AWS ones' status changes),
 * or for one (?render=ID): `render` (status changes), `progress` (frames,
 * samples) and `frame` (a frame finished).
 */
export function registerEventRoutes(app: FastifyInstance, context: ServerContext, live: LiveStreams): void {
  app.get("/api/events", async (request, reply) => {
    const only = (request.query as Record<string, unknown>).render;
    let followers: { follower: LiveFollower; pollMs: number }[];
    if (only !== undefined) {
      const valid = typeof only === "string" && renderIdParamsSchema.safeParse({ id: only }).success;
      const found = valid ? await context.renders.find(only, { exact: true }).catch(() => undefined) : undefined;
      if (!found) throw new ApiError(404, `No render "${String(only)}"; GET /api/renders lists them.`);
      followers = [{ follower: found.backend.follow(found.renderId), pollMs: found.backend.pollMs }];
    } else {
      followers = context.renders.backends.map((backend) => ({ follower: backend.follow(), pollMs: backend.pollMs }));
    }
    const stream = openEventStream(reply, context.heartbeatMs);
    const entry = { stream, loop: Promise.resolve() };
    const report = (error: unknown) => request.log.error(error);
    entry.loop = follow(stream, followers, report).finally(() => live.delete(entry));
    live.add(entry);
  });
}

/**
 * Polls each follower at its own pace and sends what changed. A follower of
 * one render stops once it ended; the stream stays open (heartbeats) until
 * the client goes.
 */
async function follow(stream: EventStream, followers: readonly { follower: LiveFollower; pollMs: number }[], report: (error: unknown) => void): Promise<void> {
  const next = followers.map(() => 0);
  while (!stream.closed) {
    const now = Date.now();
    for (const [index, { follower, pollMs }] of followers.entries()) {
      if (stream.closed || follower.ended || now < next[index]!) continue;
      next[index] = now + pollMs;
      try {
        for (const { event, data } of await follower.poll()) stream.send(event, data);
      } catch (error) {
        report(error);
      }
    }
    const wait = Math.max(0, Math.min(...followers.map(({ follower }, index) => (follower.ended ? Number.POSITIVE_INFINITY : next[index]! - Date.now()))));
    if (!Number.isFinite(wait)) break;
    await Promise.race([new Promise((resolve) => setTimeout(resolve, wait)), stream.done]);
  }
  await stream.done;
}
