/**
 * Uploaded projects: `$BRENDER_HOME/uploads/<uploadId>/` holds what was sent
 * (a .blend; a .zip unpacked beside it into `project/`; or a folder's files
 * under `project/`) and `upload.json` saying which, so later requests
 * (inspection, submissions) can reuse it by its id.
 */
import { randomBytes } from "node:crypto";
import { createWriteStream } from "node:fs";
import { mkdir, readdir, readFile, rename, rm, stat, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { Transform, type Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import type { FastifyInstance } from "fastify";
import { z } from "zod";
import type { ProjectSource } from "../backends/local/farm.ts";
import { BrenderError } from "../errors.ts";
import { extractArchive, limitsFromEnvironment } from "../worker/archive/extract.ts";
import { DEFAULT_EXTRACTION_LIMITS, type ExtractionLimits } from "../worker/archive/policy.ts";
import { removeIdleBlobs } from "./blob-store.ts";
import { ApiError } from "./http-errors.ts";

export type UploadKind = "blend" | "zip" | "folder";

/**
 * What one upload to `brender serve` may take and unpack to by default: 8 GiB
 * (and the archives' million files). The workers' 64 GiB suits a farm's own
 * disks; a server on someone's machine unpacks onto the disk their system
 * runs on, where a zip bomb or a runaway folder must stop long before it is
 * full, while a Blender project sent from a browser rarely nears 8 GiB.
 * BRENDER_MAX_UNPACK_BYTES (and _ENTRIES) set other limits.
 */
export const SERVE_UPLOAD_LIMITS: ExtractionLimits = Object.freeze({ maxTotalBytes: 8 * 1024 ** 3, maxEntries: DEFAULT_EXTRACTION_LIMITS.maxEntries });

/** The server's upload limits: BRENDER_MAX_UNPACK_BYTES and _ENTRIES, else SERVE_UPLOAD_LIMITS. A bad value throws (at start). */
export function uploadLimitsOf(env: NodeJS.ProcessEnv): ExtractionLimits {
  return limitsFromEnvironment(env, SERVE_UPLOAD_LIMITS);
}

/** The 400 for an upload past the byte limit (whatever noticed it: our count, or multipart's per-file limit). */
function tooLarge(limits: ExtractionLimits): ApiError {
  const bytes = limits.maxTotalBytes;
  const shown = bytes >= 1024 ** 2 ? ` (${Number((bytes / 1024 ** 3).toPrecision(3))} GiB)` : "";
  return new ApiError(400, `file: the upload is larger than ${bytes} bytes${shown}; send less, or raise the limit with BRENDER_MAX_UNPACK_BYTES.`, "file");
}

/** Multipart's own per-file limit (set to the same byte limit; it may notice first) reported as our own 400 naming the limit. */
export function sizeErrorOf(error: unknown, limits: ExtractionLimits): unknown {
  return (error as { code?: unknown }).code === "FST_REQ_FILE_TOO_LARGE" ? tooLarge(limits) : error;
}

const uploadRecordSchema = z.object({
  kind: z.enum(["blend", "zip", "folder"]),
  name: z.string(),
  /** The stored .blend or .zip; for a folder, the project root. */
  file: z.string(),
  /** Absent in records written before cleanup existed: upload.json's mtime stands in. */
  createdAt: z.string().optional(),
  /** Renders submitted from this upload. */
  renderIds: z.array(z.string()).default([]),
});
type UploadRecord = z.output<typeof uploadRecordSchema>;

/**
 * An upload on disk: `file` is the stored copy (for a folder: the project
 * root), `name` what the client called it (for a folder: its top folder).
 */
export type StoredUpload = {
  readonly id: string;
  readonly dir: string;
  readonly kind: UploadKind;
  readonly name: string;
  readonly file: string;
  readonly createdAt?: string;
  readonly renderIds: readonly string[];
};

const UPLOAD_ID = /^u-[0-9a-f]{16}$/;
const RECORD = "upload.json";

/** What an uploaded file is, from its name; undefined for anything else. */
export function uploadKindOf(fileName: string): "blend" | "zip" | undefined {
  if (/\.blend$/i.test(fileName)) return "blend";
  if (/\.zip$/i.test(fileName)) return "zip";
  return undefined;
}

/** A file name safe to write in the upload folder: the last path segment, odd characters replaced. */
export function safeFileName(fileName: string): string {
  const last = fileName.split(/[\\/]/).pop() ?? "";
  const cleaned = last.replace(/[^A-Za-z0-9._ -]+/g, "_").replace(/^\.+/, "");
  return cleaned || "upload";
}

/** The payload wants a lower-case extension ("SHOT.BLEND" would not name a .blend to it). */
function storedFileName(fileName: string): string {
  return safeFileName(fileName).replace(/\.(blend|zip)$/i, (extension) => extension.toLowerCase());
}

async function newUploadDir(uploadsDir: string): Promise<{ id: string; dir: string }> {
  const id = `u-${randomBytes(8).toString("hex")}`;
  const dir = join(uploadsDir, id);
  await mkdir(dir, { recursive: true });
  return { id, dir };
}

async function writeRecord(dir: string, record: UploadRecord): Promise<void> {
  // Written aside and renamed, so a reader (or the cleanup) never sees half a record.
  const temporary = join(dir, `${RECORD}.${randomBytes(4).toString("hex")}.tmp`);
  await writeFile(temporary, `${JSON.stringify(record)}\n`);
  await rename(temporary, join(dir, RECORD));
}

/**
 * Streams an uploaded file into a new upload folder. Only the kinds in
 * `allowed` (.blend, .zip) are taken; multipart's file size limit (the
 * server's upload limit) stops a larger one, answered through sizeErrorOf.
 */
export async function saveUpload(uploadsDir: string, fileName: string, content: Readable, allowed: readonly ("blend" | "zip")[]): Promise<StoredUpload> {
  const kind = uploadKindOf(fileName);
  if (!kind || !allowed.includes(kind)) {
    content.resume();
    const wanted = allowed.map((k) => `.${k}`).join(" or ");
    throw new ApiError(400, `file "${fileName}" is not a ${wanted}; upload a ${wanted} file.`, "file");
  }
  const { id, dir } = await newUploadDir(uploadsDir);
  const file = join(dir, storedFileName(fileName));
  try {
    await pipeline(content, createWriteStream(file));
    const record: UploadRecord = { kind, name: fileName, file, createdAt: new Date().toISOString(), renderIds: [] };
    await writeRecord(dir, record);
    return { id, dir, ...record };
  } catch (error) {
    await rm(dir, { recursive: true, force: true });
    throw error;
  }
}

/** An earlier upload by its id, or undefined when there is none. */
export async function loadUpload(uploadsDir: string, id: string): Promise<StoredUpload | undefined> {
  if (!UPLOAD_ID.test(id)) return undefined;
  const dir = join(uploadsDir, id);
  const text = await readFile(join(dir, RECORD), "utf8").catch(() => undefined);
  if (text === undefined) return undefined;
  return { id, dir, ...uploadRecordSchema.parse(JSON.parse(text)) };
}

export async function removeUpload(upload: StoredUpload): Promise<void> {
  await rm(upload.dir, { recursive: true, force: true });
}

/** Notes in upload.json that a render was submitted from this upload, which keeps the cleanup away from it. */
export async function recordRenderOf(upload: StoredUpload, renderId: string): Promise<void> {
  const current = (await loadUpload(dirname(upload.dir), upload.id)) ?? upload;
  if (current.renderIds.includes(renderId)) return;
  const { id: _id, dir: _dir, ...record } = current;
  await writeRecord(upload.dir, { ...record, renderIds: [...current.renderIds, renderId] });
}

/**
 * A path of a folder upload's part ("shot/tex/wood.png", as browsers send a
 * file's webkitRelativePath) as its segments, or a 400 naming it. Stricter
 * than the archive policy: it refuses rather than normalizes anything a
 * browser never sends (empty or "." segments, backslashes, drive letters,
 * control characters), so no spelling can reach outside the upload.
 */
export function folderPathSegments(raw: string): string[] {
  const refuse = (problem: string): never => {
    const shown = raw.length > 200 ? `${raw.slice(0, 200)}…` : raw;
    throw new ApiError(400, `file ${JSON.stringify(shown)} ${problem}; send each file with its path inside the project folder, like "shot/scene.blend".`, "file");
  };
  if (raw === "") return refuse("has no name");
  if (/[\u0000-\u001f\u007f]/.test(raw)) return refuse("holds a control character");
  if (raw.includes("\\")) return refuse('holds a backslash (use "/" between folders)');
  if (raw.startsWith("/")) return refuse("is an absolute path");
  if (/^[A-Za-z]:/.test(raw)) return refuse("starts with a drive letter");
  const segments = raw.split("/");
  for (const segment of segments) {
    if (segment === "") return refuse("has an empty path segment");
    // ".." and the forms Windows trims into it (".. ", "..."), and ".".
    if (/^[. ]+$/.test(segment)) return refuse(`has a "${segment}" segment`);
    if (Buffer.byteLength(segment) > 255) return refuse("has a name longer than 255 bytes");
  }
  return segments;
}

/** Counts the bytes going through, failing once the total passes `limit`. */
function byteBudget(budget: { used: number; readonly limit: number }, onExceeded: () => Error): Transform {
  return new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      budget.used += chunk.length;
      callback(budget.used > budget.limit ? onExceeded() : null, chunk);
    },
  });
}

