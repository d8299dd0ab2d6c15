/**
 * `brender farm deploy`: synthesize the stack, create or update it (showing
 * CloudFormation's events), upload the worker image's source to the farm's
 * bucket (only when its digest changed), build in CodeBuild the images whose
 * tag ECR lacks (showing each build's phases), start SES verification of the
 * notification address, then summarize the outputs and the fixed monthly
 * cost.
 */
import { GetObjectCommand, PutObjectCommand, type S3Client } from "@aws-sdk/client-s3";
import { PutSecretValueCommand } from "@aws-sdk/client-secrets-manager";
import { makeLinkKeyPair, type LinkKeyPair } from "./link-key.ts";
import { JobFailedError, UserInputError } from "../../../errors.ts";
import { IO_INSTANCE_TYPES, resolveFarmProps } from "../../../infra/farm-props.ts";
import { unofferedInstanceTypes } from "./instance-offerings.ts";
import { FARM_OUTPUTS, farmStackName } from "../farm-resources.ts";
import { estimateFixedMonthlyCost, formatUsd, type FarmCostEstimate } from "../farm-cost.ts";
import { isNotFound } from "./aws-errors.ts";
import { DEFAULT_PACING, type FarmClients, type Pacing, type Report } from "./clients.ts";
import { startEmailVerification, type EmailVerification } from "./email-identity.ts";
import { buildMissingImages, uploadSource, type BuildResult, type ImageSource } from "./image-build.ts";
import {
  BUILD_OUTPUTS,
  DEFAULT_SOURCE_KEY,
  FARM_SETTINGS_KEY,
  checkBlenderReleases,
  checkFarmName,
  resolveFarmSettings,
  templateProps,
  type FarmDeployRequest,
  type FarmSettings,
  type FarmTemplateProps,
} from "./settings.ts";
import {
  clearFailedCreate,
  createStack,
  describeStack,
  requiredOutput,
  stackOutputs,
  updateStack,
  type StackChange,
} from "./stack.ts";
import { templateSource } from "./template-source.ts";

/** Synthesizes the farm's CloudFormation template in-process (src/infra/synth.ts's synthFarmTemplate). */
export type SynthesizeFarm = (props: FarmTemplateProps) => { readonly stackName: string; readonly templateJson: string };

export type DeployDeps = {
  readonly clients: FarmClients;
  readonly synthesize: SynthesizeFarm;
  readonly imageSource: ImageSource;
  readonly report: Report;
  readonly pacing?: Pacing;
};

export type DeployResult = {
  readonly stackName: string;
  readonly region: string;
  /** What happened to the stack. */
  readonly stack: StackChange;
  readonly outputs: Record<string, string>;
  readonly settings: FarmSettings;
  readonly sourceUploaded: boolean;
  /** Versions whose image was already in ECR. */
  readonly imagesPresent: readonly string[];
  readonly builds: readonly BuildResult[];
  readonly email?: EmailVerification;
  readonly cost: FarmCostEstimate;
};

/**
 * Creates or updates farm `request.name` and builds its missing images.
 * Throws UserInputError for bad requests or a stack that cannot be deployed
 * now, JobFailedError (exit 1) when the stack or an image build fails.
 */
