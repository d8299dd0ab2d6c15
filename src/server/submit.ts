import { basename } from "node:path";
import { submitRender } from "../backends/local/farm.ts";
import { inspectBlendFile } from "../blender/inspect.ts";
import { jobBlender } from "../blender/installations.ts";
import { newRenderId } from "../domain/ids.ts";
import type { RenderJobPayload } from "../domain/render-payload.ts";
import type { SceneInspection } from "../domain/scene-inspection.ts";
import { UserInputError } from "../errors.ts";
import { buildPayload, parseDuration } from "../renders/render-request.ts";
import { apiField, SettingError } from "../renders/render-settings.ts";
import { checkBucketAccess } from "../storage/s3-store.ts";
import { projectRootOf } from "../packing/pack.ts";
import { describeNotInUpload, notInUpload } from "../packing/upload-check.ts";
import { unmappedDependencies } from "../packing/uploaded-map.ts";
import { checkFarmSettings, LOCAL_FARM, submitToAwsFarm } from "./aws/submit.ts";
import type { ServerContext } from "./context.ts";
import { ApiError, apiFieldNames } from "./http-errors.ts";
import type { RenderSettings } from "./schemas.ts";
import { projectOf, type StoredUpload } from "./uploads.ts";

/**
 * Inspects the uploaded project, builds the payload and submits the render's
 * jobs to the server's local farm, or to the AWS farm `settings.farm` names.
 * Bad input throws before anything is submitted. Returns the render's id and,
 * for AWS, the warnings the CLI would print.
 */
export async function submitUploadedRender(context: ServerContext, upload: StoredUpload, settings: RenderSettings): Promise<{ renderId: string; warnings: string[] }> {
  return withUploadedProject(context, upload, settings, async ({ source, blendPath, inspection, payload }) => {
    const timeoutSeconds = settings.timeout === undefined ? undefined : typeof settings.timeout === "number" ? settings.timeout : parseDuration(settings.timeout, "settings.timeout");
    if (settings.farm !== LOCAL_FARM) return await submitToAwsFarm(settings, { payload, source, blendPath, timeoutSeconds }, context.home);
    // A store we cannot write to fails here, before anything is uploaded or submitted.
    await checkBucketAccess(context.farm.objects);
    const blender = inspection.renderBlender;
    const blenderExecutable = await jobBlender(blender.path, context.env);
    await submitRender(context.farm, payload, source, { attempts: settings.attempts ?? 1, priority: settings.priority, timeoutSeconds, ...(blenderExecutable ? { blenderExecutable } : {}) });
    return {
      renderId: payload.renderId,
      warnings: [...(blender.warning ? [blender.warning] : []), ...describeNotInUpload(notInUpload(await unmappedDependencies(inspection.dependencies ?? [], projectRootOf(source)), projectRootOf(source)))],
    };
  });
}

/** An uploaded project inspected and turned into the payload its settings ask for. */
export type UploadedProject = {
  readonly source: Awaited<ReturnType<typeof projectOf>>["source"];
  readonly blendPath: string;
  readonly blendFile: string;
  readonly inspection: SceneInspection;
  /** Seconds the inspection took (an estimate counts it: a render pays it too). */
  readonly inspectSeconds: number;
  readonly payload: RenderJobPayload;
};

/**
 * Inspects the upload, builds the payload (errors name settings.<field>) and
 * runs `work` on it; bad input anywhere becomes a 400 naming the file as the
 * client knows it, never where the server keeps it.
 */
export async function withUploadedProject<T>(context: ServerContext, upload: StoredUpload, settings: RenderSettings, work: (project: UploadedProject) => Promise<T>): Promise<T> {
  checkFarmSettings(settings);
  const { source, blendPath, blendFile } = await projectOf(upload, settings.blend, context.uploadLimits);
  try {
    const local = settings.farm === LOCAL_FARM;
    const inspectStarted = performance.now();
    const inspection = await inspectBlendFile(blendPath, { env: context.env, ...(local && settings.blender ? { blender: settings.blender } : {}) });
    const inspectSeconds = (performance.now() - inspectStarted) / 1000;
    // The body's settings are the render settings as they are: no flags in between, errors name settings.<field>.
    const built = buildPayload(settings, inspection, {
      renderId: newRenderId(),
      blendFile,
      defaultProject: upload.kind === "zip" ? upload.name.replace(/\.zip$/i, "") : basename(upload.name),
    }, apiField);
    // The estimate the form made (POST /api/estimate) travels with the render, to be shown next to the actual cost.
    const payload = settings.estimate ? { ...built, estimate: settings.estimate } : built;
    return await work({ source, blendPath, blendFile, inspection, inspectSeconds, payload });
  } catch (error) {
    if (error instanceof UserInputError) {
      // Name the file as the client knows it, not by where the server keeps it; the server's AWS profile is not a setting.
      const clientWords = error.message.split(blendPath).join(upload.kind === "blend" ? upload.name : blendFile).replaceAll("--profile", "the server's AWS_PROFILE")
        // server-sizes.ts calls the CLI's --preset "--size".
        .replaceAll("--size", "--preset");
      if (error instanceof SettingError) throw new ApiError(400, clientWords, error.setting ? apiField(error.setting) : undefined);
      // What AWS submission and sizing say is worded for the CLI (their flags): named as settings here.
      throw new ApiError(400, apiFieldNames(clientWords), fieldOf(error.message));
    }
    throw error;
  }
}

/** The settings field a CLI-worded message is about, when it names one. */
function fieldOf(message: string): string | undefined {
  // Farm lookups name the farm first, and --region only as a hint.
  if (/^No AWS region/.test(message)) return "settings.region";
  if (/^(No Brender farm|Brender farm|Farm name)/.test(message)) return "settings.farm";
  const flag = /--([a-z]+(?:-[a-z]+)*)/.exec(message)?.[1];
  if (flag) return `settings.${flag.replace(/-([a-z])/g, (_, letter: string) => letter.toUpperCase())}`;
  const payloadField = /^Invalid render job payload: ([A-Za-z0-9_.]+):/.exec(message)?.[1];
  return payloadField ? `payload.${payloadField}` : undefined;
}
