import { inspectBlendFile } from "../../blender/inspect.ts";
import { brenderHome } from "../../config.ts";
import { prewarmLocalRunner } from "../../backends/local/runner.ts";
import { jobBlender } from "../../blender/installations.ts";
import { newRenderId } from "../../domain/ids.ts";
import type { RenderJobPayload } from "../../domain/render-payload.ts";
import type { SceneInspection } from "../../domain/scene-inspection.ts";
import { UserInputError } from "../../errors.ts";
import { openLocalFarm, submitRender, type ProjectSource, type ProjectUploadSummary } from "../../backends/local/farm.ts";
import type { RenderBackend } from "../../renders/backend.ts";
import { LocalRenderBackend } from "../../renders/local.ts";
import type { UploadProgress } from "../../storage/content-upload.ts";
import { checkStoreAccess } from "../../storage/open-store.ts";
import { formatPackingReport, packDependencies, type PackingReport } from "../../packing/pack.ts";
import { formatBytes, formatSeconds } from "../render-watch.ts";
import { checkPythonScript, inputWarnings, locateProject, parseJobOptions } from "../render-input.ts";
import { buildRenderPayload, type RenderCliOptions } from "../../renders/render-request.ts";
import { startBackgroundRunner, watchAndSummarize } from "../render-follow.ts";
import { terminationSignal } from "../run-command.ts";
import { processStartedAt, traceMark } from "../trace.ts";

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
  maxCost?: string;
  estimate?: boolean;
  allowMissing?: boolean;
  pathMap?: string[];
  attempts?: string;
  timeout?: string;
  priority: string;
  detach?: boolean;
  json?: boolean;
};

/** `brender render PATH`: inspect, submit (nothing when the input is bad), then wait with progress or detach. */
export async function runRender(path: string, options: RenderOptions): Promise<number> {
  const started = performance.now();
  traceMark("process_started", processStartedAt());
  // The copy job's thread and the render child's worker load meanwhile (this process's runner starts once the project is uploaded).
  if (options.backend !== "aws" && !options.detach) prewarmLocalRunner();
  // Everything checkable without Blender is checked first, so bad input never leaves anything behind.
  const { attempts, priority, timeoutSeconds } = parseJobOptions(options);
  const { source, blendPath, blendFile } = await locateProject(path, options.blend);
  const python = await checkPythonScript(source, options.python);
  const signal = terminationSignal();
  // Locally, --blender picks the installed Blender that inspects and renders; on AWS it names a deployed one.
  const localBlender = options.backend === "aws" ? undefined : options.blender;
  traceMark("inspection_started");
  const inspection = await inspectBlendFile(blendPath, {
    signal, pathMaps: parsePathMaps(options.pathMap ?? []), cacheHome: brenderHome(), ...(localBlender ? { blender: localBlender } : {}),
  });
  traceMark("inspection_ended");
  const payload = buildRenderPayload({ ...options, python }, inspection, { renderId: newRenderId(), blendFile, defaultProject: source.path });
  // Every file the .blend needs travels with it; a missing one stops here (exit 2) unless --allow-missing.
  const packed = await packDependencies(inspection.dependencies ?? [], source, { allowMissing: options.allowMissing });
  try {
    // Packing's own list of what is missing (it knows --path-map and every UDIM tile and sequence frame).
    const missing = packed.report.missing;
    const warnings = [
      ...(missing.length ? [`${missing.length} external file(s) are missing and will render pink or empty: ${missing.join("; ")}`] : []),
      ...inputWarnings({ ...inspection, missingFiles: [] }, options.frames, options.scene),
      ...(options.backend !== "aws" && inspection.renderBlender.warning ? [inspection.renderBlender.warning] : []),
    ];
    if (!options.json) for (const warning of warnings) process.stderr.write(`warning: ${warning}\n`);
    if (!options.json && packed.report.traced > 0) process.stderr.write(`${formatPackingReport(packed.report, formatBytes)}\n`);
    return await submitAndFollow(packed.source, packed.report, payload, blendPath, options, { attempts, priority, timeoutSeconds, started, warnings, blender: inspection.renderBlender });
  } finally {
    await packed.dispose();
  }
}

