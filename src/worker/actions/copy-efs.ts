import { mkdir, rename, rm, readdir } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { randomBytes } from "node:crypto";
import { frameOfFileName, outputLayout, outputPrefix } from "../../domain/layout.ts";
import { JobFailedError, UserInputError } from "../../errors.ts";
import { isManifestKey } from "../../storage/project-manifest.ts";
import { extractArchive, isArchiveFileName } from "../archive/extract.ts";
import { renderFolders, requirePayload, type ActionContext } from "../context.ts";
import { rebuildFromManifest } from "./copy-efs-manifest.ts";
import type { RenderJobPayload } from "../../domain/render-payload.ts";

/**
 * The `copy_efs` action: brings the project from the object store into the
 * render's folder in the shared work folder. BUCKET_KEY names a single .blend,
 * an archive (.zip, .tar.gz, .tgz, .tar: unpacked safely), a folder prefix
 * ending in "/", or a content-addressed project manifest (".manifest.json",
 * every file's SHA-256 verified). The project appears whole or not at all: it
 * is assembled in a staging folder and renamed into place, replacing an
 * earlier attempt's copy.
 */
export async function copyEfs(context: ActionContext): Promise<void> {
  const payload = await requirePayload(context.env, "copy_efs");
  const key = context.env.BUCKET_KEY;
  if (!key) {
    throw new UserInputError("copy_efs needs BUCKET_KEY: the object key of the project (a .blend, an archive, or a folder prefix ending in \"/\").");
  }
  const { layout, blendFile, output } = renderFolders(context, payload);
  const staging = join(dirname(layout.project), `.project.copying-${randomBytes(4).toString("hex")}`);
  await mkdir(dirname(layout.project), { recursive: true });
  try {
    const files = await fetchProject(context, payload, key, staging);
    await rm(layout.project, { recursive: true, force: true });
    await rename(staging, layout.project);
    context.log.info({ key, files, project: layout.project }, "project copied");
  } catch (error) {
    await rm(staging, { recursive: true, force: true });
    throw error;
  }
  const blend = await readdir(dirname(blendFile)).then((names) => names.includes(basename(blendFile)), () => false);
  if (!blend) {
    throw new JobFailedError(
      `The project copied from "${key}" has no "${payload.project.blendFile}"; check the blend file path in the render settings.`,
    );
  }
  const restored = await restoreUploadedFrames(context, payload.project.name, payload.renderId, outputLayout(output).frames);
  if (restored > 0) context.log.info({ restored }, "frames of an earlier run restored; they will not be rendered again");
}

/**
 * A render run again (retry) finds the frames its earlier run already
 * uploaded: they are brought back into the frames folder, so the render job
 * renders only the failed or missing frames and the upload job publishes the
 * whole set.
 */
async function restoreUploadedFrames(context: ActionContext, project: string, renderId: string, framesFolder: string): Promise<number> {
  const prefix = `${outputPrefix(project, renderId)}frames/`;
  let count = 0;
  for await (const object of context.store.list(prefix)) {
    const name = object.key.slice(prefix.length);
    if (name.includes("/") || frameOfFileName(name) === undefined) continue;
    await context.store.getFile(object.key, join(framesFolder, name));
    count += 1;
  }
  return count;
}

/**
 * Project files a render opens only for reading, so they may share the
 * store's bytes (hard links, see rebuildFromManifest): .blend files and
 * media. Not caches (Blender rewrites a disk cache's frames in place) nor
 * anything else, and nothing at all for a custom Python render, whose script
 * may write wherever it likes.
 */
export function readOnlyInputs(payload: RenderJobPayload): (manifestPath: string) => boolean {
  if (payload.type === "python") return () => false;
  return (path) => READ_ONLY_EXTENSIONS.test(path);
}

const READ_ONLY_EXTENSIONS =
  /\.(blend|png|jpe?g|exr|hdr|tiff?|tga|bmp|webp|dds|psd|jp2|j2c|cin|dpx|ttf|otf|woff2?|pfb|wav|mp3|ogg|flac|aac|m4a|mp4|mov|mkv|avi|webm)$/i;

async function fetchProject(context: ActionContext, payload: RenderJobPayload, key: string, destination: string): Promise<number> {
  const { store } = context;
  if (key.endsWith("/")) return fetchFolder(context, key, destination);
  if (isManifestKey(key)) {
    const rebuilt = await rebuildFromManifest(store, key, destination, {
      signal: context.signal,
      readOnly: readOnlyInputs(payload),
      onWarning: (message) => context.log.warn(message),
    });
    context.log.info({ key, ...rebuilt }, "project rebuilt from its manifest");
    return rebuilt.files;
  }
  const object = await store.stat(key);
  if (!object) {
    throw new JobFailedError(`The project object "${key}" is not in the object store (${store.describe(key)}); upload it first or check BUCKET_KEY.`);
  }
  if (isArchiveFileName(key)) {
    // Keep the archive's own name: unpacking errors quote it.
    const downloads = `${destination}.download`;
    const download = join(downloads, basename(key));
    try {
      await store.getFile(key, download);
      const { entries } = await extractArchive(download, destination);
      return entries;
    } finally {
      await rm(downloads, { recursive: true, force: true });
    }
  }
  await store.getFile(key, join(destination, basename(key)));
  return 1;
}

async function fetchFolder(context: ActionContext, prefix: string, destination: string): Promise<number> {
  let count = 0;
  await mkdir(destination, { recursive: true });
  for await (const object of context.store.list(prefix)) {
    const relative = object.key.slice(prefix.length);
    if (relative.length === 0) continue;
    await context.store.getFile(object.key, join(destination, ...relative.split("/")));
    count += 1;
  }
  if (count === 0) {
    throw new JobFailedError(`No project files under "${prefix}" in the object store; upload the project first or check BUCKET_KEY.`);
  }
  return count;
}
