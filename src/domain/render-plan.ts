import { arraySizeFor, expandFrames, parseFrameSet } from "./frames.ts";
import type { RenderJobPayload } from "./render-payload.ts";
import type { JobActionType } from "./job-actions.ts";

/** One job of a render's plan, in AWS Batch's terms (name, array size, dependencies, environment). */
export type PlannedJob = {
  readonly name: string;
  readonly action: JobActionType;
  /** 1 for a single job; 2..10,000 for an array job. */
  readonly arraySize: number;
  readonly dependsOn: readonly string[];
  readonly environment: Readonly<Record<string, string>>;
};

export type PlanInputs = {
  /** Where the project was put in the object store (BUCKET_KEY). */
  readonly bucketKey: string;
  readonly bucketName?: string;
  /** The object store every job uses (BRENDER_STORAGE), when not the machine's default. */
  readonly storage?: string;
};

/**
 * The job compiler: turns one render into the three dependent jobs of the
 * seed's pipeline, copy -> render (array) -> upload. Both backends run this
 * same plan; only how they schedule it differs.
 */
export function compileRenderPlan(payload: RenderJobPayload, inputs: PlanInputs): PlannedJob[] {
  const frameCount = expandFrames(parseFrameSet(payload.frames)).length;
  const arraySize = arraySizeFor(frameCount, payload.split);
  const common: Record<string, string> = {
    BRENDER_JOB_PAYLOAD: JSON.stringify(payload),
    ...(inputs.bucketName ? { BUCKET_NAME: inputs.bucketName } : {}),
    // The store travels with the job, so any runner (or AWS) reads and writes the same place.
    ...(inputs.storage ? { BRENDER_STORAGE: inputs.storage } : {}),
  };
  const copy = `${payload.renderId}-copy`;
  const renderJob = `${payload.renderId}-render`;
  return [
    { name: copy, action: "copy_efs", arraySize: 1, dependsOn: [], environment: { ...common, BUCKET_KEY: inputs.bucketKey } },
    {
      name: renderJob,
      action: payload.type === "python" ? "custom_render_python" : "render",
      arraySize,
      dependsOn: [copy],
      environment: common,
    },
    { name: `${payload.renderId}-upload`, action: "upload_render_output", arraySize: 1, dependsOn: [renderJob], environment: common },
  ];
}
