/**
 * What `brender farm deploy` lets the user choose about a farm, with the
 * defaults and the checks that turn bad choices into one-line UserInputErrors
 * before anything is synthesized (pure).
 */
import { BLENDER_VERSION_PATTERN } from "../backends/aws/farm-resources.ts";
import { UserInputError } from "../errors.ts";

/** The copy/upload compute environment's instance types (1 vCPU / 2 GiB jobs). */
export const IO_INSTANCE_TYPES: readonly string[] = ["c6i.large", "m6i.large", "c7i.large", "m7i.large"];

export type FarmStackProps = {
  /** The farm's name: 1 to 63 letters, digits or -, starting with a letter or digit. */
  readonly farmName: string;
  /** The AWS region to deploy to. @default the region the stack is deployed with (environment-agnostic) */
  readonly region?: string;
  /** The AWS account to deploy to. @default the account the stack is deployed with (environment-agnostic) */
  readonly account?: string;
  /** Private subnets behind one NAT gateway instead of public subnets. @default false */
  readonly private?: boolean;
  /** Largest number of vCPUs each render compute environment may run at once. @default 256 */
  readonly maxVcpus?: number;
  /** Highest spot price to pay, as a percentage of the on-demand price (1-100). @default 100 */
  readonly spotBidPercentage?: number;
  /** EC2 instance families or types for the CPU render environments. @default ["c6i","m6i","c7i","m7i"] */
  readonly cpuInstanceTypes?: readonly string[];
  /** EC2 instance families or types for the GPU render environments; empty for a farm without GPU queues. @default ["g5","g6"] */
  readonly gpuInstanceTypes?: readonly string[];
  /** Blender versions to offer, one job definition (and image tag `blender-<version>`) each: ["3.6.0","4.2.0"]. */
  readonly blenderVersions: readonly string[];
  /** Verified SES sender for render notifications; also created as an SES e-mail identity. @default no e-mail */
  readonly notificationEmail?: string;
  /**
   * Create notificationEmail's SES identity in the stack. Pass false when the identity exists
   * already (verified earlier, or used by another farm): CloudFormation fails on an existing one.
   * @default true
   */
  readonly createEmailIdentity?: boolean;
  /** Days CloudWatch keeps the jobs' logs (a value CloudWatch Logs accepts). @default 30 */
  readonly logRetentionDays?: number;
  /** The default cost cap per render, US dollars (`render` uses it unless given --max-cost). @default no cap */
  readonly maxCostUsd?: number;
  /** Days a render's outputs stay in the bucket before they expire. @default 90 */
  readonly renderRetentionDays?: number;
  /**
   * Public key (PEM) of the farm's signed output links, made by `farm deploy`: with it the stack adds a
   * CloudFront distribution whose links last as long as the e-mail says. @default none (presigned S3 links)
   */
  readonly linkPublicKey?: string;
};

/** FarmStackProps with every default filled in and every value checked. */
export type ResolvedFarmProps = {
  readonly farmName: string;
  readonly region: string | undefined;
  readonly account: string | undefined;
  readonly private: boolean;
  readonly maxVcpus: number;
  readonly spotBidPercentage: number;
  readonly cpuInstanceTypes: readonly string[];
  readonly gpuInstanceTypes: readonly string[];
  readonly blenderVersions: readonly string[];
  readonly notificationEmail: string | undefined;
  readonly createEmailIdentity: boolean;
  readonly logRetentionDays: number;
  readonly renderRetentionDays: number;
  readonly linkPublicKey: string | undefined;
  readonly maxCostUsd: number | undefined;
};

export const FARM_DEFAULTS = {
  private: false,
  maxVcpus: 256,
  spotBidPercentage: 100,
  cpuInstanceTypes: ["c6i", "m6i", "c7i", "m7i"],
  gpuInstanceTypes: ["g5", "g6"],
  logRetentionDays: 30,
  renderRetentionDays: 90,
} as const;

/** The retention periods CloudWatch Logs accepts (PutRetentionPolicy). */
export const LOG_RETENTION_DAYS = [
  1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653,
] as const;

