import { stat } from "node:fs/promises";
import { basename, join, resolve } from "node:path";
import { inspectBlendFile } from "../../blender/inspect.ts";
import { jobBlender } from "../../blender/installations.ts";
import { newRenderId } from "../../domain/ids.ts";
import type { RenderJobPayload } from "../../domain/render-payload.ts";
import { UserInputError } from "../../errors.ts";
import {
  openLocalFarm, renderObjects, resolveRenderId, submitRender,
  type LocalFarm, type ProjectSource, type ProjectUploadSummary,
} from "../../backends/local/farm.ts";
import type { UploadProgress } from "../../storage/content-upload.ts";
import { checkBucketAccess } from "../../storage/s3-store.ts";
import { formatBytes, formatSeconds } from "../render-watch.ts";
import { buildRenderPayload, parseDuration, type RenderCliOptions } from "../render-request.ts";
import { printOutcome, runAndWatch, startBackgroundRunner } from "../render-wait.ts";
import { retryLocalRender } from "../render-control.ts";
import { terminationSignal } from "../run-command.ts";
import { brenderHome } from "../../config.ts";
import { findRenderRecord } from "../../backends/aws/render-record.ts";

export type RenderOptions = RenderCliOptions & {
  blend?: string;
  storage?: string;
  backend: string;
  farm?: string;
  profile?: string;
  region?: string;
  queue: string;
  preset?: string;
  vcpus?: string;
  memory?: string;
  gpus?: string;
  blender?: string;
  dryRun?: boolean;
  attempts: string;
  timeout?: string;
  priority: string;
  detach?: boolean;
  json?: boolean;
};

/** `brender render PATH`: inspect, submit (nothing when the input is bad), then wait with progress or detach. */
export async function runRender(path: string, options: RenderOptions): Promise<number> {
  const started = performance.now();
  const { source, blendPath, blendFile } = await locateProject(path, options.blend);
  const signal = terminationSignal();
  // Locally, --blender picks the installed Blender that inspects and renders; on AWS it names a deployed one.
  const localBlender = options.backend === "aws" ? undefined : options.blender;
  const inspection = await inspectBlendFile(blendPath, { signal, ...(localBlender ? { blender: localBlender } : {}) });
  const payload = buildRenderPayload(options, inspection, { renderId: newRenderId(), blendFile, defaultProject: source.path });
  const attempts = wholeNumber(options.attempts, "--attempts", 1, 10);
  const priority = Number.parseInt(options.priority, 10);
  if (!Number.isFinite(priority)) throw new UserInputError(`--priority "${options.priority}" must be a whole number.`);
  const timeoutSeconds = options.timeout ? parseDuration(options.timeout, "--timeout") : undefined;
  if (inspection.missingFiles.length && !options.json) {
    process.stderr.write(`warning: ${inspection.missingFiles.length} external file(s) are missing and will render pink or empty: ${inspection.missingFiles.map((file) => file.path).join(", ")}\n`);
  }

  if (options.backend === "aws") {
    const { runAwsRender } = await import("./render-aws.ts");
    return runAwsRender({ payload, source, blendPath, options, attempts, priority, timeoutSeconds, started });
  }
  if (options.backend !== "local") throw new UserInputError(`--backend "${options.backend}" is not a backend; use local or aws.`);
  const awsOnly = [
    ["--farm", options.farm], ["--dry-run", options.dryRun], ["--preset", options.preset],
    ["--vcpus", options.vcpus], ["--memory", options.memory], ["--gpus", options.gpus], ["--profile", options.profile], ["--region", options.region],
  ] as const;
  for (const [flag, value] of awsOnly) {
    if (value !== undefined) throw new UserInputError(`${flag} is for --backend aws; add --backend aws or drop ${flag}.`);
  }
  const farm = openLocalFarm(options.storage ? { ...process.env, BRENDER_STORAGE: options.storage } : process.env);
  try {
    // A store we cannot write to fails here, before anything is uploaded or submitted.
    await checkBucketAccess(farm.objects);
    const blender = inspection.renderBlender;
    if (!options.json) process.stderr.write(`${blender.warning ? `warning: ${blender.warning}\n` : ""}Blender ${blender.version} (${blender.path}) renders this file\n`);
    const progress = uploadProgressPrinter(options.json === true);
    const blenderExecutable = await jobBlender(blender.path, process.env);
    const { upload } = await submitRender(farm, payload, source, { attempts, timeoutSeconds, priority, ...(blenderExecutable ? { blenderExecutable } : {}), onUploadProgress: progress.update });
    progress.done(upload);
    return await follow(farm, payload, started, options, upload, {
      blender: { path: blender.path, version: blender.version },
      warnings: blender.warning ? [blender.warning] : [],
    });
  } finally {
    farm.close();
  }
}

