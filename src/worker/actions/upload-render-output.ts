import { createWriteStream } from "node:fs";
import { mkdir, readdir, rm, stat } from "node:fs/promises";
import { join, relative, sep } from "node:path";
import { pipeline } from "node:stream/promises";
import yazl from "yazl";
import { compressFrames, expandFrames, formatFrameSet, parseFrameSet } from "../../domain/frames.ts";
import { outputLayout, outputPrefix } from "../../domain/layout.ts";
import { mergeFrameTimes, type RenderManifest } from "../../domain/render-manifest.ts";
import type { RenderJobPayload } from "../../domain/render-payload.ts";
import { JobFailedError } from "../../errors.ts";
import { makePreviewVideo } from "../../media/preview-video.ts";
import { makeThumbnail } from "../../media/thumbnail.ts";
import { mailerConfigFromEnv, sendRenderNotification } from "../../notify/mailer.ts";
import type { RenderReport } from "../../notify/render-report.ts";
import { renderFolders, requirePayload, type ActionContext } from "../context.ts";
import { hostInfo } from "../host-info.ts";
import { linkMakerFromEnv } from "../../storage/share-links.ts";
import { forgetStoredWebhooks, hasWebhooks, notifyWebhooks, webhookUrlsOf } from "../webhook-notify.ts";
import { alreadyPublished, publishedManifest, restoreFromStore } from "../published-outputs.ts";
import { renderCostOf } from "../render-cost.ts";
import { readRenderEvents, summarizeEvents, type RenderSummary } from "../render-summary.ts";
import { renderedFrames } from "./render.ts";
import { OUTPUT_TAGS, publishedFiles } from "../frame-publisher.ts";
import { preworkVideo } from "../preview-prework.ts";

const PARALLEL_UPLOADS = 4;

/**
 * The `upload_render_output` action: uploads everything the render produced
 * under a prefix unique to this render, adds output.zip, a thumbnail and (for
 * animations) a preview video, writes manifest.json (expected vs rendered
 * frames) last, notifies the user, and cleans the render's work folder.
 * Exits non-zero when frames are missing, after uploading what exists and
 * sending the failure notification, so an incomplete render never looks
 * like a success.
 */
