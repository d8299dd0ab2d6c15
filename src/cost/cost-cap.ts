/**
 * `--max-cost USD` at submit: estimate the render (a sample rendered here)
 * and refuse it, before anything is uploaded or submitted, when the expected
 * cost is above the cap.
 */
import { formatDollars as formatUsd } from "../domain/cost/range.ts";
import type { QueueKind } from "../backends/aws/farm-resources.ts";
import type { ServerResources } from "../backends/aws/server-sizes.ts";
import type { RenderJobPayload } from "../domain/render-payload.ts";
import { UserInputError } from "../errors.ts";
import { FARM_DEFAULTS } from "../infra/farm-props.ts";
import { queueOffer } from "./queue-price.ts";
import type { Prices } from "../domain/cost/render-cost.ts";
import { estimateRender, type RenderEstimate } from "./estimate-render.ts";

/** Reads `--max-cost`: a positive amount of US dollars ("$" allowed), or "none" (no cap, not even the farm's). */
export function parseMaxCostOption(text: string): number | "none" {
  return text.trim().toLowerCase() === "none" ? "none" : parseMaxCost(text);
}

/** Reads a positive amount of US dollars, "$" allowed. */
export function parseMaxCost(text: string): number {
  const value = Number(text.trim().replace(/^\$/, ""));
  if (!Number.isFinite(value) || value <= 0) {
    throw new UserInputError(`--max-cost "${text}" is not an amount of US dollars; give a positive number, e.g. --max-cost 5 or --max-cost 12.50.`);
  }
  return value;
}

export type CostCapCheck = {
  readonly maxUsd: number;
  /** Where the cap came from, for the refusal: "--max-cost" (the default) or the farm's default cap. */
  readonly capName?: string;
  readonly payload: RenderJobPayload;
  readonly blendPath: string;
  readonly queue: QueueKind;
  readonly resources: ServerResources;
  /** The prices to estimate with (live when AWS answered, else the region for the bundled table). */
  readonly prices: Prices;
  readonly signal?: AbortSignal;
};

/** Estimates the render on its queue; throws UserInputError (exit 2) naming the estimate and the cap when it is above. */
export async function enforceCostCap(check: CostCapCheck): Promise<RenderEstimate> {
  const estimate = await estimateRender({
    blendPath: check.blendPath,
    payload: check.payload,
    inspectSeconds: 0,
    aws: {
      queue: { kind: check.queue, ...queueOffer(check.queue) },
      child: { vcpus: check.resources.vcpus, gpus: check.resources.gpus },
      queueMaxVcpus: FARM_DEFAULTS.maxVcpus,
      prices: check.prices,
      split: check.payload.split,
    },
    ...(check.signal ? { signal: check.signal } : {}),
  });
  const usd = estimate.usd!;
  // The expected figure, not the high bound: the cap is a budget, and the range is printed with it.
  if (usd.expected > check.maxUsd) {
    throw new UserInputError(
      `The render is estimated at about ${formatUsd(usd.expected)} (${formatUsd(usd.low)} to ${formatUsd(usd.high)}) on ${check.queue}, above ${check.capName ?? "--max-cost"} ${formatUsd(check.maxUsd)}; nothing was uploaded or submitted. Raise --max-cost (or lift it with --max-cost none), or pick a cheaper queue or size, or fewer frames or samples.`,
    );
  }
  return estimate;
}
