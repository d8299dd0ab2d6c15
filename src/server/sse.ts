import type { FastifyReply } from "fastify";

/** One Server-Sent Event as written on the wire; data is JSON, on one line. */
export function formatServerEvent(event: string, data: unknown): string {
  return `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
}

export type EventStream = {
  send(event: string, data: unknown): void;
  readonly closed: boolean;
  /** Resolves when the client goes away or the server ends the stream. */
  readonly done: Promise<void>;
  close(): void;
};

/**
 * Takes over the response for a Server-Sent Events stream: headers, a comment
 * line at once (so proxies and clients see the stream open), and a heartbeat
 * comment every `heartbeatMs` so idle connections are not cut.
 */
export function openEventStream(reply: FastifyReply, heartbeatMs: number): EventStream {
  reply.hijack();
  const raw = reply.raw;
  raw.writeHead(200, {
    "content-type": "text/event-stream; charset=utf-8",
    "cache-control": "no-cache, no-transform",
    connection: "keep-alive",
    "x-accel-buffering": "no",
  });
  raw.write(": connected\n\n");
  let closed = false;
  let finish: () => void = () => undefined;
  const done = new Promise<void>((resolve) => (finish = resolve));
  const heartbeat = setInterval(() => raw.write(": heartbeat\n\n"), heartbeatMs);
  const end = () => {
    if (closed) return;
    closed = true;
    clearInterval(heartbeat);
    raw.end();
    finish();
  };
  // The response's "close" (not the request's, which fires once its body is read) means the client left.
  raw.on("close", end);
  return {
    send(event, data) {
      if (!closed) raw.write(formatServerEvent(event, data));
    },
    get closed() {
      return closed;
    },
    done,
    close: end,
  };
}
