/**
 * Checks the account's EC2 vCPU quotas before a render is submitted. AWS
 * Batch does not refuse a job the account cannot run: it leaves it RUNNABLE
 * forever. New accounts often have 0 GPU vCPUs and a few standard ones, so
 * this is the most common "my render never starts" cause.
 */
import {
  GetAWSDefaultServiceQuotaCommand,
  GetServiceQuotaCommand,
  ServiceQuotasClient,
  type ServiceQuota,
} from "@aws-sdk/client-service-quotas";
import type { QueueKind } from "./farm-resources.ts";

/** The EC2 quota (in vCPUs) that bounds each queue kind. */
export const VCPU_QUOTAS: Readonly<Record<QueueKind, { readonly code: string; readonly name: string }>> = {
  "on-demand-cpu": { code: "L-1216C47A", name: "Running On-Demand Standard (A, C, D, H, I, M, R, T, Z) instances" },
  "spot-cpu": { code: "L-34B43A08", name: "All Standard (A, C, D, H, I, M, R, T, Z) Spot Instance Requests" },
  "on-demand-gpu": { code: "L-DB2E81BA", name: "Running On-Demand G and VT instances" },
  "spot-gpu": { code: "L-3819A6DF", name: "All G and VT Spot Instance Requests" },
};

export type VcpuNeed = {
  readonly queue: QueueKind;
  /** vCPUs to run the whole render at once (children × vCPUs per child). */
  readonly vcpus: number;
  /** vCPUs of one render child: below this the render cannot start at all. Defaults to `vcpus`. */
  readonly vcpusPerJob?: number;
};

export type QuotaFacts = { readonly quotaCode: string; readonly quotaName: string; readonly needed: number };

export type QuotaCheck =
  | (QuotaFacts & { readonly status: "ok"; readonly limit: number })
  /** The render runs, but fewer children at a time than asked. A warning. */
  | (QuotaFacts & { readonly status: "short"; readonly limit: number; readonly message: string })
  /** Not even one child fits: the jobs would wait forever. Do not submit. */
  | (QuotaFacts & { readonly status: "blocked"; readonly limit: number; readonly message: string })
  /** The quota could not be read (no permission, service error): submit, but tell the user. */
  | (QuotaFacts & { readonly status: "unknown"; readonly message: string });

/**
 * Reads the quota for the queue kind (the account's applied value, else AWS's
 * default) and compares it with the need. Errors from the Service Quotas
 * service give status "unknown"; errors before any call (no credentials)
 * are raised.
 */
export async function checkVcpuQuota(need: VcpuNeed, clients: { readonly serviceQuotasClient: ServiceQuotasClient }): Promise<QuotaCheck> {
  const quota = VCPU_QUOTAS[need.queue];
  const facts: QuotaFacts = { quotaCode: quota.code, quotaName: quota.name, needed: need.vcpus };
  const region = await clients.serviceQuotasClient.config.region().catch(() => undefined);
  let limit: number;
  try {
    limit = Math.floor(await readQuotaValue(clients.serviceQuotasClient, "ec2", quota.code));
  } catch (error) {
    if (!isServiceError(error)) throw error;
    return {
      ...facts,
      status: "unknown",
      message: `Could not read the EC2 quota ${quota.code} "${quota.name}" (${error.name}): submitting anyway; if the jobs stay RUNNABLE, check that quota in the Service Quotas console${region ? ` (${region})` : ""}.`,
    };
  }
  return compareWithNeed(need, limit, facts, region);
}

/** Pure part of checkVcpuQuota: the verdict and its message for a known limit. */
export function compareWithNeed(need: VcpuNeed, limit: number, facts: QuotaFacts, region?: string): QuotaCheck {
  const perJob = need.vcpusPerJob ?? need.vcpus;
  const where = `${facts.quotaCode} ("${facts.quotaName}") in the Service Quotas console${region ? ` (${region}): ${quotaConsoleUrl("ec2", facts.quotaCode, region)}` : ""}`;
  if (limit < perJob) {
    return {
      ...facts,
      limit,
      status: "blocked",
      message: `One render child on the ${need.queue} queue needs ${perJob} vCPUs but your account allows ${limit}, so it would never start; request an increase of ${where}, or pick a smaller --size.`,
    };
  }
  if (limit < need.vcpus) {
    return {
      ...facts,
      limit,
      status: "short",
      message: `The render on the ${need.queue} queue needs ${need.vcpus} vCPUs but your account allows ${limit}, so fewer children run at once; request an increase of ${where}.`,
    };
  }
  return { ...facts, limit, status: "ok" };
}

/** A quota's value for this account: the applied value, else AWS's default. Service errors are thrown as they come. */
export async function readQuotaValue(client: ServiceQuotasClient, serviceCode: string, quotaCode: string): Promise<number> {
  let quota: ServiceQuota | undefined;
  try {
    quota = (await client.send(new GetServiceQuotaCommand({ ServiceCode: serviceCode, QuotaCode: quotaCode }))).Quota;
  } catch (error) {
    // An account that never changed a quota may have no applied value: AWS's default is then the limit.
    if (!(error instanceof Error) || error.name !== "NoSuchResourceException") throw error;
  }
  quota ??= (await client.send(new GetAWSDefaultServiceQuotaCommand({ ServiceCode: serviceCode, QuotaCode: quotaCode }))).Quota;
  if (quota?.Value === undefined) {
    throw Object.assign(new Error(`Service Quotas returned no value for ${quotaCode}`), { name: "NoQuotaValue", $metadata: {} });
  }
  return quota.Value;
}

/** The Service Quotas console page of one quota, where an increase is requested. */
export function quotaConsoleUrl(serviceCode: string, quotaCode: string, region: string): string {
  return `https://${region}.console.aws.amazon.com/servicequotas/home/services/${serviceCode}/quotas/${quotaCode}`;
}

/** Errors that came back from the service (they carry the SDK's `$metadata`), as opposed to local ones. */
function isServiceError(error: unknown): error is Error {
  return error instanceof Error && "$metadata" in error;
}
