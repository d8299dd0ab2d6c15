/**
 * The actual cost of an AWS render from its described jobs (Batch's own
 * start and stop times per child and attempt), for `status`.
 */
import type { RenderDescription } from "../backends/aws/monitor.ts";
import type { AwsRenderRecord } from "../backends/aws/render-record.ts";
import { DEFAULT_SERVER_PRESET, SERVER_PRESETS } from "../backends/aws/server-sizes.ts";
import { actualCost, type ActualCost, type BilledAttempt } from "../domain/cost/actual-cost.ts";
import { FARM_DEFAULTS } from "../infra/farm-props.ts";

/**
 * Prices every attempt of the render's children (described with children)
 * and of its copy and upload jobs. Hosts are not reported per attempt yet,
 * so attempts are priced at the queue's range.
 */
export function actualCostOfRender(record: AwsRenderRecord, described: RenderDescription, now = Date.now()): ActualCost {
  const queue = record.submitOptions?.queue ?? "spot-cpu";
  const resources = record.submitOptions?.resources ?? SERVER_PRESETS[DEFAULT_SERVER_PRESET];
  const renderAttempts: BilledAttempt[] = [];
  const ioAttempts: BilledAttempt[] = [];
  for (const job of described.jobs) {
    const isRender = job.action === "render" || job.action === "custom_render_python";
    const attempts = isRender && job.children ? job.children.flatMap((child) => attemptsOf(child)) : attemptsOf(job);
    (isRender ? renderAttempts : ioAttempts).push(...attempts);
  }
  return actualCost({
    renderAttempts,
    ioAttempts,
    queue: { spot: queue.startsWith("spot-"), instanceTypes: queue.endsWith("-gpu") ? FARM_DEFAULTS.gpuInstanceTypes : FARM_DEFAULTS.cpuInstanceTypes },
    child: { vcpus: resources.vcpus, gpus: resources.gpus },
    prices: { region: record.region },
    now,
  });
}

/** A job's (or child's) finished attempts, plus the running one when Batch has not listed it as an attempt yet. */
function attemptsOf(job: { readonly startedAt?: number; readonly stoppedAt?: number; readonly attempts: readonly { readonly startedAt?: number; readonly stoppedAt?: number }[] }): BilledAttempt[] {
  const attempts: BilledAttempt[] = job.attempts.map((a) => ({ ...(a.startedAt ? { startedAt: a.startedAt } : {}), ...(a.stoppedAt ? { stoppedAt: a.stoppedAt } : {}) }));
  const last = job.attempts.at(-1);
  if (job.startedAt !== undefined && job.stoppedAt === undefined && (last === undefined || last.startedAt !== job.startedAt)) {
    attempts.push({ startedAt: job.startedAt });
  }
  return attempts;
}
