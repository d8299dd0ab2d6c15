import { enforceCostCap, parseMaxCostOption } from "../../cost/cost-cap.ts";
import { storedEstimateOf } from "../../domain/cost/cost-record.ts";
import { formatDollars as formatUsd } from "../../domain/cost/range.ts";
import { findFarm } from "../../backends/aws/farm-resources.ts";
import type { AwsRenderRequest } from "../../backends/aws/submit-render.ts";
import { terminationSignal } from "../run-command.ts";
import { queuePrices } from "../../cost/live-prices.ts";
import { queueOffer } from "../../cost/queue-price.ts";

/**
 * The render's cost cap: `--max-cost USD`, `--max-cost none`, or the farm's
 * default (`farm deploy --max-cost`). A cap is checked against the estimate
 * before anything is uploaded (exit 2 above it) and travels with the render,
 * whose children stop it once their spend passes it.
 */
export async function resolveAwsCostCap(maxCost: string | undefined, request: AwsRenderRequest, quiet: boolean): Promise<AwsRenderRequest> {
  const say = (line: string) => quiet || process.stderr.write(`${line}\n`);
  const asked = maxCost === undefined ? undefined : parseMaxCostOption(maxCost);
  if (asked === "none") {
    say("--max-cost none: no cost cap for this render (not even the farm's default)");
    return { ...request, maxCost: "none" };
  }
  let maxUsd = asked;
  let source = "--max-cost";
  if (maxUsd === undefined) {
    const farm = await findFarm(request.farm, { region: request.region, profile: request.profile });
    if (farm.maxCostUsd === undefined) return request;
    maxUsd = farm.maxCostUsd;
    source = `farm "${farm.name}"'s default cap`;
    say(`cost cap ${formatUsd(maxUsd)}: ${source} (--max-cost USD or --max-cost none changes it for this render)`);
  }
  say(`estimating the cost against ${source} ${formatUsd(maxUsd)} (a few frames rendered here)…`);
  const region = request.region ?? process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION ?? "us-east-1";
  const live = await queuePrices(queueOffer(request.queue), region);
  const estimate = await enforceCostCap({
    maxUsd,
    capName: source,
    payload: request.payload,
    blendPath: request.blendPath,
    queue: request.queue,
    resources: request.resources,
    prices: live.prices,
    signal: terminationSignal(),
  });
  say(`estimated cost about ${formatUsd(estimate.usd!.expected)}, within ${source} ${formatUsd(maxUsd)}; the render stops if its spend passes it (prices: ${live.notes.join("; ")})`);
  // The running cap prices child-hours as the estimate did; the estimate goes with the render, to be shown next to its actual cost.
  return { ...request, payload: { ...request.payload, estimate: storedEstimateOf(estimate) }, maxCost: maxUsd, prices: live.prices };
}