/** A finished upload, with the .blend files it holds (relative to its project root, "/"-separated, sorted). */
export type ReceivedUpload = StoredUpload & { readonly blendFiles: readonly string[] };

/**
 * An upload arriving part by part (POST /api/uploads): one .blend, one .zip,
 * or a folder's files with their relative paths. Each file is checked and
 * written as it comes; finish() decides the kind, discard() leaves nothing.
 */
export class IncomingUpload {
  readonly id: string;
  readonly dir: string;
  private readonly limits: ExtractionLimits;
  private readonly files = new Map<string, string>();
  private readonly folders = new Set<string>();
  private readonly bytes: { used: number; readonly limit: number };

  private constructor(id: string, dir: string, limits: ExtractionLimits) {
    this.id = id;
    this.dir = dir;
    this.limits = limits;
    this.bytes = { used: 0, limit: limits.maxTotalBytes };
  }

  /** Makes the upload's folder; the caller must finish() or discard() it. */
  static async start(uploadsDir: string, limits: ExtractionLimits): Promise<IncomingUpload> {
    const { id, dir } = await newUploadDir(uploadsDir);
    return new IncomingUpload(id, dir, limits);
  }

  private get project(): string {
    return join(this.dir, "project");
  }

  /** Checks one part's path against the rules and limits, then streams it under project/. */
  async addFile(rawPath: string, content: Readable): Promise<void> {
    try {
      const segments = folderPathSegments(rawPath);
      const path = segments.join("/");
      if (this.files.size >= this.limits.maxEntries) {
        throw new ApiError(400, `file: the upload has more than ${this.limits.maxEntries} files; send fewer, or raise the limit with BRENDER_MAX_UNPACK_ENTRIES.`, "file");
      }
      if (this.files.has(path) || this.folders.has(path)) throw new ApiError(400, `file ${JSON.stringify(rawPath)} is sent twice (or is also a folder); send each path once.`, "file");
      for (let depth = 1; depth < segments.length; depth++) {
        const ancestor = segments.slice(0, depth).join("/");
        if (this.files.has(ancestor)) throw new ApiError(400, `file ${JSON.stringify(rawPath)} lies under ${JSON.stringify(ancestor)}, which is a file; send each path once.`, "file");
        this.folders.add(ancestor);
      }
      this.files.set(path, rawPath);
      const target = join(this.project, ...segments);
      await mkdir(join(this.project, ...segments.slice(0, -1)), { recursive: true });
      await pipeline(content, byteBudget(this.bytes, () => tooLarge(this.limits)), createWriteStream(target, { flags: "wx" }));
    } catch (error) {
      throw sizeErrorOf(error, this.limits);
    } finally {
      // A refused part must still be read off the request, or the next one never comes.
      content.resume();
    }
  }

