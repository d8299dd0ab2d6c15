/** Starting the API in-process on a free loopback port, with its own BRENDER_HOME, and talking to it. */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { readFile } from "node:fs/promises";
import type { FastifyInstance } from "fastify";
import { buildApp, type AppOptions } from "../../src/server/app.ts";

export type TestServer = {
  readonly base: string;
  readonly home: string;
  readonly app: FastifyInstance;
  /** fetch against the server: `api("/api/renders")`. */
  api(path: string, init?: RequestInit): Promise<Response>;
};

export async function startTestServer(
  t: { after: (fn: () => Promise<void>) => void },
  options: Omit<AppOptions, "env"> & { readonly env?: NodeJS.ProcessEnv } = {},
): Promise<TestServer> {
  const home = await mkdtemp(join(tmpdir(), "brender-server-"));
  const { env, ...rest } = options;
  // `env` adds to the test process's environment.
  const app = await buildApp({ env: { ...process.env, BRENDER_HOME: home, BRENDER_STORAGE: "", ...env }, pollMs: 100, ...rest });
  await app.listen({ host: "127.0.0.1", port: 0 });
  const address = app.server.address();
  const base = `http://127.0.0.1:${typeof address === "object" && address ? address.port : 0}`;
  // One hook, in this order: the server (and its farm runner) stops before its folder goes.
  t.after(async () => {
    await app.close();
    await rm(home, { recursive: true, force: true });
  });
  return { base, home, app, api: (path, init) => fetch(base + path, init) };
}

/** A multipart body with one file and, optionally, the settings field. */
export async function renderForm(file: string, fileName: string, settings?: unknown): Promise<FormData> {
  const form = new FormData();
  if (settings !== undefined) form.append("settings", typeof settings === "string" ? settings : JSON.stringify(settings));
  form.append("file", new Blob([await readFile(file)]), fileName);
  return form;
}

export type ServerEvent = { event: string; data: Record<string, unknown> };

/**
 * Reads a Server-Sent Events stream until `done(events)` is true (then
 * closes it) or `timeoutMs` passes (then fails, showing what came).
 */
export async function collectEvents(url: string, done: (events: ServerEvent[]) => boolean, timeoutMs: number, init: RequestInit = {}): Promise<ServerEvent[]> {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), timeoutMs);
  const events: ServerEvent[] = [];
  try {
    const response = await fetch(url, { ...init, signal: controller.signal });
    if (response.status !== 200) throw new Error(`event stream answered ${response.status}: ${await response.text()}`);
    const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader();
    let buffer = "";
    for (;;) {
      const { value, done: ended } = await reader.read();
      if (ended) break;
      buffer += value;
      let end: number;
      while ((end = buffer.indexOf("\n\n")) >= 0) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        const event = /^event: (.*)$/m.exec(block)?.[1];
        const data = /^data: (.*)$/m.exec(block)?.[1];
        if (event && data) events.push({ event, data: JSON.parse(data) as Record<string, unknown> });
      }
      if (done(events)) return events;
    }
    throw new Error("event stream ended early");
  } catch (error) {
    if (controller.signal.aborted) throw new Error(`timed out waiting for events; got ${JSON.stringify(events)}`);
    throw error;
  } finally {
    clearTimeout(timer);
    controller.abort();
  }
}

/** Polls GET /api/renders/:id until its status is SUCCEEDED or FAILED. */
export async function waitForEnd(server: TestServer, renderId: string, timeoutMs = 60_000): Promise<Record<string, unknown>> {
  const deadline = Date.now() + timeoutMs;
  const seen = new Set<string>();
  for (;;) {
    const response = await server.api(`/api/renders/${renderId}`);
    const detail = (await response.json()) as Record<string, unknown>;
    seen.add(String(detail.status));
    if (detail.status === "SUCCEEDED" || detail.status === "FAILED") return { ...detail, statusesSeen: [...seen] };
    if (Date.now() > deadline) throw new Error(`render ${renderId} did not end: ${JSON.stringify(detail)}`);
    await new Promise((resolve) => setTimeout(resolve, 150));
  }
}
