/**
 * `estimate --farm NAME`: the farm's own render queue as AWS Batch describes
 * it (the compute environments behind the queue: their instance types, vCPU
 * ceiling and spot bid) instead of the deploy defaults. What Batch does not
 * say (an unmanaged environment) keeps the default, and the answer says so.
 */
import { DescribeComputeEnvironmentsCommand, DescribeJobQueuesCommand, type BatchClient, type ComputeEnvironmentDetail } from "@aws-sdk/client-batch";
import { renderQueue, type FarmResources, type QueueKind } from "../backends/aws/farm-resources.ts";

/** What the queue's compute environments fix for an estimate; a field is absent when none of them says. */
export type FarmQueueSettings = {
  readonly instanceTypes?: readonly string[];
  /** Summed over the queue's environments: how many vCPUs may run at once. */
  readonly maxVcpus?: number;
  readonly spotBidPercentage?: number;
};

/** The queue's settings from its described compute environments (pure). */
export function queueSettingsOf(environments: readonly ComputeEnvironmentDetail[]): FarmQueueSettings {
  const managed = environments.flatMap((environment) => (environment.computeResources ? [environment.computeResources] : []));
  const types = [...new Set(managed.flatMap((resources) => resources.instanceTypes ?? []))].filter((type) => type !== "optimal");
  const ceilings = managed.flatMap((resources) => (resources.maxvCpus !== undefined ? [resources.maxvCpus] : []));
  const bids = managed.flatMap((resources) => (resources.bidPercentage !== undefined ? [resources.bidPercentage] : []));
  return {
    ...(types.length > 0 ? { instanceTypes: types } : {}),
    ...(ceilings.length > 0 ? { maxVcpus: ceilings.reduce((sum, n) => sum + n, 0) } : {}),
    ...(bids.length > 0 ? { spotBidPercentage: Math.max(...bids) } : {}),
  };
}

/** The farm's queue of this kind, described; throws UserInputError (exit 2) when the farm has no such queue. */
export async function farmQueueSettings(batch: BatchClient, farm: FarmResources, kind: QueueKind): Promise<FarmQueueSettings> {
  const queueId = renderQueue(farm, kind);
  const queues = await batch.send(new DescribeJobQueuesCommand({ jobQueues: [queueId] }));
  const order = queues.jobQueues?.[0]?.computeEnvironmentOrder ?? [];
  const ids = order.flatMap((entry) => (entry.computeEnvironment ? [entry.computeEnvironment] : []));
  if (ids.length === 0) return {};
  const environments = await batch.send(new DescribeComputeEnvironmentsCommand({ computeEnvironments: ids }));
  return queueSettingsOf(environments.computeEnvironments ?? []);
}