export async function uploadRenderOutput(context: ActionContext): Promise<void> {
  const payload = await requirePayload(context.env, "upload_render_output");
  // Asked now, read at the end: the metadata services answer while the files upload.
  const host = hostInfo(context.processEnv);
  const { layout, output } = renderFolders(context, payload);
  const prefix = outputPrefix(payload.project.name, payload.renderId);
  const earlier = await publishedManifest(context.store, prefix);
  if (await alreadyPublished(context.store, earlier)) {
    // An earlier run published the render and told the user but was not recorded as done (its runner
    // was killed): finish its clean-up and stop, without a second e-mail or a rewritten manifest.
    context.log.info({ prefix: context.store.describe(prefix) }, "already published by an earlier run; nothing to do");
    await rm(layout.root, { recursive: true, force: true });
    await forgetStoredWebhooks(context, payload);
    return;
  }
  const restored = await restoreFromStore(context.store, prefix, output, context.signal);
  if (restored > 0) context.log.info({ restored }, "outputs an earlier run had uploaded were brought back from the store");
  const scratch = join(layout.root, "upload");
  await rm(scratch, { recursive: true, force: true });
  await mkdir(scratch, { recursive: true });

  const events = await readRenderEvents(layout.events);
  const summary = summarizeEvents(events);
  const frames = await frameAccounting(payload, outputLayout(output).frames);
  const warnings = [...summary.warnings];
  const files = await listFiles(output);
  const uploaded = await uploadAll(context, files.map((file) => ({ file, key: prefix + toKey(relative(output, file)) })), publishedFiles(events));

  const extras: RenderManifest["outputs"] = { prefix };
  if (files.length > 0) {
    const zip = join(scratch, "output.zip");
    await writeZip(output, files, zip);
    extras.zip = await uploadOne(context, zip, `${prefix}output.zip`, uploaded);
  }
  const frameFiles = frames.renderedFiles;
  if (frameFiles.length > 0) {
    const middle = frameFiles[Math.floor((frameFiles.length - 1) / 2)]!;
    await attempt(warnings, "thumbnail", async () => {
      await makeThumbnail(middle, join(scratch, "thumbnail.jpg"));
      extras.thumbnail = await uploadOne(context, join(scratch, "thumbnail.jpg"), `${prefix}thumbnail.jpg`, uploaded);
    });
  }
  if (payload.type === "animation" && payload.video.enabled && frameFiles.length >= 2) {
    await attempt(warnings, "preview video", async () => {
      const options = {
        fps: payload.render?.fps ?? summary.fps ?? 24,
        quality: payload.video.quality,
        encodingSpeed: payload.video.encodingSpeed,
        container: payload.video.container,
      };
      // The render child may have encoded it already, while it rendered (preview-prework.ts).
      const video = await preworkVideo(join(layout.root, "prework"), frameFiles, options)
        ?? (await makePreviewVideo(frameFiles, join(scratch, "preview.mp4"), options)).file;
      const name = video.slice(video.lastIndexOf("/") + 1);
      extras.preview = await uploadOne(context, video, prefix + name, uploaded);
    });
  }

  const upstream = context.env.BRENDER_UPSTREAM_FAILURE;
  const failed = frames.missing.length > 0 || (payload.type === "python" && upstream !== undefined);
  const reason = failed
    ? upstream ?? summary.failureReason ?? `${frames.missing.length} of ${frames.expected.length} frames were not rendered: ${formatFrames(frames.missing)}`
    : undefined;
  const finishedAt = new Date().toISOString();
  const hostDescription = await host;
  // A retry's manifest adds this run's cost to what the earlier runs cost.
  const cost = await renderCostOf(payload, summary, finishedAt, context.processEnv, earlier?.cost);
  const manifest: RenderManifest = {
    schemaVersion: 1,
    renderId: payload.renderId,
    project: payload.project.name,
    blendFile: payload.project.blendFile,
    type: payload.type,
    status: failed ? "failed" : "succeeded",
    reason,
    frames: {
      expected: payload.frames,
      expectedCount: frames.expected.length,
      rendered: formatFrames(frames.rendered),
      renderedCount: frames.rendered.length,
      missing: frames.missing,
    },
    files: uploaded,
    outputs: extras,
    warnings,
    startedAt: summary.startedAt,
    finishedAt,
    renderSeconds: summary.renderSeconds,
    peakMemoryMb: summary.peakMemoryMb,
    ...(summary.device !== undefined ? { device: summary.device } : {}),
    frameTimes: mergeFrameTimes(earlier?.frameTimes, summary.frameTimes, frames.rendered),
    ...(Object.keys(hostDescription).length > 0 ? { host: hostDescription } : {}),
    ...(cost ? { cost } : {}),
  };
  // Past this point the upload publishes and tells the user: a worker whose runner died stops before it,
  // so the run that takes over is the only one that does.
  context.signal.throwIfAborted();
  // The e-mail goes out before the manifest (still written last, marking the upload complete), so a
  // notification that could not be sent is recorded there as a warning instead of failing a good render.
  const wanted = manifest.status === "succeeded" ? payload.notify.onSuccess : payload.notify.onFailure;
  const report = wanted && (payload.notify.email || hasWebhooks(payload.notify))
    ? await renderReport(context, payload, manifest, summary, batchJobLink(context.processEnv, context.processEnv.BRENDER_UPSTREAM_FAILED_JOB_ID))
    : undefined;
  try {
    if (report && payload.notify.email) await notifyByEmail(context, report, payload.notify.email);
  } catch (error) {
    const message = `The e-mail notification could not be sent: ${(error as Error).message}`;
    context.log.error(message);
    manifest.warnings.push(message);
  }
  if (report && hasWebhooks(payload.notify)) {
    const { urls, warnings: unread } = await webhookUrlsOf(context, payload);
    const sent = await notifyWebhooks(context, urls, report);
    manifest.webhooks = sent.deliveries;
    manifest.warnings.push(...unread, ...sent.warnings);
  }
  await context.store.putBytes(`${prefix}manifest.json`, `${JSON.stringify(manifest, null, 2)}\n`, { tags: OUTPUT_TAGS });
  context.log.info({ prefix: context.store.describe(prefix), files: uploaded.length, status: manifest.status }, "outputs uploaded");
  // Everything is in the object store now; the work folder only held copies.
  await rm(layout.root, { recursive: true, force: true });
  await forgetStoredWebhooks(context, payload);
  if (failed) throw new JobFailedError(`Render ${payload.renderId} is incomplete: ${reason}`);
}

