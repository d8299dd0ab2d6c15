/**
 * A farm queue's offer and price for one render child (the farm's default
 * instance families), shared by the estimate, the actual cost and the cap.
 */
import type { QueueKind } from "../backends/aws/farm-resources.ts";
import type { ServerResources } from "../backends/aws/server-sizes.ts";
import { childHourPrice, type Prices, type QueueOffer } from "../domain/cost/render-cost.ts";
import type { CostCapSetting } from "../domain/cost/running-cap.ts";
import { FARM_DEFAULTS } from "../infra/farm-props.ts";

/** What a farm queue of this kind offers (the farm's default instance families). */
export function queueOffer(queue: QueueKind): QueueOffer {
  return { spot: queue.startsWith("spot-"), instanceTypes: queue.endsWith("-gpu") ? FARM_DEFAULTS.gpuInstanceTypes : FARM_DEFAULTS.cpuInstanceTypes };
}

/** The running cap's setting for the render children: the cap and the plan's expected price of one child-hour. */
export function costCapSetting(maxUsd: number, queue: QueueKind, resources: ServerResources, prices: Prices): CostCapSetting {
  return { maxUsd, usdPerChildHour: childHourPrice(queueOffer(queue), { vcpus: resources.vcpus, gpus: resources.gpus }, prices).usdPerHour.expected };
}
