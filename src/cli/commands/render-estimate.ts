import { estimateRender, type AwsTarget, type RenderEstimate } from "../../cost/estimate-render.ts";
import { storedEstimateOf } from "../../domain/cost/cost-record.ts";
import { estimateWords } from "../../domain/cost/cost-words.ts";
import type { RenderJobPayload } from "../../domain/render-payload.ts";
import { terminationSignal } from "../run-command.ts";

/**
 * `render --estimate`: a sample rendered here before submitting, as
 * `brender estimate` does, kept with the render so `status`, the e-mail and
 * the render page show it next to the actual figures.
 */
export async function estimateBeforeRender(
  payload: RenderJobPayload,
  blendPath: string,
  target: { readonly aws?: AwsTarget; readonly blender?: { readonly path: string; readonly version: string } },
  quiet: boolean,
): Promise<RenderJobPayload> {
  if (!quiet) process.stderr.write("estimating (a few frames rendered here)…\n");
  const estimate = await estimateRender({ blendPath, payload, inspectSeconds: 0, signal: terminationSignal(), ...target });
  return withEstimate(payload, estimate, quiet);
}

/** The payload carrying `estimate`, said on stderr unless quiet. */
export function withEstimate(payload: RenderJobPayload, estimate: RenderEstimate, quiet: boolean): RenderJobPayload {
  const stored = storedEstimateOf(estimate);
  if (!quiet) process.stderr.write(`estimated: ${estimateWords(stored)}\n`);
  return { ...payload, estimate: stored };
}