/** A one-line upload progress display: files, bytes, rate, ETA (rewritten on a terminal, silent with --json). */
function uploadProgressPrinter(quiet: boolean) {
  const started = performance.now();
  const tty = process.stderr.isTTY === true;
  let last = 0;
  return {
    update(progress: UploadProgress): void {
      const now = performance.now();
      if (quiet || !tty || now - last < 200) return;
      last = now;
      const seconds = (now - started) / 1000;
      const sent = progress.bytesDone - progress.bytesSkipped;
      const rate = seconds > 0 ? sent / seconds : 0;
      const left = progress.bytesTotal - progress.bytesDone;
      const eta = rate > 0 ? ` · ETA ${formatSeconds(left / rate)}` : "";
      process.stderr.write(`\r\x1b[Kuploading project: ${progress.filesDone}/${progress.files} files · ${formatBytes(progress.bytesDone)} of ${formatBytes(progress.bytesTotal)} · ${formatBytes(rate)}/s${eta}`);
    },
    done(upload: ProjectUploadSummary): void {
      if (quiet) return;
      process.stderr.write(`${tty ? "\r\x1b[K" : ""}project: ${upload.files} files, ${formatBytes(upload.bytesUploaded)} uploaded, ${formatBytes(upload.bytesSkipped)} already in the store\n`);
    },
  };
}

/** `brender retry ID`: submits the render again; frames already uploaded are kept, only the rest are rendered. */
export async function runRetry(id: string, options: { detach?: boolean; json?: boolean }): Promise<number> {
  const record = await findRenderRecord(brenderHome(), id);
  if (record) return (await import("./aws-renders.ts")).retryAws(record, options);
  const started = performance.now();
  const farm = openLocalFarm();
  try {
    const payload = retryLocalRender(farm, resolveRenderId(farm, id));
    return await follow(farm, payload, started, options);
  } finally {
    farm.close();
  }
}

async function follow(
  farm: LocalFarm,
  payload: RenderJobPayload,
  started: number,
  options: { detach?: boolean; json?: boolean },
  upload?: ProjectUploadSummary,
  extras?: Parameters<typeof printOutcome>[6],
): Promise<number> {
  if (options.detach) {
    startBackgroundRunner();
    process.stdout.write(options.json ? `${JSON.stringify({ renderId: payload.renderId, status: "SUBMITTED", ...(upload ? { upload } : {}) })}\n` : `${payload.renderId}\n`);
    return 0;
  }
  if (!options.json) process.stderr.write(`render ${payload.renderId}: ${payload.project.name}, frames ${payload.frames}\n`);
  const outcome = await runAndWatch(farm, payload, { quiet: options.json === true, runFarm: true });
  return printOutcome(renderObjects(farm, payload.renderId), payload, outcome, (performance.now() - started) / 1000, options.json === true, upload, extras);
}

async function locateProject(path: string, blend: string | undefined): Promise<{ source: ProjectSource; blendPath: string; blendFile: string }> {
  const absolute = resolve(path);
  const info = await stat(absolute).catch(() => undefined);
  if (!info) throw new UserInputError(`${absolute} does not exist; give a .blend file or a project folder.`);
  if (info.isFile()) {
    if (blend) throw new UserInputError("--blend is for project folders; with a .blend file, drop it.");
    return { source: { kind: "file", path: absolute }, blendPath: absolute, blendFile: basename(absolute) };
  }
  if (!blend) throw new UserInputError(`${absolute} is a folder; say which .blend in it to render with --blend (a path inside the folder).`);
  const blendFile = blend.split("\\").join("/").replace(/^\.\//, "");
  return { source: { kind: "folder", path: absolute }, blendPath: join(absolute, ...blendFile.split("/")), blendFile };
}

function wholeNumber(text: string, option: string, min: number, max: number): number {
  const value = Number(text);
  if (!/^\d+$/.test(text) || value < min || value > max) throw new UserInputError(`${option} "${text}" must be a whole number from ${min} to ${max}.`);
  return value;
}
