/**
 * A render's cost in words for people: "estimated …, actual …", as `status`,
 * the e-mail, chat messages and the render page show it. Pure and free of
 * zod (the web UI bundles it).
 */
import { formatDuration } from "../duration.ts";
import type { ActualCostRecord, RenderCostRecord, StoredEstimate } from "./cost-record.ts";
import { formatDollars, type Range } from "./range.ts";

export function formatCpuHours(hours: number): string {
  return `${hours < 1 ? hours.toFixed(4) : hours.toFixed(2)} CPU-hours`;
}

/** "about $0.0123 ($0.0100–$0.0200)". */
function rangeWords(range: Range, format: (value: number) => string): string {
  return range.low === range.high ? format(range.expected) : `about ${format(range.expected)} (${format(range.low)}–${format(range.high)})`;
}

/** The estimate in a few words: "3 min 20 s, about $0.0123 ($0.01–$0.02) on spot-cpu". */
export function estimateWords(estimate: StoredEstimate): string {
  const time = rangeWords(estimate.seconds, formatDuration);
  if (estimate.usd) return `${time}, ${rangeWords(estimate.usd, formatDollars)}${estimate.queue ? ` on ${estimate.queue}` : ""}`;
  if (estimate.cpuHours) return `${time}, ${formatCpuHours(estimate.cpuHours.expected)}`;
  return time;
}

/** The actual cost in a few words: "$0.0150 (1.95 child-hours, 3 attempts)" or "0.0123 CPU-hours in 2 min". */
export function actualWords(actual: ActualCostRecord): string {
  if (actual.kind === "local") return `${formatCpuHours(actual.cpuHours)} in ${formatDuration(actual.wallSeconds)} on ${actual.cores} cores`;
  const hosts = actual.attemptsWithHost < actual.attempts ? `, ${actual.attempts - actual.attemptsWithHost} priced at the queue's range` : "";
  return `${rangeWords(actual.usd, formatDollars)} (${actual.childHours.toFixed(3)} child-hours, ${actual.attempts} attempt${actual.attempts === 1 ? "" : "s"}${hosts})`;
}

/** One line for people: "estimated …, actual …"; undefined when there is neither. */
export function costLine(cost: RenderCostRecord | undefined): string | undefined {
  if (!cost) return undefined;
  const parts = [
    ...(cost.estimate ? [`estimated ${estimateWords(cost.estimate)}`] : []),
    ...(cost.actual ? [`actual ${actualWords(cost.actual)}`] : cost.actualError ? [`actual unknown: ${cost.actualError}`] : []),
  ];
  return parts.length ? parts.join("; ") : undefined;
}
