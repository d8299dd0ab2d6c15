/** Small pieces of the render views both backends build. */

/** The URL of one output, each path segment escaped. */
export function outputUrl(renderId: string, name: string): string {
  return `/api/renders/${renderId}/outputs/${name.split("/").map(encodeURIComponent).join("/")}`;
}

/** `{ seconds }` of a job that ran and ended (tenths), `{}` otherwise. */
export function jobSeconds(job: { readonly startedAt?: number; readonly stoppedAt?: number }): { seconds?: number } {
  return job.startedAt && job.stoppedAt ? { seconds: Math.round((job.stoppedAt - job.startedAt) / 100) / 10 } : {};
}
