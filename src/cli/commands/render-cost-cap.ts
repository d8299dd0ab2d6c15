import { enforceCostCap, parseMaxCost } from "../../cost/cost-cap.ts";
import type { RenderEstimate } from "../../cost/estimate-render.ts";
import { formatDollars as formatUsd } from "../../domain/cost/range.ts";
import type { AwsRenderRequest } from "../../backends/aws/submit-render.ts";
import { terminationSignal } from "../run-command.ts";

/** `render --backend aws --max-cost USD`: the estimate against the cap, before anything is uploaded (exit 2 above it). */
export async function checkAwsCostCap(maxCost: string, request: AwsRenderRequest, quiet: boolean): Promise<RenderEstimate> {
  const maxUsd = parseMaxCost(maxCost);
  if (!quiet) process.stderr.write(`estimating the cost against --max-cost ${formatUsd(maxUsd)} (a few frames rendered here)…\n`);
  const estimate = await enforceCostCap({
    maxUsd,
    payload: request.payload,
    blendPath: request.blendPath,
    queue: request.queue,
    resources: request.resources,
    region: request.region ?? process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION ?? "us-east-1",
    signal: terminationSignal(),
  });
  if (!quiet) process.stderr.write(`estimated cost about ${formatUsd(estimate.usd!.expected)}, within --max-cost ${formatUsd(maxUsd)}\n`);
  return estimate;
}
