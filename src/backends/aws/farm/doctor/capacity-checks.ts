/**
 * Can the account start the farm's hosts at all? The EC2 vCPU quota of each
 * queue kind against what its compute environments may run (new accounts
 * have 0 G and VT vCPUs: GPU jobs would wait RUNNABLE forever), and the
 * instance families on sale in the region.
 */
import type { EC2Client } from "@aws-sdk/client-ec2";
import type { ServiceQuotasClient } from "@aws-sdk/client-service-quotas";
import { isGpuQueue, QUEUE_KINDS, type QueueKind } from "../../farm-resources.ts";
import { checkVcpuQuota, quotaConsoleUrl, type QuotaCheck } from "../../quotas.ts";
import { SERVER_PRESETS } from "../../server-sizes.ts";
import type { FarmCapacity } from "../batch-capacity.ts";
import { unofferedInstanceTypes } from "../instance-offerings.ts";
import { blocked, guarded, ok, warn, type DoctorCheck } from "./check.ts";

/**
 * vCPUs of the smallest render child a queue kind runs: the small preset on
 * CPU queues, one GPU's preset on GPU queues. A quota below it starts nothing.
 */
export const SMALLEST_CHILD_VCPUS: Readonly<Record<"cpu" | "gpu", number>> = {
  cpu: SERVER_PRESETS.small.vcpus,
  gpu: SERVER_PRESETS["gpu-1"].vcpus,
};

export type QuotaNeed = { readonly kind: QueueKind; readonly vcpus: number; readonly vcpusPerJob: number; readonly queues: readonly string[] };

/**
 * What each EC2 quota must allow (pure): the sum of the most vCPUs the
 * environments of the queues it bounds may run. The copy/upload queue runs
 * on-demand standard instances, so it counts against the on-demand CPU quota.
 */
export function quotaNeeds(capacity: FarmCapacity): QuotaNeed[] {
  const needs = new Map<QueueKind, { vcpus: number; queues: string[] }>();
  for (const queue of capacity.queues) {
    const kind: QueueKind = queue.role === "io" ? "on-demand-cpu" : queue.role;
    const perJob = SMALLEST_CHILD_VCPUS[isGpuQueue(kind) ? "gpu" : "cpu"];
    const need = needs.get(kind) ?? { vcpus: 0, queues: [] };
    // An environment (or a queue whose environments could not be read) with no known maximum needs at least one child.
    need.vcpus += Math.max(perJob, queue.environments.reduce((sum, environment) => sum + (environment.maxVcpus ?? perJob), 0));
    need.queues.push(queue.name);
    needs.set(kind, need);
  }
  return QUEUE_KINDS.filter((kind) => needs.has(kind)).map((kind) => ({
    kind,
    vcpus: needs.get(kind)!.vcpus,
    vcpusPerJob: SMALLEST_CHILD_VCPUS[isGpuQueue(kind) ? "gpu" : "cpu"],
    queues: needs.get(kind)!.queues,
  }));
}

/** The quota's verdict as a doctor's check (pure). */
export function quotaCheck(need: QuotaNeed, quota: QuotaCheck, farm: string, region: string): DoctorCheck {
  const id = `quota:${need.kind}`;
  const name = `EC2 quota ${quota.quotaCode} "${quota.quotaName}"`;
  const increase = (value: number) =>
    `aws service-quotas request-service-quota-increase --service-code ec2 --quota-code ${quota.quotaCode} --desired-value ${value} --region ${region} (or ${quotaConsoleUrl("ec2", quota.quotaCode, region)})`;
  switch (quota.status) {
    case "ok":
      return ok(id, `${name}: ${quota.limit} vCPUs, enough for the ${need.vcpus} that ${need.queues.join(" and ")} may run.`);
    case "short":
      return warn(id, `${name}: ${quota.limit} vCPUs, below the ${need.vcpus} that ${need.queues.join(" and ")} may run: fewer render children run at once.`, increase(need.vcpus));
    case "blocked":
      return blocked(id, `${name}: ${quota.limit} vCPUs, but one render child needs ${need.vcpusPerJob}: jobs on ${need.queues.join(" and ")} would wait RUNNABLE forever.`, increase(need.vcpus));
    case "unknown":
      return warn(
        id,
        `Could not read the ${name} (if jobs on ${need.queues.join(" and ")} stay RUNNABLE, it is the first suspect).`,
        `Allow servicequotas:GetServiceQuota and servicequotas:GetAWSDefaultServiceQuota, or look it up: ${quotaConsoleUrl("ec2", quota.quotaCode, region)}; then run 'brender farm doctor ${farm}' again.`,
      );
  }
}

/** One check per EC2 vCPU quota the farm's queues count against. */
export async function vcpuQuotaChecks(capacity: FarmCapacity, serviceQuotas: ServiceQuotasClient, farm: string, region: string): Promise<DoctorCheck[]> {
  const checks: DoctorCheck[] = [];
  for (const need of quotaNeeds(capacity)) {
    checks.push(
      ...(await guarded(`quota:${need.kind}`, `the EC2 vCPU quota for ${need.kind}`, ["servicequotas:GetServiceQuota"], farm, async () =>
        quotaCheck(need, await checkVcpuQuota({ queue: need.kind, vcpus: need.vcpus, vcpusPerJob: need.vcpusPerJob }, { serviceQuotasClient: serviceQuotas }), farm, region),
      )),
    );
  }
  return checks;
}

/** The instance families and types the farm's managed environments start (pure). */
export function farmInstanceTypes(capacity: FarmCapacity): string[] {
  const types = capacity.queues.flatMap((queue) => queue.environments.flatMap((environment) => environment.instanceTypes));
  // "optimal" is Batch's own pick among families the region has.
  return [...new Set(types)].filter((type) => type !== "optimal");
}

export function offeringsCheck(wanted: readonly string[], unoffered: readonly string[], farm: string, region: string): DoctorCheck {
  if (wanted.length === 0) return ok("instance-types", "No compute environment names instance types (nothing to check).");
  if (unoffered.length === 0) return ok("instance-types", `EC2 in ${region} offers ${wanted.join(", ")}.`);
  return blocked(
    "instance-types",
    `EC2 in ${region} does not offer ${unoffered.join(", ")}: the compute environments naming them cannot start hosts.`,
    `Deploy the farm in a region that offers them ('brender farm deploy ${farm} --region …'); 'aws ec2 describe-instance-type-offerings --region ${region}' lists what is on sale.`,
  );
}

export async function instanceOfferingsCheck(capacity: FarmCapacity, ec2: EC2Client, farm: string, region: string): Promise<DoctorCheck[]> {
  const wanted = farmInstanceTypes(capacity);
  return guarded("instance-types", "EC2 instance type offerings", ["ec2:DescribeInstanceTypeOfferings"], farm, async () =>
    offeringsCheck(wanted, await unofferedInstanceTypes(ec2, wanted), farm, region),
  );
}