type FrameAccounting = { expected: number[]; rendered: number[]; missing: number[]; renderedFiles: string[] };

/** Expected frames vs the frame files present. A Python job decides its own frames, so nothing is "missing" there. */
async function frameAccounting(payload: RenderJobPayload, framesFolder: string): Promise<FrameAccounting> {
  const present = await renderedFrames(framesFolder);
  const rendered = [...present.keys()].sort((a, b) => a - b);
  const renderedFiles = rendered.map((frame) => join(framesFolder, present.get(frame)!));
  if (payload.type === "python") return { expected: rendered, rendered, missing: [], renderedFiles };
  const expected = expandFrames(parseFrameSet(payload.frames));
  return { expected, rendered, missing: expected.filter((frame) => !present.has(frame)), renderedFiles };
}

function formatFrames(frames: readonly number[]): string {
  return frames.length ? formatFrameSet(compressFrames(frames)) : "";
}

async function listFiles(folder: string): Promise<string[]> {
  const entries = await readdir(folder, { recursive: true, withFileTypes: true }).catch(() => []);
  const partial = outputLayout(folder).partial;
  return entries
    .filter((entry) => entry.isFile())
    .map((entry) => join(entry.parentPath, entry.name))
    .filter((file) => !file.startsWith(partial + sep))
    .sort();
}

function toKey(relativePath: string): string {
  return relativePath.split(sep).join("/");
}

type UploadedFile = RenderManifest["files"][number];

/** Uploads the files, except those the render children already copied (see frame-publisher.ts) and that have not changed since. */
async function uploadAll(
  context: ActionContext,
  items: readonly { file: string; key: string }[],
  published: ReturnType<typeof publishedFiles>,
): Promise<UploadedFile[]> {
  const uploaded: UploadedFile[] = [];
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const item = items[next++]!;
      const copy = published.get(item.file);
      const now = copy?.key === item.key ? await stat(item.file).catch(() => undefined) : undefined;
      if (copy && now && now.size === copy.size && now.mtimeMs === copy.mtimeMs) {
        uploaded.push({ key: copy.key, size: copy.size, sha256: copy.sha256 });
      } else {
        await uploadOne(context, item.file, item.key, uploaded);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(PARALLEL_UPLOADS, items.length) }, worker));
  return uploaded.sort((a, b) => (a.key < b.key ? -1 : 1));
}

async function uploadOne(context: ActionContext, file: string, key: string, uploaded: UploadedFile[]): Promise<string> {
  uploaded.push(await context.store.putFile(key, file, { tags: OUTPUT_TAGS, signal: context.signal }));
  return key;
}

async function writeZip(root: string, files: readonly string[], target: string): Promise<void> {
  const zip = new yazl.ZipFile();
  for (const file of files) zip.addFile(file, toKey(relative(root, file)), { compress: false });
  zip.end();
  await pipeline(zip.outputStream, createWriteStream(target));
}