const FARM_NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9-]{0,62}$/;
// A family ("c6i", "g5") or a type ("c6i.2xlarge", "g6.xlarge"), as AWS Batch takes them.
const INSTANCE_TYPE_PATTERN = /^[a-z][a-z0-9-]*[0-9][a-z0-9-]*(\.[a-z0-9-]+)?$/;
// Deliberately loose: SES is the authority; this only catches obvious typos.
const EMAIL_PATTERN = /^[^\s@<>"]+@[^\s@<>"]+\.[^\s@<>".]+$/;
const MAX_VCPUS_LIMIT = 100_000;

/** Fills in the defaults and checks every value; throws UserInputError naming the bad value and how to fix it. */
export function resolveFarmProps(props: FarmStackProps): ResolvedFarmProps {
  if (!FARM_NAME_PATTERN.test(props.farmName)) {
    throw new UserInputError(
      `Farm name ${JSON.stringify(props.farmName)} is invalid: use 1 to 63 letters, digits or -, starting with a letter or digit.`,
    );
  }
  const maxVcpus = props.maxVcpus ?? FARM_DEFAULTS.maxVcpus;
  if (!Number.isInteger(maxVcpus) || maxVcpus < 1 || maxVcpus > MAX_VCPUS_LIMIT) {
    throw new UserInputError(`--max-vcpus "${maxVcpus}" is invalid: use a whole number from 1 to ${MAX_VCPUS_LIMIT} (e.g. --max-vcpus 256).`);
  }
  const spotBidPercentage = props.spotBidPercentage ?? FARM_DEFAULTS.spotBidPercentage;
  if (!Number.isInteger(spotBidPercentage) || spotBidPercentage < 1 || spotBidPercentage > 100) {
    throw new UserInputError(`--spot-bid "${spotBidPercentage}" is invalid: use a whole percentage of the on-demand price from 1 to 100.`);
  }
  const cpuInstanceTypes = checkInstanceTypes(props.cpuInstanceTypes ?? FARM_DEFAULTS.cpuInstanceTypes, "CPU");
  const gpuInstanceTypes = checkInstanceTypes(props.gpuInstanceTypes ?? FARM_DEFAULTS.gpuInstanceTypes, "GPU");
  if (cpuInstanceTypes.length === 0 && gpuInstanceTypes.length === 0) {
    throw new UserInputError("The farm has no render instance types: give CPU instance types (e.g. c6i), GPU ones (e.g. g5), or both.");
  }
  const blenderVersions = checkBlenderVersions(props.blenderVersions);
  const notificationEmail = props.notificationEmail?.trim() || undefined;
  if (notificationEmail !== undefined && !EMAIL_PATTERN.test(notificationEmail)) {
    throw new UserInputError(`Notification e-mail "${notificationEmail}" is not an e-mail address: use one like renders@example.com.`);
  }
  const logRetentionDays = props.logRetentionDays ?? FARM_DEFAULTS.logRetentionDays;
  if (!(LOG_RETENTION_DAYS as readonly number[]).includes(logRetentionDays)) {
    throw new UserInputError(
      `Log retention "${logRetentionDays}" days is not one CloudWatch Logs accepts: use one of ${LOG_RETENTION_DAYS.join(", ")}.`,
    );
  }
  const renderRetentionDays = props.renderRetentionDays ?? FARM_DEFAULTS.renderRetentionDays;
  if (!Number.isInteger(renderRetentionDays) || renderRetentionDays < 1) {
    throw new UserInputError(`Render retention "${renderRetentionDays}" days is invalid: use a whole number of days, at least 1 (e.g. 90).`);
  }
  if (props.maxCostUsd !== undefined && !(Number.isFinite(props.maxCostUsd) && props.maxCostUsd > 0)) {
    throw new UserInputError(`--max-cost "${props.maxCostUsd}" is not an amount of US dollars: give a positive number (e.g. --max-cost 20), or none for no default cap.`);
  }
  return {
    farmName: props.farmName,
    region: props.region?.trim() || undefined,
    account: props.account?.trim() || undefined,
    private: props.private ?? FARM_DEFAULTS.private,
    maxVcpus,
    spotBidPercentage,
    cpuInstanceTypes,
    gpuInstanceTypes,
    blenderVersions,
    notificationEmail,
    createEmailIdentity: props.createEmailIdentity ?? true,
    logRetentionDays,
    renderRetentionDays,
    linkPublicKey: checkPublicKey(props.linkPublicKey),
    maxCostUsd: props.maxCostUsd,
  };
}

function checkPublicKey(pem: string | undefined): string | undefined {
  const trimmed = pem?.trim();
  if (!trimmed) return undefined;
  if (!/^-----BEGIN PUBLIC KEY-----\n[A-Za-z0-9+/=\n]+\n-----END PUBLIC KEY-----$/.test(trimmed)) {
    throw new UserInputError("The link signing key is not a PEM public key (-----BEGIN PUBLIC KEY-----): let 'brender farm deploy' make it.");
  }
  return trimmed;
}

function checkInstanceTypes(types: readonly string[], kind: "CPU" | "GPU"): readonly string[] {
  const cleaned = types.map((type) => type.trim());
  for (const type of cleaned) {
    if (!INSTANCE_TYPE_PATTERN.test(type)) {
      throw new UserInputError(`${kind} instance type "${type}" is invalid: use an EC2 family like "c6i" or a type like "c6i.2xlarge".`);
    }
  }
  return [...new Set(cleaned)];
}

function checkBlenderVersions(versions: readonly string[]): readonly string[] {
  const cleaned = [...new Set(versions.map((version) => version.trim()))];
  if (cleaned.length === 0) {
    throw new UserInputError("The farm has no Blender version: pick at least one, e.g. --blender 4.2.0.");
  }
  for (const version of cleaned) {
    if (!BLENDER_VERSION_PATTERN.test(version)) {
      throw new UserInputError(`Blender version "${version}" is invalid: use a release number like 4.2.0 or 3.6.`);
    }
    // The image build downloads one exact release; `farm synth/deploy` resolve a series (4.2) before this.
    if (!/^\d+\.\d+\.\d+$/.test(version)) {
      throw new UserInputError(`Blender version "${version}" is a series, not a release the image can be built from: give the full version, e.g. ${version}.0.`);
    }
  }
  return cleaned;
}
