/**
 * The one reader of render children's progress events: the JSON-lines files
 * in a render's work folder (local farm), or the copies children publish to
 * the object store every 5 s (AWS). Each poll reads only what was added since
 * the last, and keeps a line cut in half until its end arrives.
 */
import { open, readdir, stat } from "node:fs/promises";
import { join } from "node:path";
import { childOfEventFile, outputPrefix, workLayout } from "../domain/layout.ts";
import { parseProgressEventLine, type ProgressEvent } from "../domain/progress-events.ts";
import type { ObjectStore } from "../storage/object-store.ts";

/** Where the events files are: list them (with sizes) and read one from a byte offset. */
export type EventFiles = {
  list(): Promise<{ readonly id: string; readonly child: number; readonly size: number }[]>;
  read(id: string, from: number): Promise<Buffer>;
};

export class EventReader {
  readonly #files: EventFiles;
  readonly #offsets = new Map<string, number>();
  readonly #partial = new Map<string, string>();

  constructor(files: EventFiles) {
    this.#files = files;
  }

  /** Calls `onEvent` for each new event, file by file in child order. */
  async poll(onEvent: (child: number, event: ProgressEvent) => void): Promise<void> {
    const files = (await this.#files.list()).sort((a, b) => a.child - b.child);
    for (const file of files) {
      const offset = this.#offsets.get(file.id) ?? 0;
      if (file.size <= offset) continue;
      const added = await this.#files.read(file.id, offset);
      this.#offsets.set(file.id, offset + added.length);
      const lines = ((this.#partial.get(file.id) ?? "") + added.toString("utf8")).split("\n");
      this.#partial.set(file.id, lines.pop() ?? "");
      for (const line of lines) {
        const event = parseProgressEventLine(line);
        if (event) onEvent(file.child, event);
      }
    }
  }
}

/** The events files in a render's work folder (the local farm's children write them as they go). */
export function workFolderEvents(workFolder: string, renderId: string): EventFiles {
  const folder = workLayout(workFolder, renderId).events;
  return {
    async list() {
      const names = await readdir(folder).catch(() => [] as string[]);
      const files = [];
      for (const name of names) {
        const child = childOfEventFile(name);
        if (child === undefined) continue;
        const info = await stat(join(folder, name)).catch(() => undefined);
        if (info?.isFile()) files.push({ id: join(folder, name), child, size: info.size });
      }
      return files;
    },
    async read(path, from) {
      const handle = await open(path, "r").catch(() => undefined);
      if (!handle) return Buffer.alloc(0);
      try {
        const { size } = await handle.stat();
        const buffer = Buffer.alloc(Math.max(0, size - from));
        const { bytesRead } = await handle.read(buffer, 0, buffer.length, from);
        return buffer.subarray(0, bytesRead);
      } finally {
        await handle.close();
      }
    },
  };
}

/** The events files render children publish under the render's outputs (`events/`), read whole and cut at the offset. */
export function storedEvents(objects: ObjectStore, projectName: string, renderId: string): EventFiles {
  const prefix = `${outputPrefix(projectName, renderId)}events/`;
  return {
    async list() {
      const files = [];
      for await (const object of objects.list(prefix)) {
        const child = childOfEventFile(object.key);
        if (child !== undefined) files.push({ id: object.key, child, size: object.size });
      }
      return files;
    },
    async read(key, from) {
      return (await objects.getBytes(key)).subarray(from);
    },
  };
}