export async function deployFarm(request: FarmDeployRequest, deps: DeployDeps): Promise<DeployResult> {
  const { clients, report } = deps;
  const pacing = deps.pacing ?? DEFAULT_PACING;
  const cfn = clients.cloudFormation;
  checkFarmName(request.name);
  if (request.blenderVersions) checkBlenderReleases(request.blenderVersions);
  const region = await clients.cloudFormation.config.region();
  const stackName = farmStackName(request.name);

  let existing = await describeStack(cfn, stackName);
  if (existing) existing = await clearFailedCreate(existing, request.name, cfn, report, pacing);
  const previous = existing ? await readSettings(clients.s3, stackOutputs(existing)) : undefined;
  const resolved = resolveFarmSettings(request, previous);
  // The links' key is made once and kept (settings): a new one would void every link already e-mailed.
  const newLinkKey = resolved.linkPublicKey === undefined ? makeLinkKeyPair() : undefined;
  const settings: FarmSettings = newLinkKey ? { ...resolved, linkPublicKey: newLinkKey.publicKeyPem } : resolved;

  // A family the region does not sell fails its compute environment and rolls the whole stack back.
  const props = resolveFarmProps(templateProps(request.name, settings, region));
  const unoffered = await unofferedInstanceTypes(clients.ec2, [...new Set([...props.cpuInstanceTypes, ...props.gpuInstanceTypes, ...IO_INSTANCE_TYPES])]);
  if (unoffered.length > 0) {
    throw new UserInputError(
      `EC2 in ${region} does not offer ${unoffered.join(", ")}: the farm's compute environments would fail and the stack roll back. Deploy in another region (--region), or ask for farms without these families.`,
    );
  }

  report(`==> Synthesizing ${stackName} (${describeSettings(settings)})`);
  const synthesized = deps.synthesize(templateProps(request.name, settings, region));
  const template = await templateSource(clients, stackName, synthesized.templateJson, region, report);

  const stackResult = existing
    ? await updateStack(existing, template, request.name, cfn, report, pacing)
    : await createStack(stackName, template, request.name, cfn, report, pacing);
  const outputs = stackOutputs(stackResult.stack);

  const bucket = requiredOutput(outputs, FARM_OUTPUTS.bucket, request.name);
  if (newLinkKey) await storeLinkKey(clients, outputs, newLinkKey, report);
  const sourceKey = outputs[BUILD_OUTPUTS.sourceKey] ?? DEFAULT_SOURCE_KEY;
  report(`==> Uploading the worker image's source to s3://${bucket}/${sourceKey}`);
  const sourceUploaded = await uploadSource(clients.s3, bucket, sourceKey, deps.imageSource, report);

  report("==> Worker images");
  // A new worker source (a Brender upgrade) makes every image stale; otherwise only missing versions are built.
  const images = await buildMissingImages(clients, outputs, settings.blenderVersions, request.name, report, pacing, sourceUploaded);

  let email: DeployResult["email"];
  if (settings.notificationEmail !== undefined) {
    report(`==> Notification e-mail ${settings.notificationEmail}`);
    email = await startEmailVerification(clients.ses, settings.notificationEmail, request.name, report, request.email !== undefined);
  }

  await clients.s3.send(
    new PutObjectCommand({ Bucket: bucket, Key: FARM_SETTINGS_KEY, Body: JSON.stringify(settings), ContentType: "application/json" }),
  );

  const cost = estimateFixedMonthlyCost({ private: settings.private, blenderVersions: settings.blenderVersions });
  reportSummary(request.name, region, stackResult.kind, outputs, cost, report);

  const failed = images.builds.filter((build) => build.status !== "SUCCEEDED");
  if (failed.length > 0) {
    const first = failed[0]!;
    throw new JobFailedError(
      `The image build for Blender ${failed.map((build) => build.blenderVersion).join(", ")} failed (${first.reason ?? first.status}${first.logs ? `; logs: ${first.logs}` : ""}): fix it and run 'brender farm deploy ${request.name}' again, which builds only the missing images.`,
    );
  }
  return {
    stackName,
    region,
    stack: stackResult.kind,
    outputs,
    settings,
    sourceUploaded,
    imagesPresent: images.present,
    builds: images.builds,
    ...(email !== undefined ? { email } : {}),
    cost,
  };
}

/** Writes a new links key's private half into the stack's secret (never into the template or the settings). */
async function storeLinkKey(clients: FarmClients, outputs: Record<string, string>, key: LinkKeyPair, report: Report): Promise<void> {
  const secretId = outputs[BUILD_OUTPUTS.linkKeySecret];
  if (!secretId) {
    report("  The stack has no link signing secret: e-mailed links stay presigned S3 URLs, which end with the job's credentials.");
    return;
  }
  await clients.secretsManager.send(new PutSecretValueCommand({ SecretId: secretId, SecretString: key.privateKeyPem }));
  report(`==> Signed output links: key stored in ${secretId}`);
}

/** The settings in one line, for the synthesize step's heading. */
function describeSettings(settings: FarmSettings): string {
  return [
    settings.private ? "private subnets + NAT gateway" : "public subnets",
    `Blender ${settings.blenderVersions.join(", ")}`,
    ...(settings.maxVcpus !== undefined ? [`max ${settings.maxVcpus} vCPUs`] : []),
    ...(settings.spotBidPercentage !== undefined ? [`spot bid ${settings.spotBidPercentage}%`] : []),
    ...(settings.maxCostUsd !== undefined ? [`default cost cap $${settings.maxCostUsd} per render`] : []),
  ].join("; ");
}

/** The settings stored by the last deploy, or undefined (first deploy, or unreadable). */
async function readSettings(s3: S3Client, outputs: Record<string, string>): Promise<FarmSettings | undefined> {
  const bucket = outputs[FARM_OUTPUTS.bucket];
  if (!bucket) return undefined;
  try {
    const answer = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: FARM_SETTINGS_KEY }));
    const text = await answer?.Body?.transformToString();
    if (!text) return undefined;
    const value = JSON.parse(text) as Partial<FarmSettings>;
    if (!Array.isArray(value.blenderVersions) || typeof value.private !== "boolean") return undefined;
    return value as FarmSettings;
  } catch (error) {
    if (isNotFound(error) || error instanceof SyntaxError) return undefined;
    throw error;
  }
}

/** The closing lines: the stack's outputs, the fixed monthly cost and how to render on the farm. */
function reportSummary(
  name: string,
  region: string,
  kind: DeployResult["stack"],
  outputs: Record<string, string>,
  cost: FarmCostEstimate,
  report: Report,
): void {
  report(`==> Farm "${name}" ${kind === "created" ? "created" : kind === "updated" ? "updated" : "is up to date"} in ${region}`);
  const width = Math.max(0, ...Object.keys(outputs).map((key) => key.length));
  for (const key of Object.keys(outputs).sort()) report(`  ${key.padEnd(width)}  ${outputs[key]}`);
  report(`  Estimated fixed cost: ${formatUsd(cost.usdPerMonth)}/month when idle (${cost.note})`);
  for (const line of cost.lines) report(`    ${line.item}: ${formatUsd(line.usdPerMonth)} (${line.basis})`);
  report(`  Render with: brender render scene.blend --backend aws --farm ${name}${region ? ` --region ${region}` : ""}`);
}
