import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { BPY_SCRIPTS, runBlender, describeExit } from "../../blender/runner.ts";
import { dependencyMapOf } from "./dependency-map.ts";
import { compressFrames, formatFrameSet } from "../../domain/frames.ts";
import { eventFileName, outputLayout } from "../../domain/layout.ts";
import { JobFailedError, UserInputError } from "../../errors.ts";
import { eventSink } from "../events.ts";
import { arrayIndex, renderFolders, requirePayload, type ActionContext } from "../context.ts";
import { assertBlendFileReadable, assertFileExists } from "./files.ts";
import type { RenderJobPayload } from "../../domain/render-payload.ts";
import { withPublishedEvents } from "../publish-events.ts";
import { childShare, publishTarget } from "./render.ts";

/**
 * The `custom_render_python` action: runs the user's own bpy script against
 * the .blend, in the render slot of the pipeline. The script gets the
 * documented variables (see docs below) and decides what to render; its exit
 * code is the job's (an uncaught Python error counts as failure).
 */
export async function customRenderPython(context: ActionContext): Promise<void> {
  const payload = await requirePayload(context.env, "custom_render_python");
  if (!payload.python) {
    throw new UserInputError('custom_render_python needs "python": { "script": "relative/path.py" } in the payload.');
  }
  const python = payload.python;
  const index = arrayIndex(context.env);
  const { layout } = renderFolders(context, payload);
  await withPublishedEvents(context, publishTarget(layout.events, payload, index), () => runScript(context, payload, python, index));
}

type PythonJob = NonNullable<RenderJobPayload["python"]>;

async function runScript(context: ActionContext, payload: RenderJobPayload, python: PythonJob, index: number): Promise<void> {
  const { layout, blendFile, output } = renderFolders(context, payload);
  const script = join(layout.project, ...python.script.split("/"));
  const emit = eventSink(join(layout.events, eventFileName(index)), context.stdout);
  const share = childShare(payload, index, context.env.AWS_BATCH_JOB_ARRAY_SIZE);
  const frames = share.length ? formatFrameSet(compressFrames(share)) : "";
  emit({ type: "child_started", child: index, frames, frameCount: share.length });
  await assertBlendFileReadable(blendFile);
  await assertFileExists(script, "The Python script");
  await mkdir(outputLayout(output).frames, { recursive: true });

  const engine = payload.render?.engine;
  const scriptEnv: NodeJS.ProcessEnv = {
    ...context.processEnv,
    ...python.env,
    EFS_BLENDER_FILE_PATH: blendFile,
    EFS_BLENDER_OUTPUT_FOLDER_PATH: output,
    BRENDER_FRAMES_FOLDER: outputLayout(output).frames,
    BRENDER_FRAMES: frames,
    BRENDER_RENDER_ID: payload.renderId,
    BUCKET_NAME: context.env.BUCKET_NAME ?? "",
    AWS_BATCH_JOB_ARRAY_INDEX: String(index),
    AWS_BATCH_JOB_ARRAY_SIZE: String(context.env.AWS_BATCH_JOB_ARRAY_SIZE ?? 1),
    USE_GPU: payload.gpu ? "True" : "False",
    USE_EEVEE: engine === "BLENDER_EEVEE" || engine === "BLENDER_EEVEE_NEXT" ? "True" : "False",
  };
  // The packing map (when the project came with one) is applied first, so the script sees every file where it was uploaded.
  const { dependencyMap } = await dependencyMapOf(layout.project);
  const remap = dependencyMap ? ["--python", join(BPY_SCRIPTS, "remap_paths.py")] : [];
  if (dependencyMap) Object.assign(scriptEnv, { BRENDER_DEPENDENCY_MAP: dependencyMap.file, BRENDER_PROJECT_ROOT: dependencyMap.projectRoot });
  const exit = await runBlender(
    ["-b", blendFile, "--factory-startup", "-noaudio", "--python-exit-code", "1", ...remap, "--python", script],
    {
      executable: context.env.BLENDER_EXECUTABLE,
      env: scriptEnv,
      cwd: layout.project,
      logFile: join(layout.logs, `render-${index}.log`),
      signal: context.signal,
      onLine: (line) => context.stdout(`${line}\n`),
    },
  );
  if (exit.exitCode === 0) {
    emit({ type: "child_finished", child: index, status: "succeeded", framesDone: share.length, seconds: exit.seconds });
    return;
  }
  const reason = `The Python script ${python.script} failed: ${describeExit(exit)}. Last output: ${exit.tail.slice(-3).join(" | ")}`;
  emit({ type: "child_finished", child: index, status: "failed", framesDone: 0, seconds: exit.seconds, reason });
  throw new JobFailedError(reason);
}
