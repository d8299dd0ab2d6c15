/**
 * Uploaded projects: `$BRENDER_HOME/uploads/<uploadId>/` holds the file as
 * sent (a .blend, or a .zip unpacked beside it into `project/`) and
 * `upload.json` saying which, so a later submission can reuse it.
 */
import { randomBytes } from "node:crypto";
import { createWriteStream } from "node:fs";
import { mkdir, readdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { z } from "zod";
import type { ProjectSource } from "../backends/local/farm.ts";
import { BrenderError } from "../errors.ts";
import { extractArchive } from "../worker/archive/extract.ts";
import { ApiError } from "./http-errors.ts";

export type UploadKind = "blend" | "zip";

const uploadRecordSchema = z.object({ kind: z.enum(["blend", "zip"]), name: z.string(), file: z.string() });

/** An upload on disk: `file` is the stored copy, `name` what the client called it. */
export type StoredUpload = { readonly id: string; readonly dir: string; readonly kind: UploadKind; readonly name: string; readonly file: string };

const UPLOAD_ID = /^u-[0-9a-f]{16}$/;

/** What an uploaded file is, from its name; undefined for anything else. */
export function uploadKindOf(fileName: string): UploadKind | undefined {
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

/** Streams an uploaded file into a new upload folder. Only .blend and .zip are taken. */
export async function saveUpload(uploadsDir: string, fileName: string, content: Readable, allowed: readonly UploadKind[]): Promise<StoredUpload> {
  const kind = uploadKindOf(fileName);
  if (!kind || !allowed.includes(kind)) {
    content.resume();
    const wanted = allowed.map((k) => `.${k}`).join(" or ");
    throw new ApiError(400, `file "${fileName}" is not a ${wanted}; upload a ${wanted} file.`, "file");
  }
  const id = `u-${randomBytes(8).toString("hex")}`;
  const dir = join(uploadsDir, id);
  await mkdir(dir, { recursive: true });
  // The payload wants a lower-case extension ("SHOT.BLEND" would not name a .blend to it).
  const file = join(dir, safeFileName(fileName).replace(/\.(blend|zip)$/i, (extension) => extension.toLowerCase()));
  try {
    await pipeline(content, createWriteStream(file));
    const record = { kind, name: fileName, file };
    await writeFile(join(dir, "upload.json"), `${JSON.stringify(record)}\n`);
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
  const text = await readFile(join(dir, "upload.json"), "utf8").catch(() => undefined);
  if (text === undefined) return undefined;
  return { id, dir, ...uploadRecordSchema.parse(JSON.parse(text)) };
}

export async function removeUpload(upload: StoredUpload): Promise<void> {
  await rm(upload.dir, { recursive: true, force: true });
}

/**
 * The project an upload stands for: the .blend itself, or the unpacked zip
 * (unpacked once, with the safe extractor) and the .blend inside it named by
 * `blend` (optional when the zip holds exactly one).
 */
export async function projectOf(upload: StoredUpload, blend: string | undefined): Promise<{ source: ProjectSource; blendPath: string; blendFile: string }> {
  if (upload.kind === "blend") {
    if (blend) throw new ApiError(400, "settings.blend is for zipped projects; with a .blend upload, drop it.", "settings.blend");
    const blendFile = upload.file.slice(upload.dir.length + 1);
    return { source: { kind: "file", path: upload.file }, blendPath: upload.file, blendFile };
  }
  const project = join(upload.dir, "project");
  if (!(await stat(project).catch(() => undefined))) {
    try {
      await extractArchive(upload.file, project);
    } catch (error) {
      // A hostile or broken archive is the client's problem to fix, not a server failure.
      if (error instanceof BrenderError) throw new ApiError(400, error.message, "file");
      throw error;
    }
  }
  const blends = await blendFilesIn(project);
  const chosen = blend?.split("\\").join("/").replace(/^\.\//, "") ?? (blends.length === 1 ? blends[0] : undefined);
  if (!chosen) {
    throw new ApiError(400, `settings.blend is required: say which .blend in ${upload.name} to render (it holds ${blends.map((b) => `"${b}"`).join(", ") || "none"}).`, "settings.blend");
  }
  if (!blends.includes(chosen)) {
    throw new ApiError(400, `settings.blend "${chosen}" is not a .blend in ${upload.name}; it holds ${blends.map((b) => `"${b}"`).join(", ") || "none"}.`, "settings.blend");
  }
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
