import { readFile } from "node:fs/promises";
import { join } from "node:path";
import type { Logger } from "pino";
import { brenderPaths, type BrenderPaths } from "../config.ts";
import { workLayout, type WorkLayout } from "../domain/layout.ts";
import { parseRenderPayloadJson, type RenderJobPayload } from "../domain/render-payload.ts";
import { UserInputError } from "../errors.ts";
import type { ObjectStore } from "../storage/object-store.ts";
import type { WorkerEnv } from "./env.ts";

/** Everything one job action needs; built once by the worker entry point. */
export type ActionContext = {
  readonly env: WorkerEnv;
  /** The whole process environment, passed on to Blender. */
  readonly processEnv: NodeJS.ProcessEnv;
  readonly paths: BrenderPaths;
  /** The shared work folder (EFS_BLENDER_FOLDER_PATH). */
  readonly workFolder: string;
  readonly store: ObjectStore;
  readonly log: Logger;
  /** Aborted when the job is terminated (SIGTERM/SIGINT). */
  readonly signal: AbortSignal;
  /** Writes a line to stdout (progress events go through here). */
  readonly stdout: (line: string) => void;
};

export function workFolderOf(env: WorkerEnv, processEnv: NodeJS.ProcessEnv): string {
  return env.EFS_BLENDER_FOLDER_PATH ?? brenderPaths(processEnv).work;
}

/** Reads the payload from BRENDER_JOB_PAYLOAD (JSON) or BRENDER_JOB_PAYLOAD_FILE. */
export async function loadPayload(env: WorkerEnv): Promise<RenderJobPayload | undefined> {
  if (env.BRENDER_JOB_PAYLOAD) return parseRenderPayloadJson(env.BRENDER_JOB_PAYLOAD);
  if (!env.BRENDER_JOB_PAYLOAD_FILE) return undefined;
  let text: string;
  try {
    text = await readFile(env.BRENDER_JOB_PAYLOAD_FILE, "utf8");
  } catch (error) {
    throw new UserInputError(
      `Cannot read BRENDER_JOB_PAYLOAD_FILE "${env.BRENDER_JOB_PAYLOAD_FILE}": ${(error as Error).message}`,
    );
  }
  return parseRenderPayloadJson(text);
}

export async function requirePayload(env: WorkerEnv, action: string): Promise<RenderJobPayload> {
  const payload = await loadPayload(env);
  if (!payload) {
    throw new UserInputError(
      `${action} needs the render job payload: set BRENDER_JOB_PAYLOAD (JSON) or BRENDER_JOB_PAYLOAD_FILE (a path).`,
    );
  }
  return payload;
}

/** The render's folders, honouring the seed's explicit file and output paths when set. */
export function renderFolders(context: ActionContext, payload: RenderJobPayload) {
  const layout: WorkLayout = workLayout(context.workFolder, payload.renderId);
  return {
    layout,
    blendFile: context.env.EFS_BLENDER_FILE_PATH ?? join(layout.project, ...payload.project.blendFile.split("/")),
    output: context.env.EFS_BLENDER_OUTPUT_FOLDER_PATH ?? layout.output,
  };
}

/** Which child of the array job this is (0 when not an array job). */
export function arrayIndex(env: WorkerEnv): number {
  return env.AWS_BATCH_JOB_ARRAY_INDEX ?? 0;
}