async function submitAndFollow(
  source: ProjectSource,
  dependencies: PackingReport,
  payload: RenderJobPayload,
  blendPath: string,
  options: RenderOptions,
  run: {
    attempts: number | undefined; priority: number; timeoutSeconds: number | undefined; started: number; warnings: readonly string[];
    /** The installed Blender that inspected the file and renders it (local renders). */
    blender: SceneInspection["renderBlender"];
  },
): Promise<number> {
  const { attempts, priority, timeoutSeconds, started, warnings } = run;
  if (options.backend === "aws") {
    const { runAwsRender } = await import("./render-aws.ts");
    return runAwsRender({ payload, source, blendPath, options, attempts, priority, timeoutSeconds, started, dependencies });
  }
  if (options.backend !== "local") throw new UserInputError(`--backend "${options.backend}" is not a backend; use local or aws.`);
  const awsOnly = [
    ["--farm", options.farm], ["--dry-run", options.dryRun], ["--preset", options.preset],
    ["--vcpus", options.vcpus], ["--memory", options.memory], ["--gpus", options.gpus], ["--profile", options.profile], ["--region", options.region], ["--max-cost", options.maxCost],
  ] as const;
  for (const [flag, value] of awsOnly) {
    if (value !== undefined) throw new UserInputError(`${flag} is for --backend aws; add --backend aws or drop ${flag}.`);
  }
  const farm = openLocalFarm(options.storage ? { ...process.env, BRENDER_STORAGE: options.storage } : process.env);
  try {
    // A store we cannot write to fails here, before anything is uploaded or submitted.
    await checkStoreAccess(farm.objects);
    const blender = run.blender;
    if (!options.json) process.stderr.write(`Blender ${blender.version} (${blender.path}) renders this file\n`);
    const progress = uploadProgressPrinter(options.json === true);
    const blenderExecutable = await jobBlender(blender.path, process.env);
    const estimated = options.estimate ? await (await import("./render-estimate.ts")).estimateBeforeRender(payload, blendPath, { blender }, options.json === true) : payload;
    traceMark("upload_started");
    const { upload } = await submitRender(farm, estimated, source, { attempts: attempts ?? 1, timeoutSeconds, priority, ...(blenderExecutable ? { blenderExecutable } : {}), onUploadProgress: progress.update });
    progress.done(upload);
    traceMark("submitted");
    return await follow(new LocalRenderBackend(farm), estimated, started, options, { ...upload, ...(dependencies.traced > 0 ? { dependencies } : {}) }, warnings, { path: blender.path, version: blender.version });
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
  const started = performance.now();
  // Loaded here: it brings the AWS backend, which a local render never needs.
  const { withRenders } = await import("../open-renders.ts");
  return withRenders(async (renders) => {
    const { backend, renderId } = await renders.find(id);
    await backend.retry(renderId);
    const payload = await backend.payload(renderId);
    return follow(backend, payload, started, options);
  });
}

/** After submitting: return at once (--detach; a background runner works for the local farm) or follow the render to its end. */
async function follow(
  backend: RenderBackend,
  payload: RenderJobPayload,
  started: number,
  options: { detach?: boolean; json?: boolean },
  upload?: ProjectUploadSummary,
  warnings: readonly string[] = [],
  blender?: { readonly path: string; readonly version: string },
): Promise<number> {
  if (options.detach) {
    if (backend.runJobs) startBackgroundRunner();
    const where = await backend.where(payload.renderId);
    const farm = where.backend.startsWith("aws:") ? { farm: where.backend.slice("aws:".length) } : {};
    process.stdout.write(options.json ? `${JSON.stringify({ renderId: payload.renderId, status: "SUBMITTED", ...farm, ...(upload ? { upload } : {}), ...(warnings.length ? { warnings } : {}) })}\n` : `${payload.renderId}\n`);
    return 0;
  }
  if (!options.json) process.stderr.write(`render ${payload.renderId}${(await backend.where(payload.renderId)).words}: ${payload.project.name}, frames ${payload.frames}\n`);
  return watchAndSummarize(backend, payload.renderId, { json: options.json === true, started, runJobs: true, ...(upload ? { upload } : {}), warnings, ...(blender ? { blender } : {}) });
}

/** `--path-map FROM=TO` pairs. */
function parsePathMaps(pairs: readonly string[]): [string, string][] {
  return pairs.map((pair) => {
    const at = pair.indexOf("=");
    if (at <= 0 || at === pair.length - 1) throw new UserInputError(`--path-map "${pair}" must look like FROM=TO, e.g. 'C:\\textures=/mnt/textures'.`);
    return [pair.slice(0, at), pair.slice(at + 1)];
  });
}
