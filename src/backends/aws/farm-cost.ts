/**
 * What a farm costs per month while it renders nothing.
 *
 * The compute environments scale to 0 vCPUs, so Batch costs nothing when
 * idle; what remains is the NAT gateway of a private farm, the files kept on
 * EFS and the worker images in ECR. Prices are AWS's public on-demand prices
 * in us-east-1 (other regions differ by a few percent); the volumes are
 * assumptions, stated next to each figure so the user can judge them.
 */

/** Hours in an average month, as AWS's pricing calculator counts them. */
export const HOURS_PER_MONTH = 730;

/** NAT gateway, per hour it exists (aws.amazon.com/vpc/pricing, us-east-1). */
export const NAT_GATEWAY_USD_PER_HOUR = 0.045;
/** NAT gateway, per GB it processes (aws.amazon.com/vpc/pricing, us-east-1). */
export const NAT_GATEWAY_USD_PER_GB = 0.045;
/** A public IPv4 address, per hour (aws.amazon.com/vpc/pricing, "Public IPv4 Address" since February 2024): the NAT gateway's Elastic IP. */
export const PUBLIC_IPV4_USD_PER_HOUR = 0.005;
/**
 * Traffic through the NAT gateway in a quiet month: S3 goes through the free
 * gateway endpoint, so this is mostly image pulls from ECR by new instances
 * (a Blender image is a few GB). An assumption, not a measurement.
 */
export const ASSUMED_NAT_GB_PER_MONTH = 20;

/** EFS Standard storage, per GB-month (aws.amazon.com/efs/pricing, us-east-1). */
export const EFS_STANDARD_USD_PER_GB_MONTH = 0.3;
/** Project copies left on EFS between renders. An assumption, not a measurement. */
export const ASSUMED_EFS_GB = 5;

/** ECR storage, per GB-month (aws.amazon.com/ecr/pricing). */
export const ECR_USD_PER_GB_MONTH = 0.1;
/** Compressed size of one worker image (CUDA runtime, Blender, Node). An assumption. */
export const ASSUMED_IMAGE_GB = 3;

export type FarmCostInput = {
  /** Private subnets with one NAT gateway (`--private`). */
  readonly private: boolean;
  /** Blender versions deployed: one image each. */
  readonly blenderVersions: readonly string[];
};

export type CostLine = {
  readonly item: string;
  readonly usdPerMonth: number;
  /** How the figure was reached, for the user to check. */
  readonly basis: string;
};

export type FarmCostEstimate = {
  readonly lines: readonly CostLine[];
  readonly usdPerMonth: number;
  readonly note: string;
};

/** The fixed monthly cost of an idle farm (pure). */
export function estimateFixedMonthlyCost(input: FarmCostInput): FarmCostEstimate {
  const lines: CostLine[] = [];
  if (input.private) {
    lines.push({
      item: "NAT gateway",
      usdPerMonth: NAT_GATEWAY_USD_PER_HOUR * HOURS_PER_MONTH,
      basis: `${HOURS_PER_MONTH} h × $${NAT_GATEWAY_USD_PER_HOUR}/h`,
    });
    lines.push({
      item: "NAT gateway data",
      usdPerMonth: NAT_GATEWAY_USD_PER_GB * ASSUMED_NAT_GB_PER_MONTH,
      basis: `~${ASSUMED_NAT_GB_PER_MONTH} GB × $${NAT_GATEWAY_USD_PER_GB}/GB (image pulls; S3 uses the free endpoint)`,
    });
    lines.push({
      item: "NAT gateway public IPv4",
      usdPerMonth: PUBLIC_IPV4_USD_PER_HOUR * HOURS_PER_MONTH,
      basis: `${HOURS_PER_MONTH} h × $${PUBLIC_IPV4_USD_PER_HOUR}/h`,
    });
  }
  lines.push({
    item: "EFS storage",
    usdPerMonth: EFS_STANDARD_USD_PER_GB_MONTH * ASSUMED_EFS_GB,
    basis: `~${ASSUMED_EFS_GB} GB of projects × $${EFS_STANDARD_USD_PER_GB_MONTH}/GB-month`,
  });
  const images = input.blenderVersions.length;
  lines.push({
    item: "ECR images",
    usdPerMonth: ECR_USD_PER_GB_MONTH * ASSUMED_IMAGE_GB * images,
    basis: `${images} image${images === 1 ? "" : "s"} × ~${ASSUMED_IMAGE_GB} GB × $${ECR_USD_PER_GB_MONTH}/GB-month`,
  });
  lines.push({ item: "AWS Batch", usdPerMonth: 0, basis: "compute environments scale to 0 vCPUs when idle" });
  const usdPerMonth = lines.reduce((sum, line) => sum + line.usdPerMonth, 0);
  return {
    lines,
    usdPerMonth,
    note: "us-east-1 prices; renders are billed on top (instances while they run, S3 for stored outputs, logs)",
  };
}

/** "$1.23" — dollars with cents. */
export function formatUsd(amount: number): string {
  return `$${amount.toFixed(2)}`;
}
