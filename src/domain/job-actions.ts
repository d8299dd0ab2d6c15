/** Every job type the one worker entry point runs, chosen by JOB_ACTION_TYPE. */
export const JOB_ACTION_TYPES = ["copy_efs", "render", "custom_render_python", "upload_render_output", "remove_efs"] as const;
export type JobActionType = (typeof JOB_ACTION_TYPES)[number];
