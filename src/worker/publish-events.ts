/**
 * Copies a render child's events file into the object store while it runs,
 * for monitors that cannot see the work folder (the CLI on a laptop, with the
 * work folder on EFS in the cloud). Publishing is a courtesy to watchers:
 * a store error is logged as a warning and never fails the render.
 */
import { readFile, stat } from "node:fs/promises";
import { join } from "node:path";
import { eventFileName, outputPrefix } from "../domain/layout.ts";
import type { ObjectStore } from "../storage/object-store.ts";

export const DEFAULT_PUBLISH_INTERVAL_MS = 5000;

/** Where a render child's events are published: `<project>/output/<renderId>/events/render-<child>.jsonl`. */
export function publishedEventsKey(projectName: string, renderId: string, child: number): string {
  return `${outputPrefix(projectName, renderId)}events/${eventFileName(child)}`;
}

export type EventPublisherOptions = {
  /** The events file (appended to by eventSink). */
  readonly file: string;
  readonly store: ObjectStore;
  readonly key: string;
  readonly intervalMs?: number;
  readonly warn?: (message: string) => void;
};

export type EventPublisher = {
  /** Copies the file now if it changed since the last copy. Never rejects. */
  flush(): Promise<void>;
  /** Stops the timer and makes a final copy (when changed). Never rejects. */
  stop(): Promise<void>;
};

/** Starts copying `file` to `key` every `intervalMs` (default 5 s), only when the file changed. */
export function startEventPublisher(options: EventPublisherOptions): EventPublisher {
  let published: { size: number; mtimeMs: number } | undefined;
  let running: Promise<void> | undefined;
  let stopped = false;

  const copy = async (): Promise<void> => {
    try {
      const before = await stat(options.file).catch(() => undefined);
      if (before === undefined) return; // nothing reported yet
      if (published && published.size === before.size && published.mtimeMs === before.mtimeMs) return;
      const bytes = await readFile(options.file);
      await options.store.putBytes(options.key, bytes);
      // The stat taken before reading: an append racing the read is seen as a change next time.
      published = { size: before.size, mtimeMs: before.mtimeMs };
    } catch (error) {
      options.warn?.(`Could not publish progress events to ${options.store.describe(options.key)}: ${(error as Error).message}`);
    }
  };
  // One copy at a time; a tick arriving during a slow upload is simply skipped.
  const flush = async (): Promise<void> => {
    if (running) return running;
    running = copy().finally(() => {
      running = undefined;
    });
    return running;
  };

  const timer = setInterval(() => {
    if (!running && !stopped) void flush();
  }, options.intervalMs ?? DEFAULT_PUBLISH_INTERVAL_MS);
  timer.unref();

  return {
    flush,
    async stop() {
      stopped = true;
      clearInterval(timer);
      if (running) await running;
      await flush();
    },
  };
}

/** What withPublishedEvents needs from the action's context. */
export type PublishContext = {
  readonly env: { readonly BRENDER_PUBLISH_EVENTS?: boolean };
  readonly store: ObjectStore;
  readonly log: { warn(message: string): void };
};

/**
 * Runs `work` (a render child) and, when BRENDER_PUBLISH_EVENTS is on,
 * publishes its events file while it runs and once at the end, also when it
 * fails. Without the switch it just runs `work`.
 */
export async function withPublishedEvents<T>(
  context: PublishContext,
  target: { readonly eventsFolder: string; readonly projectName: string; readonly renderId: string; readonly child: number },
  work: () => Promise<T>,
  intervalMs?: number,
): Promise<T> {
  if (!context.env.BRENDER_PUBLISH_EVENTS) return work();
  const publisher = startEventPublisher({
    file: join(target.eventsFolder, eventFileName(target.child)),
    store: context.store,
    key: publishedEventsKey(target.projectName, target.renderId, target.child),
    intervalMs,
    warn: (message) => context.log.warn(message),
  });
  try {
    return await work();
  } finally {
    await publisher.stop();
  }
}
