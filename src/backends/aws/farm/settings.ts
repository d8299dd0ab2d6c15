/**
 * A farm's settings and names (pure): what a deploy request resolves to,
 * the synthesizer's props, the checks on farm names and Blender versions,
 * and the keys, tags and output names the farm commands share.
 */
import { UserInputError } from "../../../errors.ts";
import { BLENDER_VERSION_PATTERN } from "../farm-resources.ts";

/** What deploy hands the stack synthesizer: a subset of src/infra's FarmStackProps (the rest keep their defaults). */
export type FarmTemplateProps = {
  readonly farmName: string;
  readonly region?: string;
  readonly private?: boolean;
  readonly maxVcpus?: number;
  readonly spotBidPercentage?: number;
  readonly blenderVersions: string[];
  readonly notificationEmail?: string;
  readonly maxCostUsd?: number;
  /** Whether the stack declares the SES identity; deploy manages it through the SDK instead (see templateProps). */
  readonly createEmailIdentity?: boolean;
  /** Public key (PEM) of the signed output links: with it the stack has the CloudFront link distribution. */
  readonly linkPublicKey?: string;
};

/**
 * Output keys beyond the CLI's contract (FARM_OUTPUTS) that deploy and
 * destroy need: src/infra/farm-stack.ts's FARM_INFRA_OUTPUTS, repeated here so
 * the CLI does not load aws-cdk-lib for a deploy's every other step.
 */
export const BUILD_OUTPUTS = {
  imageRepository: "ImageRepository",
  imageBuildProject: "ImageBuildProject",
  fileSystemId: "FileSystemId",
  sourceKey: "SourceKey",
  linkKeySecret: "LinkKeySecretArn",
} as const;

/** Where the image source goes when the stack does not say (it should: SourceKey). */
export const DEFAULT_SOURCE_KEY = "build/source.zip";
/** S3 user metadata holding the uploaded source's digest (S3 lower-cases metadata keys). */
export const SOURCE_DIGEST_METADATA = "source-digest";
/** The farm's settings of its last deploy, in its bucket, so a later deploy keeps what it is not told to change. */
export const FARM_SETTINGS_KEY = "brender/farm-settings.json";
/** CloudFormation takes at most this many bytes in TemplateBody; larger templates go through S3 (TemplateURL). */
export const MAX_TEMPLATE_BODY_BYTES = 51_200;
/** Blender versions of a new farm deployed without --blender. */
export const DEFAULT_BLENDER_VERSIONS: readonly string[] = ["4.2.0"];
/** The tag every farm resource and the stack carry (as src/infra/farm-stack.ts's FARM_TAG_KEY). */
export const FARM_TAG = "brender:farm";
/**
 * Tag on an SES identity deploy created with the SDK (value: the farm), so
 * destroy deletes that one and nothing else: not an identity the user had
 * before, nor one the stack owns (that one carries FARM_TAG and goes with
 * the stack).
 */
export const SES_IDENTITY_TAG = "brender:created-by-deploy";

/** Same rule as farm-resources.ts's (private there): a stack name part and a bucket-name-safe word. */
const FARM_NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9-]{0,62}$/;

/** The image tag of a Blender version in the farm's repository. */
export function imageTag(blenderVersion: string): string {
  return `blender-${blenderVersion}`;
}

/** What the user asked for; absent fields keep the farm's previous settings (or the defaults). */
export type FarmDeployRequest = {
  readonly name: string;
  readonly private?: boolean;
  readonly maxVcpus?: number;
  readonly spotBidPercentage?: number;
  readonly blenderVersions?: readonly string[];
  readonly email?: string;
  /** The default cost cap per render; "none" removes the farm's. */
  readonly maxCost?: number | "none";
};

