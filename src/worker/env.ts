import { z } from "zod";
import { JOB_ACTION_TYPES } from "../domain/job-actions.ts";
import { UserInputError } from "../errors.ts";

const optionalText = z.string().trim().min(1).optional().catch(undefined);
const optionalIndex = (name: string) =>
  z
    .string()
    .trim()
    .regex(/^\d+$/, `${name} must be a whole number of 0 or more`)
    .transform(Number)
    .optional();
/** "1"/"true" turn a switch on; anything else (or unset) leaves it off. */
const optionalSwitch = z
  .string()
  .optional()
  .transform((value) => value !== undefined && ["1", "true", "yes"].includes(value.trim().toLowerCase()));

/**
 * The worker's environment: the seed's variables (the same names Brender
 * Studio's container uses, so one image serves AWS Batch and a laptop) plus
 * Brender's own. Variables not listed are ignored.
 */
export const workerEnvSchema = z.object({
  JOB_ACTION_TYPE: z.preprocess((value) => (value === "" ? undefined : value), z.enum(JOB_ACTION_TYPES, {
    error: (issue) =>
      issue.input === undefined
        ? `JOB_ACTION_TYPE is not set; set it to one of ${JOB_ACTION_TYPES.join(", ")}`
        : `JOB_ACTION_TYPE="${String(issue.input)}" is not a job type; use one of ${JOB_ACTION_TYPES.join(", ")}`,
  })),
  /** The shared work folder (EFS on AWS). Defaults to $BRENDER_HOME/work. */
  EFS_BLENDER_FOLDER_PATH: optionalText,
  BLENDER_EXECUTABLE: optionalText,
  BUCKET_NAME: optionalText,
  /** Object key of the project: a .blend, a .zip/.tar.gz/.tar archive, or a folder prefix ending in "/". */
  BUCKET_KEY: optionalText,
  EFS_BLENDER_FILE_PATH: optionalText,
  EFS_BLENDER_OUTPUT_FOLDER_PATH: optionalText,
  AWS_BATCH_JOB_ARRAY_INDEX: optionalIndex("AWS_BATCH_JOB_ARRAY_INDEX"),
  AWS_BATCH_JOB_ARRAY_SIZE: optionalIndex("AWS_BATCH_JOB_ARRAY_SIZE"),
  /** The render job payload as JSON text, or the path of a file holding it. */
  BRENDER_JOB_PAYLOAD: optionalText,
  BRENDER_JOB_PAYLOAD_FILE: optionalText,
  /** Set by the local farm for a job that runs although a dependency failed: "<job name>: <reason>". */
  BRENDER_UPSTREAM_FAILURE: optionalText,
  /** "1": a render that asks for the GPU fails when Blender finds none usable, instead of using the CPU (AWS GPU queues). */
  BRENDER_REQUIRE_GPU: optionalSwitch,
  /** How many Blender processes a render child runs at once (default: chosen from the cores, see render-processes.ts). */
  BRENDER_RENDER_PROCESSES: z
    .string()
    .trim()
    .regex(/^[1-9]\d*$/, "BRENDER_RENDER_PROCESSES must be a whole number of 1 or more")
    .transform(Number)
    .optional(),
  /** "1": render jobs copy their events file into the object store while they run (for monitors without the work folder). */
  BRENDER_PUBLISH_EVENTS: optionalSwitch,
});

export type WorkerEnv = z.infer<typeof workerEnvSchema>;

export function parseWorkerEnv(env: NodeJS.ProcessEnv): WorkerEnv {
  const parsed = workerEnvSchema.safeParse(env);
  if (parsed.success) return parsed.data;
  throw new UserInputError(`Worker environment: ${parsed.error.issues.map((issue) => issue.message).join("; ")}`);
}