  /** Decides what was uploaded and writes upload.json; a 400 (and nothing kept) when it holds no .blend. */
  async finish(): Promise<ReceivedUpload> {
    const paths = [...this.files.keys()];
    if (paths.length === 0) throw new ApiError(400, "file: missing; send a .blend, a .zip, or every file of a project folder as file fields.", "file");
    const only = paths.length === 1 ? paths[0]! : undefined;
    const singleKind = only !== undefined && !only.includes("/") ? uploadKindOf(only) : undefined;
    if (only !== undefined && !only.includes("/") && !singleKind) {
      throw new ApiError(400, `file "${only}" is not a .blend or .zip; upload a .blend, a .zip, or a project folder.`, "file");
    }
    const createdAt = new Date().toISOString();
    if (singleKind) {
      const file = join(this.dir, storedFileName(only!));
      await rename(join(this.project, only!), file);
      await rm(this.project, { recursive: true, force: true });
      const record: UploadRecord = { kind: singleKind, name: only!, file, createdAt, renderIds: [] };
      const upload: StoredUpload = { id: this.id, dir: this.dir, ...record };
      const blendFiles = singleKind === "blend" ? [file.slice(this.dir.length + 1)] : await blendFilesIn(await unpackedProject(upload, this.limits));
      await writeRecord(this.dir, record);
      return { ...upload, blendFiles };
    }
    const tops = new Set(paths.map((path) => path.split("/")[0]!));
    const shared = tops.size === 1 && paths.every((path) => path.includes("/")) ? [...tops][0]! : undefined;
    const root = shared ? join(this.project, shared) : this.project;
    const blendFiles = await blendFilesIn(root);
    if (blendFiles.length === 0) throw new ApiError(400, "file: the folder holds no .blend file; upload the project folder that holds your .blend.", "file");
    const name = shared ?? blendFiles[0]!.split("/").pop()!.replace(/\.blend$/, "");
    const record: UploadRecord = { kind: "folder", name, file: root, createdAt, renderIds: [] };
    await writeRecord(this.dir, record);
    return { id: this.id, dir: this.dir, ...record, blendFiles };
  }

