/**
 * The on-demand prices bundled with Brender, for when AWS's Pricing API
 * cannot be reached: Linux, shared tenancy, us-east-1, USD per instance-hour,
 * for every size of the instance families a farm renders on (the CDK stack's
 * defaults: c6i, m6i, c7i, m7i for CPU; g5, g6 for GPU) and its io queue.
 *
 * A dated table, shown with its date wherever it is used, because AWS changes
 * prices without notice. Checked on 2026-12-07 against public sources quoting
 * AWS's price list: c6i, c7i, m6i, m7i per size (c3x.dev "m5 vs m6i vs m7i",
 * and several open-source price tables agreeing), g5.xlarge $1.006 and the g5
 * family (factualminds.com "EC2 On-Demand Pricing 2026", June 2026), g6.xlarge
 * $0.8048 and g6.12xlarge $4.6016. The other g5/g6 sizes are AWS's list prices
 * as published at g5/g6 launch and not re-checked here; the CPU families are
 * priced exactly per vCPU (every size is the vCPU count times one rate).
 */

export const BUNDLED_PRICES_DATE = "2026-12-07";
export const BUNDLED_PRICES_REGION = "us-east-1";
export const BUNDLED_PRICES_SOURCE =
  "AWS on-demand list prices (Linux, shared tenancy, us-east-1), bundled with Brender";

export type InstanceSpec = {
  readonly instanceType: string;
  readonly vcpus: number;
  readonly gpus: number;
  /** On-demand USD per hour in BUNDLED_PRICES_REGION. */
  readonly usdPerHour: number;
};

/** USD per vCPU-hour of the CPU families: every size costs its vCPUs times this. */
const CPU_FAMILY_USD_PER_VCPU_HOUR: Readonly<Record<string, number>> = {
  c6i: 0.0425,
  c7i: 0.044625,
  m6i: 0.048,
  m7i: 0.0504,
};

/** The sizes each CPU family has, with their vCPUs. */
const CPU_SIZES: Readonly<Record<string, number>> = {
  large: 2,
  xlarge: 4,
  "2xlarge": 8,
  "4xlarge": 16,
  "8xlarge": 32,
  "12xlarge": 48,
  "16xlarge": 64,
  "24xlarge": 96,
  "32xlarge": 128,
  "48xlarge": 192,
};

/** c6i and m6i stop at 32xlarge; c7i and m7i go to 48xlarge. */
const LARGEST_SIZE: Readonly<Record<string, number>> = { c6i: 128, m6i: 128, c7i: 192, m7i: 192 };

/** [type, vCPUs, GPUs, USD/h]: GPU prices do not scale with vCPUs, so each size is listed. */
const GPU_TYPES: readonly (readonly [string, number, number, number])[] = [
  ["g5.xlarge", 4, 1, 1.006],
  ["g5.2xlarge", 8, 1, 1.212],
  ["g5.4xlarge", 16, 1, 1.624],
  ["g5.8xlarge", 32, 1, 2.448],
  ["g5.12xlarge", 48, 4, 5.672],
  ["g5.16xlarge", 64, 1, 4.096],
  ["g5.24xlarge", 96, 4, 8.144],
  ["g5.48xlarge", 192, 8, 16.288],
  ["g6.xlarge", 4, 1, 0.8048],
  ["g6.2xlarge", 8, 1, 0.9776],
  ["g6.4xlarge", 16, 1, 1.3232],
  ["g6.8xlarge", 32, 1, 2.0144],
  ["g6.12xlarge", 48, 4, 4.6016],
  ["g6.16xlarge", 64, 1, 3.3968],
  ["g6.24xlarge", 96, 4, 6.6752],
  ["g6.48xlarge", 192, 8, 13.3504],
];

function buildTable(): ReadonlyMap<string, InstanceSpec> {
  const table = new Map<string, InstanceSpec>();
  for (const [family, rate] of Object.entries(CPU_FAMILY_USD_PER_VCPU_HOUR)) {
    for (const [size, vcpus] of Object.entries(CPU_SIZES)) {
      if (vcpus > (LARGEST_SIZE[family] ?? 0)) continue;
      const instanceType = `${family}.${size}`;
      // Rounded to AWS's own precision (at most 4-6 decimals) so 2 × 0.044625 reads 0.08925.
      table.set(instanceType, { instanceType, vcpus, gpus: 0, usdPerHour: Math.round(rate * vcpus * 1e6) / 1e6 });
    }
  }
  for (const [instanceType, vcpus, gpus, usdPerHour] of GPU_TYPES) {
    table.set(instanceType, { instanceType, vcpus, gpus, usdPerHour });
  }
  return table;
}

/** Every instance type the bundled table knows, by name. */
export const BUNDLED_INSTANCES: ReadonlyMap<string, InstanceSpec> = buildTable();

/** The family of an instance type: "c7i" of "c7i.2xlarge"; a family name is its own family. */
export function familyOf(instanceTypeOrFamily: string): string {
  const dot = instanceTypeOrFamily.indexOf(".");
  return dot === -1 ? instanceTypeOrFamily : instanceTypeOrFamily.slice(0, dot);
}

/**
 * The instance types a compute environment may start, from its
 * `instanceTypes` (families such as "c7i" or exact types such as
 * "g6.2xlarge", as Batch takes them), as far as the bundled table knows them.
 */
export function instancesOf(familiesOrTypes: readonly string[]): InstanceSpec[] {
  const wanted = new Set(familiesOrTypes);
  return [...BUNDLED_INSTANCES.values()].filter((spec) => wanted.has(spec.instanceType) || wanted.has(familyOf(spec.instanceType)));
}
