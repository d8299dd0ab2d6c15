/**
 * What machine the job ran on, for the render report: the instance type and
 * whether it was spot, from EC2's instance metadata service (IMDSv2), and the
 * availability zone from ECS's task metadata. Best effort: every request has
 * a short timeout and any failure just leaves the field out.
 */

export type HostInfo = {
  readonly instanceType?: string;
  /** true on a spot instance, false on demand; absent when unknown. */
  readonly spot?: boolean;
  readonly availabilityZone?: string;
};

export const DEFAULT_IMDS_ENDPOINT = "http://169.254.169.254";
const DEFAULT_TIMEOUT_MS = 1000;
const TOKEN_TTL_SECONDS = "60";

/**
 * Reads the host's description. IMDS is only asked inside an AWS Batch job on
 * a real compute environment (AWS_BATCH_JOB_ID and AWS_BATCH_CE_NAME, which
 * the local farm does not set: a laptop has no IMDS, and a request to its
 * address would just hang until the timeout); BRENDER_IMDS_ENDPOINT replaces
 * its address (tests) and then stands in for AWS_BATCH_CE_NAME.
 * ECS task metadata is read when ECS_CONTAINER_METADATA_URI_V4 is set.
 * Never throws.
 */
export async function hostInfo(env: NodeJS.ProcessEnv, options: { readonly timeoutMs?: number } = {}): Promise<HostInfo> {
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const [ec2, availabilityZone] = await Promise.all([
    onBatchHost(env) ? fromImds(env.BRENDER_IMDS_ENDPOINT?.trim() || DEFAULT_IMDS_ENDPOINT, timeoutMs) : {},
    env.ECS_CONTAINER_METADATA_URI_V4?.trim() ? availabilityZoneFromEcs(env.ECS_CONTAINER_METADATA_URI_V4.trim(), timeoutMs) : undefined,
  ]);
  return { ...ec2, ...(availabilityZone ? { availabilityZone } : {}) };
}

function onBatchHost(env: NodeJS.ProcessEnv): boolean {
  return Boolean(env.AWS_BATCH_JOB_ID?.trim() && (env.AWS_BATCH_CE_NAME?.trim() || env.BRENDER_IMDS_ENDPOINT?.trim()));
}

async function fromImds(endpoint: string, timeoutMs: number): Promise<{ instanceType?: string; spot?: boolean }> {
  const base = endpoint.replace(/\/+$/, "");
  const token = await fetchText(`${base}/latest/api/token`, timeoutMs, {
    method: "PUT",
    headers: { "X-aws-ec2-metadata-token-ttl-seconds": TOKEN_TTL_SECONDS },
  });
  if (token === timedOut) return {};
  // Without a token (IMDSv1-only hosts) the plain GETs may still work.
  const headers: Record<string, string> = typeof token === "string" ? { "X-aws-ec2-metadata-token": token } : {};
  const [instanceType, lifecycle] = await Promise.all([
    fetchText(`${base}/latest/meta-data/instance-type`, timeoutMs, { headers }),
    fetchText(`${base}/latest/meta-data/instance-life-cycle`, timeoutMs, { headers }),
  ]);
  return {
    ...(typeof instanceType === "string" && /^[a-z0-9][a-z0-9.-]*$/i.test(instanceType) ? { instanceType } : {}),
    ...(lifecycle === "spot" ? { spot: true } : lifecycle === "on-demand" ? { spot: false } : {}),
  };
}

async function availabilityZoneFromEcs(metadataUri: string, timeoutMs: number): Promise<string | undefined> {
  const text = await fetchText(`${metadataUri.replace(/\/+$/, "")}/task`, timeoutMs);
  if (typeof text !== "string") return undefined;
  try {
    const zone = (JSON.parse(text) as { AvailabilityZone?: unknown }).AvailabilityZone;
    return typeof zone === "string" && zone !== "" ? zone : undefined;
  } catch {
    return undefined;
  }
}

const timedOut = Symbol("timed out");

/** The trimmed body of a 2xx answer; undefined for any other answer or error; `timedOut` when nothing answered in time. */
async function fetchText(url: string, timeoutMs: number, init: RequestInit = {}): Promise<string | undefined | typeof timedOut> {
  try {
    const response = await fetch(url, { ...init, signal: AbortSignal.timeout(timeoutMs) });
    const body = (await response.text()).trim();
    return response.ok ? body : undefined;
  } catch (error) {
    return (error as Error).name === "TimeoutError" ? timedOut : undefined;
  }
}