  async discard(): Promise<void> {
    await rm(this.dir, { recursive: true, force: true });
  }
}

/** The unpacked folder of a zip upload (unpacked once, with the safe extractor, within the server's limits); a broken or hostile zip is a 400. */
async function unpackedProject(upload: StoredUpload, limits: ExtractionLimits): Promise<string> {
  const project = join(upload.dir, "project");
  if (await stat(project).catch(() => undefined)) return project;
  try {
    await extractArchive(upload.file, project, { limits });
  } catch (error) {
    // A hostile or broken archive is the client's problem to fix, not a server failure.
    if (error instanceof BrenderError) throw new ApiError(400, error.message, "file");
    throw error;
  }
  return project;
}

/** The .blend files an upload holds, relative to its project root. */
export async function blendFilesOf(upload: StoredUpload, limits: ExtractionLimits): Promise<string[]> {
  if (upload.kind === "blend") return [upload.file.slice(upload.dir.length + 1)];
  return blendFilesIn(upload.kind === "zip" ? await unpackedProject(upload, limits) : upload.file);
}

/**
 * The project an upload stands for: the .blend itself, or the unpacked zip or
 * uploaded folder and the .blend inside it named by `blend` (optional when it
 * holds exactly one). `field` is how errors name that choice (the render
 * settings' "settings.blend", or inspection's "blend"). A zip is unpacked
 * within `limits`.
 */
