/**
 * `estimate --farm NAME`: the farm's own render queue as AWS Batch describes
 * it (the compute environments behind the queue: their instance types, vCPU
 * ceiling and spot bid) instead of the deploy defaults. What Batch does not
 * say (an unmanaged environment) keeps the default.
 */
import type { BatchClient } from "@aws-sdk/client-batch";
import { renderQueue, type FarmResources, type QueueKind } from "../backends/aws/farm-resources.ts";
import { QUEUE_OUTPUTS, readFarmCapacity, type FarmEnvironment } from "../backends/aws/farm/batch-capacity.ts";

/** What the queue's compute environments fix for an estimate; a field is absent when none of them says. */
export type FarmQueueSettings = {
  readonly instanceTypes?: readonly string[];
  /** Summed over the queue's environments: how many vCPUs may run at once. */
  readonly maxVcpus?: number;
  readonly spotBidPercentage?: number;
};

/** The queue's settings from its compute environments (pure). */
export function queueSettingsOf(environments: readonly FarmEnvironment[]): FarmQueueSettings {
  const types = [...new Set(environments.flatMap((environment) => environment.instanceTypes))].filter((type) => type !== "optimal");
  const ceilings = environments.flatMap((environment) => (environment.maxVcpus !== undefined ? [environment.maxVcpus] : []));
  const bids = environments.flatMap((environment) => (environment.bidPercentage !== undefined ? [environment.bidPercentage] : []));
  return {
    ...(types.length > 0 ? { instanceTypes: types } : {}),
    ...(ceilings.length > 0 ? { maxVcpus: ceilings.reduce((sum, n) => sum + n, 0) } : {}),
    ...(bids.length > 0 ? { spotBidPercentage: Math.max(...bids) } : {}),
  };
}

/** The farm's queue of this kind, described; throws UserInputError (exit 2) when the farm has no such queue. */
export async function farmQueueSettings(batch: BatchClient, farm: FarmResources, kind: QueueKind): Promise<FarmQueueSettings> {
  const capacity = await readFarmCapacity(batch, { [QUEUE_OUTPUTS[kind]]: renderQueue(farm, kind) });
  return queueSettingsOf(capacity.queues.find((queue) => queue.role === kind)?.environments ?? []);
}
