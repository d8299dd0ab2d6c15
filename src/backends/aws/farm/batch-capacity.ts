/**
 * A farm's AWS Batch queues, as its stack outputs name them, and the compute
 * environments behind each: what `farm status` shows and `farm doctor`
 * judges.
 */
import { DescribeComputeEnvironmentsCommand, DescribeJobQueuesCommand, type BatchClient } from "@aws-sdk/client-batch";
import { FARM_OUTPUTS, QUEUE_KINDS, type QueueKind } from "../farm-resources.ts";

/** A render queue kind, or "io": the copy/upload queue. */
export type QueueRole = "io" | QueueKind;

export type FarmEnvironment = {
  readonly arn: string;
  readonly name: string;
  readonly state: string;
  readonly status: string;
  readonly statusReason?: string;
  /** EC2, SPOT, FARGATE…, or the environment's type (UNMANAGED) when it has no compute resources. */
  readonly type: string;
  readonly minVcpus?: number;
  readonly maxVcpus?: number;
  readonly desiredVcpus?: number;
  /** Families or types the environment starts (empty for unmanaged ones). */
  readonly instanceTypes: readonly string[];
  /** Spot environments: the most they pay, a percentage of on-demand. */
  readonly bidPercentage?: number;
};

export type FarmQueue = {
  readonly role: QueueRole;
  /** As the stack output gives it (name or ARN). */
  readonly output: string;
  readonly name: string;
  readonly state: string;
  readonly status: string;
  readonly statusReason?: string;
  /** In the queue's order. */
  readonly environments: readonly FarmEnvironment[];
};

export type FarmCapacity = {
  readonly queues: readonly FarmQueue[];
  /** Queues the stack names that Batch does not know. */
  readonly missing: readonly { readonly role: QueueRole; readonly output: string }[];
};

export const QUEUE_OUTPUTS: Readonly<Record<QueueRole, string>> = {
  io: FARM_OUTPUTS.ioQueue,
  "spot-cpu": FARM_OUTPUTS.spotCpuQueue,
  "on-demand-cpu": FARM_OUTPUTS.onDemandCpuQueue,
  "spot-gpu": FARM_OUTPUTS.spotGpuQueue,
  "on-demand-gpu": FARM_OUTPUTS.onDemandGpuQueue,
};

/** The queues the stack outputs name, io first (pure). */
export function namedQueues(outputs: Record<string, string>): { role: QueueRole; output: string }[] {
  return (["io", ...QUEUE_KINDS] as const)
    .map((role) => ({ role, output: outputs[QUEUE_OUTPUTS[role]]?.trim() ?? "" }))
    .filter((queue) => queue.output !== "");
}

/** The last part of an ARN ("…:job-queue/NAME" -> NAME); a name stays as it is. */
export function lastPart(arn: string): string {
  return arn.slice(arn.lastIndexOf("/") + 1);
}

/** Reads the named queues and their compute environments from Batch. */
export async function readFarmCapacity(batch: BatchClient, outputs: Record<string, string>): Promise<FarmCapacity> {
  const named = namedQueues(outputs);
  if (named.length === 0) return { queues: [], missing: [] };
  const answer = await batch.send(new DescribeJobQueuesCommand({ jobQueues: named.map((queue) => queue.output) }));
  const described = answer?.jobQueues ?? [];
  const environmentArns = new Set<string>();
  const found = named.map((queue) => {
    const match = described.find((candidate) => candidate.jobQueueArn === queue.output || candidate.jobQueueName === lastPart(queue.output));
    const order = (match?.computeEnvironmentOrder ?? []).slice().sort((a, b) => (a.order ?? 0) - (b.order ?? 0));
    const arns = order.map((entry) => entry.computeEnvironment ?? "").filter(Boolean);
    for (const arn of arns) environmentArns.add(arn);
    return { ...queue, match, arns };
  });

  const environments = new Map<string, FarmEnvironment>();
  if (environmentArns.size > 0) {
    const answer = await batch.send(new DescribeComputeEnvironmentsCommand({ computeEnvironments: [...environmentArns] }));
    for (const environment of answer?.computeEnvironments ?? []) {
      const resources = environment.computeResources;
      const view: FarmEnvironment = {
        arn: environment.computeEnvironmentArn ?? "",
        name: environment.computeEnvironmentName ?? "",
        state: environment.state ?? "?",
        status: environment.status ?? "?",
        ...(environment.statusReason ? { statusReason: environment.statusReason } : {}),
        type: resources?.type ?? environment.type ?? "?",
        ...(resources?.minvCpus !== undefined ? { minVcpus: resources.minvCpus } : {}),
        ...(resources?.maxvCpus !== undefined ? { maxVcpus: resources.maxvCpus } : {}),
        ...(resources?.desiredvCpus !== undefined ? { desiredVcpus: resources.desiredvCpus } : {}),
        instanceTypes: resources?.instanceTypes ?? [],
        ...(resources?.bidPercentage !== undefined ? { bidPercentage: resources.bidPercentage } : {}),
      };
      environments.set(view.arn, view);
      environments.set(view.name, view);
    }
  }

  const queues: FarmQueue[] = [];
  const missing: FarmCapacity["missing"][number][] = [];
  for (const { role, output, match, arns } of found) {
    if (match === undefined) {
      missing.push({ role, output });
      continue;
    }
    queues.push({
      role,
      output,
      name: match.jobQueueName ?? lastPart(output),
      state: match.state ?? "?",
      status: match.status ?? "?",
      ...(match.statusReason ? { statusReason: match.statusReason } : {}),
      environments: arns.map((arn) => environments.get(arn) ?? environments.get(lastPart(arn)) ?? unknownEnvironment(arn)),
    });
  }
  return { queues, missing };
}

/** An environment a queue names that DescribeComputeEnvironments did not return (deleted under the queue). */
function unknownEnvironment(arn: string): FarmEnvironment {
  return { arn, name: lastPart(arn), state: "?", status: "MISSING", type: "?", instanceTypes: [] };
}
