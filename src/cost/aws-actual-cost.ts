/**
 * The actual cost of an AWS render from its described jobs (Batch's own
 * start and stop times per child and attempt), for `status`.
 */
import type { RenderDescription } from "../backends/aws/monitor.ts";
import type { AwsRenderRecord } from "../backends/aws/render-record.ts";
import { DEFAULT_SERVER_PRESET, SERVER_PRESETS } from "../backends/aws/server-sizes.ts";
import { actualCost, type ActualCost, type BilledAttempt } from "../domain/cost/actual-cost.ts";
import { billedAttemptsOf } from "../domain/cost/running-cap.ts";
import { queueOffer } from "./queue-price.ts";

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
    const attempts = isRender && job.children ? job.children.flatMap((child) => billedAttemptsOf(child)) : billedAttemptsOf(job);
    (isRender ? renderAttempts : ioAttempts).push(...attempts);
  }
  return actualCost({
    renderAttempts,
    ioAttempts,
    queue: queueOffer(queue),
    child: { vcpus: resources.vcpus, gpus: resources.gpus },
    prices: { region: record.region },
    now,
  });
}
