import { UserInputError } from "../../errors.ts";

export type EventsOptions = { render?: string; json?: boolean; server?: string; token?: string };

type ServerEvent = { event: string; data: unknown };

const DEFAULT_SERVER = "http://127.0.0.1:4600";

/**
 * Follows GET /api/events and prints each event: a line of text, or with
 * --json the event as one JSON line. With --render, stops when the render
 * ends and exits as it did (0 succeeded, 1 failed); otherwise runs until the
 * server closes the stream.
 */
export async function runEvents(options: EventsOptions, env: NodeJS.ProcessEnv = process.env): Promise<number> {
  const base = (options.server ?? env.BRENDER_SERVER_URL ?? DEFAULT_SERVER).replace(/\/+$/, "");
  let url: URL;
  try {
    url = new URL(`${base}/api/events`);
  } catch {
    throw new UserInputError(`--server "${base}" is not a URL: give it like http://127.0.0.1:4600`);
  }
  if (options.render) url.searchParams.set("render", options.render);
  const token = options.token ?? env.BRENDER_TOKEN;
  let response: Response;
  try {
    response = await fetch(url, { headers: { accept: "text/event-stream", ...(token ? { authorization: `Bearer ${token}` } : {}) } });
  } catch (error) {
    const cause = (error as { cause?: { code?: string } }).cause?.code ?? (error as Error).message;
    throw new UserInputError(`No brender server answers at ${url.origin} (${cause}): start one with 'brender serve', or give --server URL`);
  }
  if (!response.ok || response.body === null) {
    const text = (await response.text().catch(() => "")).trim();
    const message = (() => {
      try {
        return (JSON.parse(text) as { error?: string }).error ?? text;
      } catch {
        return text;
      }
    })();
    throw new UserInputError(`${url.origin} answered ${response.status}${message ? `: ${message}` : ""}${response.status === 401 ? " (give --token or BRENDER_TOKEN)" : ""}`);
  }
  for await (const event of serverEvents(response.body)) {
    process.stdout.write(options.json ? `${JSON.stringify(event)}\n` : `${describe(event)}\n`);
    const ended = renderEnded(event, options.render);
    if (ended !== undefined) {
      await response.body.cancel().catch(() => {});
      return ended === "SUCCEEDED" ? 0 : 1;
    }
  }
  return 0;
}

/** The final status when `event` says the followed render ended. */
function renderEnded(event: ServerEvent, renderId: string | undefined): string | undefined {
  if (renderId === undefined || event.event !== "render") return undefined;
  const data = event.data as { renderId?: string; status?: string };
  return data.renderId === renderId && (data.status === "SUCCEEDED" || data.status === "FAILED") ? data.status : undefined;
}

function describe({ event, data }: ServerEvent): string {
  const d = data as Record<string, unknown>;
  if (event === "render") return `${d.renderId} ${d.status}${d.stage ? ` (${d.stage})` : ""}${d.reason ? ` — ${d.reason}` : ""}`;
  if (event === "progress") {
    const frames = d.frames as { done?: number; total?: number } | undefined;
    return `${d.renderId} progress${frames ? ` ${frames.done ?? 0}/${frames.total ?? "?"} frames` : ""}`;
  }
  if (event === "frame") return `${d.renderId} frame ${d.frame} done`;
  return `${event} ${JSON.stringify(data)}`;
}

/** Server-Sent Events parsed from a byte stream: `event:` and `data:` lines, blank-line separated; comments skipped. */
export async function* serverEvents(body: ReadableStream<Uint8Array>): AsyncGenerator<ServerEvent> {
  const decoder = new TextDecoder();
  let buffer = "";
  let name = "message";
  let data: string[] = [];
  for await (const chunk of body) {
    buffer += decoder.decode(chunk, { stream: true });
    let newline: number;
    while ((newline = buffer.indexOf("\n")) >= 0) {
      const line = buffer.slice(0, newline).replace(/\r$/, "");
      buffer = buffer.slice(newline + 1);
      if (line === "") {
        if (data.length > 0) yield { event: name, data: parseData(data.join("\n")) };
        name = "message";
        data = [];
      } else if (line.startsWith("event:")) name = line.slice(6).trim();
      else if (line.startsWith("data:")) data.push(line.slice(5).replace(/^ /, ""));
    }
  }
}

function parseData(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}