export async function projectOf(
  upload: StoredUpload,
  blend: string | undefined,
  limits: ExtractionLimits,
  field = "settings.blend",
): Promise<{ source: ProjectSource; blendPath: string; blendFile: string }> {
  if (upload.kind === "blend") {
    if (blend) throw new ApiError(400, `${field} is for zipped projects and folders; with a .blend upload, drop it.`, field);
    const blendFile = upload.file.slice(upload.dir.length + 1);
    return { source: { kind: "file", path: upload.file }, blendPath: upload.file, blendFile };
  }
  const project = upload.kind === "zip" ? await unpackedProject(upload, limits) : upload.file;
  const blends = await blendFilesIn(project);
  const chosen = blend?.split("\\").join("/").replace(/^\.\//, "") ?? (blends.length === 1 ? blends[0] : undefined);
  const holds = blends.map((b) => `"${b}"`).join(", ") || "none";
  if (!chosen) throw new ApiError(400, `${field} is required: say which .blend in ${upload.name} to render (it holds ${holds}).`, field);
  if (!blends.includes(chosen)) throw new ApiError(400, `${field} "${chosen}" is not a .blend in ${upload.name}; it holds ${holds}.`, field);
  return { source: { kind: "folder", path: project }, blendPath: join(project, ...chosen.split("/")), blendFile: chosen };
}

/** Every .blend in a folder, as "/"-separated paths relative to it, sorted. */
async function blendFilesIn(folder: string): Promise<string[]> {
  const entries = await readdir(folder, { recursive: true, withFileTypes: true });
  return entries
    .filter((entry) => entry.isFile() && entry.name.endsWith(".blend"))
    .map((entry) => join(entry.parentPath, entry.name).slice(folder.length + 1).split("\\").join("/"))
    .sort();
}

/** How long an upload no render came from is kept. */
export const UPLOAD_MAX_AGE_MS = 24 * 3600 * 1000;
const CLEANUP_INTERVAL_MS = 3600 * 1000;

/**
 * Whether the cleanup removes an upload. Decision: an upload a render was
 * submitted from (renderIds in upload.json) is kept for good, so that render
 * can be submitted again with other settings by its uploadId whenever the
 * user comes back to it; any other upload (inspected and abandoned, or
 * refused at submission) is removed once it is older than 24 h, which leaves
 * a person a working day to finish filling the form. A folder without a
 * readable upload.json (an upload cut off by a crash) counts as unused.
 */
export function isStaleUpload(upload: { readonly createdAtMs: number; readonly renderIds: readonly string[] }, nowMs: number): boolean {
  return upload.renderIds.length === 0 && nowMs - upload.createdAtMs > UPLOAD_MAX_AGE_MS;
}

/** Removes the stale uploads (see isStaleUpload) under `uploadsDir`; returns their ids. */
export async function removeStaleUploads(uploadsDir: string, nowMs = Date.now()): Promise<string[]> {
  const removed: string[] = [];
  for (const id of await readdir(uploadsDir).catch(() => [] as string[])) {
    if (!UPLOAD_ID.test(id)) continue;
    const dir = join(uploadsDir, id);
    const upload = await loadUpload(uploadsDir, id).catch(() => undefined);
    const recorded = upload?.createdAt ? Date.parse(upload.createdAt) : NaN;
    const createdAtMs = Number.isNaN(recorded) ? (await stat(upload ? join(dir, RECORD) : dir).catch(() => undefined))?.mtimeMs : recorded;
    if (createdAtMs === undefined) continue;
    if (!isStaleUpload({ createdAtMs, renderIds: upload?.renderIds ?? [] }, nowMs)) continue;
    await rm(dir, { recursive: true, force: true });
    removed.push(id);
  }
  return removed;
}

/**
 * Runs removeStaleUploads and removeIdleBlobs when the server starts (before
 * it is ready) and then hourly until it closes.
 */
export function scheduleUploadCleanup(app: FastifyInstance, uploadsDir: string, blobsDir: string): void {
  let timer: NodeJS.Timeout | undefined;
  const sweep = async (): Promise<void> => {
    try {
      const removed = await removeStaleUploads(uploadsDir);
      if (removed.length > 0) app.log.info({ removed }, "removed stale uploads");
      const blobs = await removeIdleBlobs(blobsDir);
      if (blobs.length > 0) app.log.info({ blobs: blobs.length }, "removed blobs unused for 7 days");
    } catch (error) {
      app.log.error(error, "the upload cleanup failed");
    }
  };
  app.addHook("onReady", async () => {
    await sweep();
    timer = setInterval(() => void sweep(), CLEANUP_INTERVAL_MS);
    timer.unref();
  });
  app.addHook("onClose", async () => clearInterval(timer));
}
