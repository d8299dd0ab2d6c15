import { stat } from "node:fs/promises";
import { relative, sep } from "node:path";
import { RENDER_OUTPUT_TAG } from "../domain/layout.ts";
import type { ProgressEvent, ProgressEventBody } from "../domain/progress-events.ts";
import type { ObjectStore } from "../storage/object-store.ts";

/** Every output is tagged so the farm's lifecycle rule can expire old renders. */
export const OUTPUT_TAGS = { [RENDER_OUTPUT_TAG.key]: RENDER_OUTPUT_TAG.value };

export type FramePublisher = {
  /** Queues a finished frame's copy to the store; returns at once. */
  publish(file: string): void;
  /** Waits for the queued copies. Never rejects: a copy that failed is left to the upload job. */
  finish(): Promise<void>;
};

/**
 * Copies each frame into the object store while the next one renders, one
 * copy at a time, so the upload job after the render only has what is left
 * (zip, thumbnail, video, manifest). Each copy is reported as a
 * `file_published` event with the file's size and modification time; the
 * upload job skips files whose record still matches, and copies any other.
 */
export function framePublisher(options: {
  readonly store: ObjectStore;
  /** The render's output folder and its prefix in the store: a file's key is the prefix plus its path in the folder. */
  readonly outputFolder: string;
  readonly prefix: string;
  readonly emit: (event: ProgressEventBody) => void;
  readonly warn: (message: string) => void;
  readonly signal?: AbortSignal;
}): FramePublisher {
  let queue = Promise.resolve();
  let warned = false;
  const copy = async (file: string) => {
    if (options.signal?.aborted) return;
    const key = options.prefix + relative(options.outputFolder, file).split(sep).join("/");
    try {
      const before = await stat(file);
      const put = await options.store.putFile(key, file, { tags: OUTPUT_TAGS, signal: options.signal });
      options.emit({ type: "file_published", file, key, size: put.size, sha256: put.sha256, mtimeMs: before.mtimeMs });
    } catch (error) {
      if (!warned) options.warn(`Could not copy ${file} to ${options.store.describe(key)} while rendering (the upload job will): ${(error as Error).message}`);
      warned = true;
    }
  };
  return {
    publish(file) {
      queue = queue.then(() => copy(file));
    },
    finish: () => queue,
  };
}

/** What the upload job may skip: file path to its published copy, from the children's events (the latest copy wins). */
export function publishedFiles(events: readonly ProgressEvent[]): Map<string, Extract<ProgressEvent, { type: "file_published" }>> {
  const files = new Map<string, Extract<ProgressEvent, { type: "file_published" }>>();
  for (const event of events) if (event.type === "file_published") files.set(event.file, event);
  return files;
}