/** The settings a farm is deployed with (stored in its bucket after each deploy). */
export type FarmSettings = {
  readonly private: boolean;
  readonly maxVcpus?: number;
  readonly spotBidPercentage?: number;
  readonly blenderVersions: string[];
  readonly notificationEmail?: string;
  /** Public key of the signed output links (its private half is only in the farm's secret); kept across deploys so links stay valid. */
  readonly linkPublicKey?: string;
  /** The default cost cap per render, US dollars. */
  readonly maxCostUsd?: number;
};

/** Merges a request with the farm's previous settings (pure): what is not asked for stays as it was. */
export function resolveFarmSettings(request: FarmDeployRequest, previous: FarmSettings | undefined): FarmSettings {
  const maxVcpus = request.maxVcpus ?? previous?.maxVcpus;
  const spotBidPercentage = request.spotBidPercentage ?? previous?.spotBidPercentage;
  const notificationEmail = request.email ?? previous?.notificationEmail;
  const maxCostUsd = request.maxCost === "none" ? undefined : (request.maxCost ?? previous?.maxCostUsd);
  return {
    private: request.private ?? previous?.private ?? false,
    blenderVersions: [...(request.blenderVersions ?? previous?.blenderVersions ?? DEFAULT_BLENDER_VERSIONS)],
    ...(maxVcpus !== undefined ? { maxVcpus } : {}),
    ...(spotBidPercentage !== undefined ? { spotBidPercentage } : {}),
    ...(notificationEmail !== undefined ? { notificationEmail } : {}),
    ...(previous?.linkPublicKey !== undefined ? { linkPublicKey: previous.linkPublicKey } : {}),
    ...(maxCostUsd !== undefined ? { maxCostUsd } : {}),
  };
}

/** The synthesizer's props for a farm (pure). */
export function templateProps(name: string, settings: FarmSettings, region: string | undefined): FarmTemplateProps {
  return {
    farmName: name,
    ...(region !== undefined ? { region } : {}),
    private: settings.private,
    blenderVersions: [...settings.blenderVersions],
    ...(settings.maxVcpus !== undefined ? { maxVcpus: settings.maxVcpus } : {}),
    ...(settings.spotBidPercentage !== undefined ? { spotBidPercentage: settings.spotBidPercentage } : {}),
    ...(settings.maxCostUsd !== undefined ? { maxCostUsd: settings.maxCostUsd } : {}),
    // The identity is created (and verified, and later deleted) by deploy through SES: declared in the
    // stack, an address already verified in the account, or shared by two farms, would fail the stack.
    ...(settings.notificationEmail !== undefined ? { notificationEmail: settings.notificationEmail, createEmailIdentity: false } : {}),
    ...(settings.linkPublicKey !== undefined ? { linkPublicKey: settings.linkPublicKey } : {}),
  };
}

/** Throws UserInputError when a farm name cannot name a stack and its resources. */
export function checkFarmName(name: string): void {
  if (!FARM_NAME_PATTERN.test(name)) {
    throw new UserInputError(
      `Farm name ${JSON.stringify(name)} is invalid: use 1 to 63 letters, digits or -, starting with a letter or digit.`,
    );
  }
}

/** Throws UserInputError for a version that is not like 4.2.0 or 4.2 (a series, which farm synth/deploy resolve). */
export function checkBlenderVersions(versions: readonly string[]): void {
  if (versions.length === 0) throw new UserInputError("--blender lists no version: give at least one, e.g. --blender 4.2.0.");
  for (const version of versions) {
    if (!BLENDER_VERSION_PATTERN.test(version)) {
      throw new UserInputError(`Blender version "${version}" is invalid: use versions like 3.6.0 or 4.2.0, comma-separated.`);
    }
  }
}

/** Throws UserInputError unless every version is a full release like 4.2.0 (what an image can be built from). */
export function checkBlenderReleases(versions: readonly string[]): void {
  checkBlenderVersions(versions);
  const series = versions.find((version) => !/^\d+\.\d+\.\d+$/.test(version));
  if (series !== undefined) {
    throw new UserInputError(`Blender version "${series}" is a series, not a release the image can be built from: give the full version, e.g. ${series}.0.`);
  }
}
