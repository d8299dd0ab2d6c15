/**
 * Talking to the Brender API from the browser. A server bound beyond loopback
 * needs a token: open the UI once with ?token=T and it is kept for the tab,
 * sent as a Bearer header on fetches and as ?token= on URLs the browser loads
 * by itself (images, video, downloads, EventSource), which cannot set headers.
 */
import { parseFrameSet, type FrameSet } from "../../src/domain/frames.ts";

import type { Upload } from "./types.ts";

export type * from "./types.ts";

const TOKEN_KEY = "brender-token";

function readToken(): string | undefined {
  const fromUrl = new URLSearchParams(location.search).get("token");
  if (fromUrl) {
    sessionStorage.setItem(TOKEN_KEY, fromUrl);
    return fromUrl;
  }
  return sessionStorage.getItem(TOKEN_KEY) ?? undefined;
}

const token = readToken();

/** A URL the browser loads directly, with the token when there is one. */
export function withToken(url: string): string {
  if (!token) return url;
  return `${url}${url.includes("?") ? "&" : "?"}token=${encodeURIComponent(token)}`;
}

/** fetch against the API; a non-2xx answer throws its one-line `error`. */
export async function api<T>(path: string, init: RequestInit = {}): Promise<T> {
  const headers = new Headers(init.headers);
  if (token) headers.set("authorization", `Bearer ${token}`);
  const response = await fetch(path, { ...init, headers });
  const text = await response.text();
  if (!response.ok) {
    let message = `${response.status} ${response.statusText}`;
    try {
      message = (JSON.parse(text) as { error?: string }).error ?? message;
    } catch {
      // not JSON: keep the status line
    }
    throw new Error(message);
  }
  const type = response.headers.get("content-type") ?? "";
  return (type.includes("json") ? JSON.parse(text) : text) as T;
}

/**
 * POST /api/uploads with progress: fetch cannot report upload progress, so
 * this one call uses XMLHttpRequest. Files go as `file` parts named by their
 * path inside the project.
 */
export function uploadProject(files: readonly { file: File; path: string }[], onProgress: (sent: number, total: number) => void): Promise<Upload> {
  const body = new FormData();
  for (const { file, path } of files) body.append("file", file, path);
  return new Promise((resolve, reject) => {
    const request = new XMLHttpRequest();
    request.open("POST", "/api/uploads");
    if (token) request.setRequestHeader("authorization", `Bearer ${token}`);
    request.upload.onprogress = (event) => onProgress(event.loaded, event.total);
    request.onerror = () => reject(new Error("The upload failed: the server could not be reached; check that brender serve still runs."));
    request.onload = () => {
      let answer: unknown;
      try {
        answer = JSON.parse(request.responseText);
      } catch {
        answer = undefined;
      }
      if (request.status >= 200 && request.status < 300) resolve(answer as Upload);
      else reject(new Error((answer as { error?: string } | undefined)?.error ?? `${request.status} ${request.statusText}`));
    };
    request.send(body);
  });
}

/** Statuses after which a render changes no more (until retried). */
export function isEnded(status: string): boolean {
  return status === "SUCCEEDED" || status === "FAILED";
}

/** Every frame of a frame set like "1-10", "1-250:5" or "1-3,7", read by the domain's own parser (nothing for text it refuses). */
export function framesOf(set: string): number[] {
  let parsed: FrameSet;
  try {
    parsed = parseFrameSet(set);
  } catch {
    return [];
  }
  const frames: number[] = [];
  // A runaway set would freeze the page; the grid is for humans anyway.
  for (const { start, end, step } of parsed.ranges) {
    for (let frame = start; frame <= end && frames.length < 100_000; frame += step) frames.push(frame);
  }
  return frames;
}

/** The frame a frames/frame_0001.png output is, or undefined for other outputs. */
export function frameOfOutput(name: string): number | undefined {
  const match = /^frames\/frame_(-?\d+)\.[A-Za-z0-9]+$/.exec(name);
  return match ? Number(match[1]) : undefined;
}

/** Follows GET /api/events (optionally one render); returns the function that stops it. */
export function followEvents(onEvent: (type: string, data: Record<string, unknown>) => void, renderId?: string): () => void {
  const source = new EventSource(withToken(renderId ? `/api/events?render=${encodeURIComponent(renderId)}` : "/api/events"));
  for (const type of ["render", "progress", "frame"]) {
    source.addEventListener(type, (event) => onEvent(type, JSON.parse((event as MessageEvent<string>).data) as Record<string, unknown>));
  }
  return () => source.close();
}