/** Extras (thumbnail, video) must not sink a render: their failure is a warning. */
async function attempt(warnings: string[], what: string, work: () => Promise<void>): Promise<void> {
  try {
    await work();
  } catch (error) {
    warnings.push(`Could not make the ${what}: ${(error as Error).message}`);
  }
}

/** The AWS Batch console page of a job (status, attempts, its CloudWatch log), for failure e-mails. */
export function batchJobLink(env: NodeJS.ProcessEnv, jobId: string | undefined): string | undefined {
  const region = env.AWS_REGION ?? env.AWS_DEFAULT_REGION;
  if (!jobId || !region) return undefined;
  return `https://${region}.console.aws.amazon.com/batch/home?region=${region}#jobs/detail/${jobId}`;
}

/**
 * Links in the e-mail are asked for a week without credentials: CloudFront signed URLs on a farm with a link
 * distribution, else presigned S3, which end with the job's credentials (the e-mail states the earlier time).
 * Where signing fails, the location.
 */
const EMAIL_LINK_SECONDS = 604_800;

type EmailLinks = { readonly outputs: Partial<Record<"zip" | "thumbnail" | "preview", string>>; readonly expiresAt?: string };

async function emailLinks(context: ActionContext, outputs: RenderManifest["outputs"], warnings: string[]): Promise<EmailLinks> {
  const { store } = context;
  const { maker, warning } = await linkMakerFromEnv(store, context.processEnv);
  if (warning) {
    context.log.warn(warning);
    warnings.push(warning);
  }
  const links: Partial<Record<"zip" | "thumbnail" | "preview", string>> = {};
  let expiresAt: Date | undefined;
  for (const name of ["zip", "thumbnail", "preview"] as const) {
    const key = outputs[name];
    if (!key) continue;
    const link = await maker.link(key, EMAIL_LINK_SECONDS).catch(() => undefined);
    links[name] = link?.url ?? store.describe(key);
    if (link?.expiresAt && (expiresAt === undefined || link.expiresAt < expiresAt)) expiresAt = link.expiresAt;
  }
  return { outputs: links, ...(expiresAt ? { expiresAt: expiresAt.toISOString() } : {}) };
}

async function renderReport(
  context: ActionContext,
  payload: RenderJobPayload,
  manifest: RenderManifest,
  summary: RenderSummary,
  logLink: string | undefined,
): Promise<RenderReport> {
  const { store } = context;
  const links = await emailLinks(context, manifest.outputs, manifest.warnings);
  return {
    renderId: payload.renderId,
    project: payload.project.name,
    blendFile: payload.project.blendFile,
    status: manifest.status,
    reason: manifest.reason,
    framesExpected: manifest.frames.expectedCount,
    framesRendered: manifest.frames.renderedCount,
    missingFrames: manifest.frames.missing,
    startedAt: summary.startedAt,
    finishedAt: manifest.finishedAt,
    renderSeconds: summary.renderSeconds,
    outputs: {
      location: store.describe(manifest.outputs.prefix),
      frames: store.describe(`${manifest.outputs.prefix}frames/`),
      ...links.outputs,
      ...(links.expiresAt ? { linksExpireAt: links.expiresAt } : {}),
    },
    warnings: manifest.warnings,
    ...(logLink ? { logLink } : {}),
    ...(manifest.host ? { host: { instanceType: manifest.host.instanceType, spot: manifest.host.spot } } : {}),
    ...(manifest.cost ? { cost: manifest.cost } : {}),
  };
}

async function notifyByEmail(context: ActionContext, report: RenderReport, to: string): Promise<void> {
  const result = await sendRenderNotification(report, to, mailerConfigFromEnv(context.processEnv, context.paths.home));
  context.log.info({ outbox: result.outboxFile, smtp: result.smtp?.messageId, ses: result.ses?.messageId }, "notification sent");
}
