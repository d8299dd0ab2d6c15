/**
 * Browser-sized JPEG previews of rendered frames, for the UI's grid and
 * viewer: a 4K frame is megabytes and EXR, DPX, Cineon or HDR frames do not
 * display in a browser at all, so the server makes a small JPEG once (with
 * the same decoding the upload job's thumbnail uses) and keeps it under
 * `$BRENDER_HOME/cache/previews/`. Deleting that folder is always safe.
 */
import { createReadStream, createWriteStream } from "node:fs";
import { mkdir, mkdtemp, rename, rm, stat } from "node:fs/promises";
import { availableParallelism, tmpdir } from "node:os";
import { extname, join } from "node:path";
import { pipeline } from "node:stream/promises";
import { makeThumbnail } from "../media/thumbnail.ts";
import { ApiError } from "./http-errors.ts";

/** The sizes a client may ask for (longest edge, pixels): few, so the cache stays small. */
export const PREVIEW_SIZES = [128, 256, 512, 1024, 2048] as const;
export type PreviewSize = (typeof PREVIEW_SIZES)[number];

/** Frame formats Blender writes, by extension; anything else (zip, video, json) has no preview. */
const IMAGE_EXTENSIONS = new Set([".png", ".jpg", ".jpeg", ".exr", ".hdr", ".tif", ".tiff", ".bmp", ".webp", ".dpx", ".cin", ".tga", ".jp2", ".j2c", ".rgb", ".sgi"]);

/** The `?preview=` value as a size, or a 400 naming the allowed ones. */
export function parsePreviewSize(value: unknown): PreviewSize {
  const size = Number(value);
  if (!(PREVIEW_SIZES as readonly number[]).includes(size)) {
    throw new ApiError(400, `preview "${String(value)}" is not a preview size; use one of ${PREVIEW_SIZES.join(", ")} (pixels, longest edge).`, "preview");
  }
  return size as PreviewSize;
}

export function hasPreview(name: string): boolean {
  return IMAGE_EXTENSIONS.has(extname(name).toLowerCase());
}

/** Where the source of a preview is: a file on disk, or something to download to one (an object in S3). */
export type PreviewSource = { kind: "file"; path: string } | { kind: "download"; to: (destination: string) => Promise<void> };

/** Makes and caches previews, a few at a time (each may run ffmpeg), once per key however many ask at once. */
export class FramePreviews {
  readonly #cacheDir: string;
  readonly #inFlight = new Map<string, Promise<string>>();
  readonly #limit: number;
  #running = 0;
  readonly #waiting: (() => void)[] = [];

  constructor(cacheDir: string, limit = Math.max(1, availableParallelism())) {
    this.#cacheDir = cacheDir;
    this.#limit = limit;
  }

  /**
   * The cached JPEG of one output at one size. The key holds the source's
   * size, so a frame rendered again (a retry) gets a fresh preview.
   */
  async preview(renderId: string, name: string, size: PreviewSize, open: () => PreviewSource, sourceSize: number): Promise<string> {
    const file = join(this.#cacheDir, renderId, String(size), `${name.split("/").join("__")}.${sourceSize}.jpg`);
    if (await stat(file).catch(() => undefined)) return file;
    const running = this.#inFlight.get(file);
    if (running) return running;
    const made = this.#make(file, name, size, open).finally(() => this.#inFlight.delete(file));
    this.#inFlight.set(file, made);
    return made;
  }

  async #make(file: string, name: string, size: PreviewSize, open: () => PreviewSource): Promise<string> {
    await this.#acquire();
    const scratch = await mkdtemp(join(tmpdir(), "brender-preview-"));
    try {
      const source = open();
      let input: string;
      if (source.kind === "file") {
        input = source.path;
      } else {
        // The decoders read files; the extension tells them the format when its bytes do not.
        input = join(scratch, `source${extname(name).toLowerCase()}`);
        await source.to(input);
      }
      await mkdir(join(file, ".."), { recursive: true });
      // Written aside and renamed, so a reader never sees half a JPEG.
      const partial = join(scratch, "preview.jpg");
      await makeThumbnail(input, partial, { maxSize: size });
      await rename(partial, file).catch(async (error: unknown) => {
        // Another folder's tmp may be on another device: copy through the cache folder instead.
        if ((error as NodeJS.ErrnoException).code !== "EXDEV") throw error;
        const beside = `${file}.${process.pid}.partial`;
        await pipeline(createReadStream(partial), createWriteStream(beside));
        await rename(beside, file);
      });
      return file;
    } finally {
      await rm(scratch, { recursive: true, force: true });
      this.#release();
    }
  }

  async #acquire(): Promise<void> {
    if (this.#running < this.#limit) {
      this.#running += 1;
      return;
    }
    await new Promise<void>((resolve) => this.#waiting.push(resolve));
  }

  #release(): void {
    const next = this.#waiting.shift();
    if (next) next();
    else this.#running -= 1;
  }
}
