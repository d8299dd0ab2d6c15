/** Small pieces of the render views both backends build. */
import { costOfRender, type RenderCostRecord, type StoredEstimate } from "../domain/cost/cost-record.ts";
import type { RenderManifest } from "../domain/render-manifest.ts";

/** The URL of one output, each path segment escaped. */
export function outputUrl(renderId: string, name: string): string {
  return `/api/renders/${renderId}/outputs/${name.split("/").map(encodeURIComponent).join("/")}`;
}

/** `{ seconds }` of a job that ran and ended (tenths), `{}` otherwise. */
export function jobSeconds(job: { readonly startedAt?: number; readonly stoppedAt?: number }): { seconds?: number } {
  return job.startedAt && job.stoppedAt ? { seconds: Math.round((job.stoppedAt - job.startedAt) / 100) / 10 } : {};
}

/** `{ cost }` of a render: its manifest's once ended, else the estimate it was submitted with; `{}` when neither. */
export function costView(estimate: StoredEstimate | undefined, manifest: RenderManifest | null | undefined): { cost?: RenderCostRecord } {
  const cost = costOfRender(estimate, manifest);
  return cost ? { cost } : {};
}
