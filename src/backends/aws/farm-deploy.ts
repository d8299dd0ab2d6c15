/**
 * `brender farm deploy | destroy | list | status`: the orchestration of a
 * farm's life in the user's AWS account, over injected SDK clients so tests
 * drive it with mocks and no time passes between polls.
 *
 * Deploy: synthesize the stack, create or update it (showing CloudFormation's
 * events), upload the worker image's source to the farm's bucket (only when
 * its digest changed), build in CodeBuild the images whose tag ECR lacks
 * (showing each build's phases), start SES verification of the notification
 * address, then summarize the outputs and the fixed monthly cost.
 *
 * Destroy: empty the bucket and the image repository (CloudFormation cannot
 * delete either while it holds anything, and the stack carries no
 * custom-resource Lambda to do it), delete the SES identity deploy created,
 * then delete the stack and wait.
 */
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as delay } from "node:timers/promises";
import {
  CreateStackCommand,
  DeleteStackCommand,
  DescribeStackEventsCommand,
  DescribeStacksCommand,
  ListStacksCommand,
  UpdateStackCommand,
  type CloudFormationClient,
  type Stack,
  type StackEvent,
  type StackStatus,
} from "@aws-sdk/client-cloudformation";
import {
  CreateBucketCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListObjectVersionsCommand,
  PutObjectCommand,
  type ObjectIdentifier,
  type S3Client,
} from "@aws-sdk/client-s3";
import {
  BatchGetBuildsCommand,
  ListBuildsForProjectCommand,
  StartBuildCommand,
  type Build,
  type CodeBuildClient,
} from "@aws-sdk/client-codebuild";
import { BatchDeleteImageCommand, DescribeImagesCommand, ListImagesCommand, type ECRClient } from "@aws-sdk/client-ecr";
import {
  CreateEmailIdentityCommand,
  DeleteEmailIdentityCommand,
  GetEmailIdentityCommand,
  type SESv2Client,
} from "@aws-sdk/client-sesv2";
import { GetCallerIdentityCommand, type STSClient } from "@aws-sdk/client-sts";
import { DescribeComputeEnvironmentsCommand, DescribeJobQueuesCommand, type BatchClient } from "@aws-sdk/client-batch";
import { createHash } from "node:crypto";
import { JobFailedError, UserInputError } from "../../errors.ts";
import { BLENDER_VERSION_PATTERN, FARM_OUTPUTS, farmStackName } from "./farm-resources.ts";
import { estimateFixedMonthlyCost, formatUsd, type FarmCostEstimate } from "./farm-cost.ts";

/** The SDK clients a farm command talks to, all in the farm's region. */
export type FarmClients = {
  readonly cloudFormation: CloudFormationClient;
  readonly s3: S3Client;
  readonly codeBuild: CodeBuildClient;
  readonly ecr: ECRClient;
  readonly ses: SESv2Client;
  readonly sts: STSClient;
  readonly batch: BatchClient;
};

/** What deploy hands the stack synthesizer: a subset of src/infra's FarmStackProps (the rest keep their defaults). */
export type FarmTemplateProps = {
  readonly farmName: string;
  readonly region?: string;
  readonly private?: boolean;
  readonly maxVcpus?: number;
  readonly spotBidPercentage?: number;
  readonly blenderVersions: string[];
  readonly notificationEmail?: string;
  /** Whether the stack declares the SES identity; deploy manages it through the SDK instead (see templateProps). */
  readonly createEmailIdentity?: boolean;
};

/** Synthesizes the farm's CloudFormation template in-process (src/infra/synth.ts's synthFarmTemplate). */
export type SynthesizeFarm = (props: FarmTemplateProps) => { readonly stackName: string; readonly templateJson: string };

/** Builds the worker image's source zip and its digest (src/infra/image-source.ts). */
export type ImageSource = {
  readonly bundle: (outFile: string) => Promise<{ readonly file: string; readonly bytes: number }>;
  readonly digest: (zipFile: string) => Promise<string>;
};

/** How often to poll and how to wait; tests pass a sleep that returns at once. */
export type Pacing = {
  readonly stackPollMs: number;
  readonly buildPollMs: number;
  readonly sleep: (ms: number) => Promise<void>;
};

export const DEFAULT_PACING: Pacing = { stackPollMs: 5_000, buildPollMs: 10_000, sleep: (ms) => delay(ms) };

/** Progress lines for the user (stdout in the CLI). */
export type Report = (line: string) => void;

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

const STACK_CAPABILITIES = ["CAPABILITY_IAM", "CAPABILITY_NAMED_IAM"] as const;
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
};

/** The settings a farm is deployed with (stored in its bucket after each deploy). */
export type FarmSettings = {
  readonly private: boolean;
  readonly maxVcpus?: number;
  readonly spotBidPercentage?: number;
  readonly blenderVersions: string[];
  readonly notificationEmail?: string;
};

/** Merges a request with the farm's previous settings (pure): what is not asked for stays as it was. */
export function resolveFarmSettings(request: FarmDeployRequest, previous: FarmSettings | undefined): FarmSettings {
  const maxVcpus = request.maxVcpus ?? previous?.maxVcpus;
  const spotBidPercentage = request.spotBidPercentage ?? previous?.spotBidPercentage;
  const notificationEmail = request.email ?? previous?.notificationEmail;
  return {
    private: request.private ?? previous?.private ?? false,
    blenderVersions: [...(request.blenderVersions ?? previous?.blenderVersions ?? DEFAULT_BLENDER_VERSIONS)],
    ...(maxVcpus !== undefined ? { maxVcpus } : {}),
    ...(spotBidPercentage !== undefined ? { spotBidPercentage } : {}),
    ...(notificationEmail !== undefined ? { notificationEmail } : {}),
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
    // The identity is created (and verified, and later deleted) by deploy through SES: declared in the
    // stack, an address already verified in the account, or shared by two farms, would fail the stack.
    ...(settings.notificationEmail !== undefined ? { notificationEmail: settings.notificationEmail, createEmailIdentity: false } : {}),
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

/** Throws UserInputError for a version that is not like 4.2.0. */
export function checkBlenderVersions(versions: readonly string[]): void {
  if (versions.length === 0) throw new UserInputError("--blender lists no version: give at least one, e.g. --blender 4.2.0.");
  for (const version of versions) {
    if (!BLENDER_VERSION_PATTERN.test(version)) {
      throw new UserInputError(`Blender version "${version}" is invalid: use versions like 3.6.0 or 4.2.0, comma-separated.`);
    }
  }
}

// ---------------------------------------------------------------------------
// CloudFormation

/** "Stack with id X does not exist" comes back as a ValidationError. */
function isMissingStack(error: unknown): boolean {
  return error instanceof Error && error.name === "ValidationError" && /does not exist/i.test(error.message);
}

function isNoUpdate(error: unknown): boolean {
  return error instanceof Error && /no updates are to be performed/i.test(error.message);
}

async function describeStack(cfn: CloudFormationClient, stackNameOrId: string): Promise<Stack | undefined> {
  try {
    const answer = await cfn.send(new DescribeStacksCommand({ StackName: stackNameOrId }));
    return answer.Stacks?.[0];
  } catch (error) {
    if (isMissingStack(error)) return undefined;
    throw error;
  }
}

/** A stack's outputs as a plain record (pure). */
export function stackOutputs(stack: Stack): Record<string, string> {
  const outputs: Record<string, string> = {};
  for (const output of stack.Outputs ?? []) {
    if (output.OutputKey !== undefined && output.OutputValue !== undefined) outputs[output.OutputKey] = output.OutputValue;
  }
  return outputs;
}

function isInProgress(status: string | undefined): boolean {
  return status !== undefined && status.endsWith("_IN_PROGRESS");
}

/** Time of day of an event, as the user's clock shows it. */
function clock(date: Date | undefined): string {
  return (date ?? new Date()).toTimeString().slice(0, 8);
}

/** One line per stack event: time, resource, status, reason (pure). */
export function formatStackEvent(event: StackEvent): string {
  const resource = event.LogicalResourceId ?? "?";
  const type = event.ResourceType ? ` (${event.ResourceType})` : "";
  const reason = event.ResourceStatusReason ? `: ${event.ResourceStatusReason}` : "";
  return `  ${clock(event.Timestamp)}  ${resource}${type}  ${event.ResourceStatus ?? ""}${reason}`;
}

/** Follows a stack's events newest-first until one already seen; returns the new ones oldest first. */
class StackEventTail {
  private readonly seen = new Set<string>();
  private readonly cfn: CloudFormationClient;
  private readonly stackId: string;
  /** The newest event before the operation began: it and older ones are history. */
  private readonly since: string | undefined;

  constructor(cfn: CloudFormationClient, stackId: string, since: string | undefined) {
    this.cfn = cfn;
    this.stackId = stackId;
    this.since = since;
  }

  async next(): Promise<StackEvent[]> {
    const fresh: StackEvent[] = [];
    let token: string | undefined;
    do {
      const page = await this.cfn.send(new DescribeStackEventsCommand({ StackName: this.stackId, NextToken: token }));
      for (const event of page.StackEvents ?? []) {
        const id = event.EventId ?? "";
        if (id === this.since || this.seen.has(id)) return this.remember(fresh);
        fresh.push(event);
      }
      token = page.NextToken;
    } while (token);
    return this.remember(fresh);
  }

  private remember(newestFirst: StackEvent[]): StackEvent[] {
    for (const event of newestFirst) this.seen.add(event.EventId ?? "");
    return newestFirst.reverse();
  }
}

async function newestEventId(cfn: CloudFormationClient, stackId: string): Promise<string | undefined> {
  const page = await cfn.send(new DescribeStackEventsCommand({ StackName: stackId }));
  return page.StackEvents?.[0]?.EventId;
}

type StackOutcome = { readonly status: string; readonly stack: Stack | undefined; readonly events: readonly StackEvent[] };

/** Prints the stack's new events until its status stops being *_IN_PROGRESS. */
async function watchStack(
  cfn: CloudFormationClient,
  stackId: string,
  since: string | undefined,
  report: Report,
  pacing: Pacing,
): Promise<StackOutcome> {
  const tail = new StackEventTail(cfn, stackId, since);
  const events: StackEvent[] = [];
  for (;;) {
    // Status first, then events: the events of a stack that just finished are all printed.
    const stack = await describeStack(cfn, stackId);
    const status = stack?.StackStatus ?? "DELETE_COMPLETE";
    const fresh = await tail.next();
    for (const event of fresh) report(formatStackEvent(event));
    events.push(...fresh);
    if (!isInProgress(status)) return { status, stack, events };
    await pacing.sleep(pacing.stackPollMs);
  }
}

/**
 * Why an operation failed: the first `<operation>_FAILED` event's reason
 * (later ones are mostly "Resource creation cancelled"), else the stack's.
 */
export function firstFailure(events: readonly StackEvent[], operation: "CREATE" | "UPDATE" | "DELETE", stack?: Stack): string {
  const failed = events.find(
    (event) => event.ResourceStatus === `${operation}_FAILED` && !/cancelled/i.test(event.ResourceStatusReason ?? ""),
  );
  if (failed) return `${failed.LogicalResourceId ?? "a resource"}: ${failed.ResourceStatusReason ?? "no reason given"}`;
  return stack?.StackStatusReason ?? "CloudFormation gave no reason";
}

/** Where CloudFormation reads the template from: inline, or an S3 URL for large ones. */
type TemplateSource = { TemplateBody: string } | { TemplateURL: string };

async function templateSource(
  clients: FarmClients,
  stackName: string,
  templateJson: string,
  region: string,
  report: Report,
): Promise<TemplateSource> {
  const bytes = Buffer.byteLength(templateJson);
  if (bytes <= MAX_TEMPLATE_BODY_BYTES) return { TemplateBody: templateJson };
  const identity = await clients.sts.send(new GetCallerIdentityCommand({}));
  const bucket = `brender-deploy-${identity.Account ?? "account"}-${region}`;
  await ensureBucket(clients.s3, bucket, region, report);
  const key = `templates/${stackName}/${createHash("sha256").update(templateJson).digest("hex")}.json`;
  await clients.s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: templateJson, ContentType: "application/json" }));
  report(`  template (${bytes} bytes, over CloudFormation's ${MAX_TEMPLATE_BODY_BYTES}) uploaded to s3://${bucket}/${key}`);
  return { TemplateURL: `https://${bucket}.s3.${region}.amazonaws.com/${key}` };
}

async function ensureBucket(s3: S3Client, bucket: string, region: string, report: Report): Promise<void> {
  try {
    await s3.send(new HeadBucketCommand({ Bucket: bucket }));
    return;
  } catch (error) {
    if (!isNotFound(error)) throw error;
  }
  // us-east-1 is the one region that refuses an explicit LocationConstraint.
  await s3.send(
    new CreateBucketCommand({
      Bucket: bucket,
      ...(region === "us-east-1" ? {} : { CreateBucketConfiguration: { LocationConstraint: region as never } }),
    }),
  );
  report(`  created the deploy bucket ${bucket}`);
}

function isNotFound(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  const status = (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
  return ["NotFound", "NoSuchBucket", "NoSuchKey"].includes(error.name) || status === 404;
}

// ---------------------------------------------------------------------------
// deploy

export type DeployDeps = {
  readonly clients: FarmClients;
  readonly synthesize: SynthesizeFarm;
  readonly imageSource: ImageSource;
  readonly report: Report;
  readonly pacing?: Pacing;
};

export type BuildResult = {
  readonly blenderVersion: string;
  readonly buildId: string;
  readonly status: string;
  /** Why a failed build failed: its failing phase and message. */
  readonly reason?: string;
  readonly logs?: string;
};

export type DeployResult = {
  readonly stackName: string;
  readonly region: string;
  /** What happened to the stack. */
  readonly stack: "created" | "updated" | "unchanged";
  readonly outputs: Record<string, string>;
  readonly settings: FarmSettings;
  readonly sourceUploaded: boolean;
  /** Versions whose image was already in ECR. */
  readonly imagesPresent: readonly string[];
  readonly builds: readonly BuildResult[];
  readonly email?: "verification-sent" | "pending" | "verified";
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
  if (request.blenderVersions) checkBlenderVersions(request.blenderVersions);
  const region = await clients.cloudFormation.config.region();
  const stackName = farmStackName(request.name);

  let existing = await describeStack(cfn, stackName);
  if (existing) existing = await clearFailedCreate(existing, request.name, cfn, report, pacing);
  const previous = existing ? await readSettings(clients.s3, stackOutputs(existing)) : undefined;
  const settings = resolveFarmSettings(request, previous);

  report(`==> Synthesizing ${stackName} (${describeSettings(settings)})`);
  const synthesized = deps.synthesize(templateProps(request.name, settings, region));
  const template = await templateSource(clients, stackName, synthesized.templateJson, region, report);

  const stackResult = existing
    ? await updateStack(existing, template, request.name, cfn, report, pacing)
    : await createStack(stackName, template, request.name, cfn, report, pacing);
  const outputs = stackOutputs(stackResult.stack);

  const bucket = requiredOutput(outputs, FARM_OUTPUTS.bucket, request.name);
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

function describeSettings(settings: FarmSettings): string {
  return [
    settings.private ? "private subnets + NAT gateway" : "public subnets",
    `Blender ${settings.blenderVersions.join(", ")}`,
    ...(settings.maxVcpus !== undefined ? [`max ${settings.maxVcpus} vCPUs`] : []),
    ...(settings.spotBidPercentage !== undefined ? [`spot bid ${settings.spotBidPercentage}%`] : []),
  ].join("; ");
}

/** A stack stuck after a failed first create cannot be updated; deletes it so deploy starts afresh. */
async function clearFailedCreate(
  stack: Stack,
  name: string,
  cfn: CloudFormationClient,
  report: Report,
  pacing: Pacing,
): Promise<Stack | undefined> {
  const status = stack.StackStatus ?? "";
  if (isInProgress(status)) {
    throw new UserInputError(
      `Farm "${name}" is busy (stack status ${status}): wait until 'brender farm status ${name}' shows it complete, then deploy again.`,
    );
  }
  if (status === "UPDATE_ROLLBACK_FAILED") {
    throw new UserInputError(
      `Farm "${name}" is stuck in UPDATE_ROLLBACK_FAILED: continue the rollback in the CloudFormation console (or 'aws cloudformation continue-update-rollback'), then deploy again.`,
    );
  }
  if (status !== "ROLLBACK_COMPLETE" && status !== "ROLLBACK_FAILED" && status !== "DELETE_FAILED") return stack;
  const stackId = stack.StackId ?? stack.StackName ?? "";
  report(`==> Removing what the last failed deploy left (stack status ${status})`);
  const since = await newestEventId(cfn, stackId);
  await cfn.send(new DeleteStackCommand({ StackName: stackId }));
  const outcome = await watchStack(cfn, stackId, since, report, pacing);
  if (outcome.status !== "DELETE_COMPLETE") {
    throw new JobFailedError(
      `Could not remove the failed stack of farm "${name}" (${firstFailure(outcome.events, "DELETE", outcome.stack)}): run 'brender farm destroy ${name} --yes', then deploy again.`,
    );
  }
  return undefined;
}

type StackResult = { readonly kind: DeployResult["stack"]; readonly stack: Stack };

async function createStack(
  stackName: string,
  template: TemplateSource,
  name: string,
  cfn: CloudFormationClient,
  report: Report,
  pacing: Pacing,
): Promise<StackResult> {
  report(`==> Creating stack ${stackName}`);
  const created = await cfn.send(
    new CreateStackCommand({
      StackName: stackName,
      ...template,
      Capabilities: [...STACK_CAPABILITIES],
      OnFailure: "ROLLBACK",
      Tags: [{ Key: FARM_TAG, Value: name }],
    }),
  );
  const stackId = created.StackId ?? stackName;
  const outcome = await watchStack(cfn, stackId, undefined, report, pacing);
  if (outcome.status !== "CREATE_COMPLETE" || outcome.stack === undefined) {
    const why = firstFailure(outcome.events, "CREATE", outcome.stack);
    const leftovers =
      outcome.status === "ROLLBACK_COMPLETE" || outcome.status === "DELETE_COMPLETE"
        ? "CloudFormation rolled it back: nothing is left running"
        : `CloudFormation's rollback ended in ${outcome.status}: run 'brender farm destroy ${name} --yes' to remove what is left`;
    throw new JobFailedError(`Creating farm "${name}" failed (${why}); ${leftovers}. Fix the cause and run 'brender farm deploy ${name}' again.`);
  }
  return { kind: "created", stack: outcome.stack };
}

async function updateStack(
  existing: Stack,
  template: TemplateSource,
  name: string,
  cfn: CloudFormationClient,
  report: Report,
  pacing: Pacing,
): Promise<StackResult> {
  const stackId = existing.StackId ?? farmStackName(name);
  report(`==> Updating stack ${existing.StackName ?? farmStackName(name)}`);
  const since = await newestEventId(cfn, stackId);
  try {
    await cfn.send(new UpdateStackCommand({ StackName: stackId, ...template, Capabilities: [...STACK_CAPABILITIES] }));
  } catch (error) {
    if (!isNoUpdate(error)) throw error;
    report("  no changes: the stack is up to date");
    return { kind: "unchanged", stack: existing };
  }
  const outcome = await watchStack(cfn, stackId, since, report, pacing);
  if (outcome.status !== "UPDATE_COMPLETE" || outcome.stack === undefined) {
    const back = outcome.status === "UPDATE_ROLLBACK_COMPLETE" ? "the farm is back as it was" : `the stack is ${outcome.status}`;
    throw new JobFailedError(
      `Updating farm "${name}" failed (${firstFailure(outcome.events, "UPDATE", outcome.stack)}); ${back}. Fix the cause and run 'brender farm deploy ${name}' again.`,
    );
  }
  return { kind: "updated", stack: outcome.stack };
}

function requiredOutput(outputs: Record<string, string>, key: string, name: string): string {
  const value = outputs[key];
  if (!value) {
    throw new JobFailedError(`Farm "${name}"'s stack has no "${key}" output: its template is incomplete; report this as a Brender bug.`);
  }
  return value;
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

/** Uploads the source zip unless the bucket holds one with the same digest; true when uploaded. */
async function uploadSource(s3: S3Client, bucket: string, key: string, source: ImageSource, report: Report): Promise<boolean> {
  const dir = await mkdtemp(join(tmpdir(), "brender-image-source-"));
  try {
    const bundled = await source.bundle(join(dir, "source.zip"));
    const digest = await source.digest(bundled.file);
    let current: string | undefined;
    try {
      const head = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
      current = head?.Metadata?.[SOURCE_DIGEST_METADATA];
    } catch (error) {
      if (!isNotFound(error)) throw error;
    }
    if (current === digest) {
      report(`  unchanged (digest ${digest.slice(0, 12)}): not uploaded`);
      return false;
    }
    await s3.send(
      new PutObjectCommand({
        Bucket: bucket,
        Key: key,
        Body: await readFile(bundled.file),
        ContentType: "application/zip",
        Metadata: { [SOURCE_DIGEST_METADATA]: digest },
      }),
    );
    report(`  uploaded ${bundled.bytes} bytes (digest ${digest.slice(0, 12)})`);
    return true;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** "123456789012.dkr.ecr.eu-west-1.amazonaws.com/brender-farm-x" -> "brender-farm-x". */
export function repositoryName(uriOrName: string): string {
  const slash = uriOrName.indexOf("/");
  return slash < 0 ? uriOrName : uriOrName.slice(slash + 1);
}

function isMissingRepository(error: unknown): boolean {
  return error instanceof Error && error.name === "RepositoryNotFoundException";
}

/** Tags of the images in a repository (empty when it does not exist). */
async function imageTagsPresent(ecr: ECRClient, repository: string): Promise<Set<string>> {
  const tags = new Set<string>();
  let token: string | undefined;
  try {
    do {
      const page = await ecr.send(
        new DescribeImagesCommand({ repositoryName: repository, filter: { tagStatus: "TAGGED" }, nextToken: token }),
      );
      for (const image of page?.imageDetails ?? []) for (const tag of image.imageTags ?? []) tags.add(tag);
      token = page?.nextToken;
    } while (token);
  } catch (error) {
    if (!isMissingRepository(error)) throw error;
  }
  return tags;
}

async function buildMissingImages(
  clients: FarmClients,
  outputs: Record<string, string>,
  versions: readonly string[],
  name: string,
  report: Report,
  pacing: Pacing,
  sourceChanged: boolean,
): Promise<{ present: string[]; builds: BuildResult[] }> {
  const repository = repositoryName(requiredOutput(outputs, BUILD_OUTPUTS.imageRepository, name));
  const project = requiredOutput(outputs, BUILD_OUTPUTS.imageBuildProject, name);
  const tags = sourceChanged ? new Set<string>() : await imageTagsPresent(clients.ecr, repository);
  if (sourceChanged) report("  the worker's source changed: every image is rebuilt");
  const present = versions.filter((version) => tags.has(imageTag(version)));
  for (const version of present) report(`  ${imageTag(version)}: already in ${repository}`);
  const missing = versions.filter((version) => !tags.has(imageTag(version)));
  if (missing.length === 0) return { present, builds: [] };

  const started = new Map<string, string>();
  for (const version of missing) {
    const answer = await clients.codeBuild.send(
      new StartBuildCommand({
        projectName: project,
        environmentVariablesOverride: [{ name: "BLENDER_VERSION", value: version, type: "PLAINTEXT" }],
      }),
    );
    const id = answer.build?.id;
    if (!id) throw new JobFailedError(`CodeBuild did not start the image build for Blender ${version} (project ${project}): run 'brender farm deploy ${name}' again.`);
    started.set(id, version);
    report(`  ${imageTag(version)}: build ${id} started`);
  }
  return { present, builds: await watchBuilds(clients.codeBuild, started, report, pacing) };
}

/** Prints each build's phases as they end, until every build is complete. */
async function watchBuilds(codeBuild: CodeBuildClient, started: Map<string, string>, report: Report, pacing: Pacing): Promise<BuildResult[]> {
  const printed = new Map<string, number>();
  const results = new Map<string, BuildResult>();
  for (;;) {
    const pending = [...started.keys()].filter((id) => !results.has(id));
    const answer = await codeBuild.send(new BatchGetBuildsCommand({ ids: pending }));
    for (const build of answer.builds ?? []) {
      const id = build.id ?? "";
      const version = started.get(id);
      if (version === undefined) continue;
      const phases = build.phases ?? [];
      const done = printed.get(id) ?? 0;
      for (const phase of phases.slice(done)) {
        if (phase.phaseStatus === undefined) break; // still running: printed when it ends
        const seconds = phase.durationInSeconds !== undefined ? ` (${phase.durationInSeconds} s)` : "";
        const why = phase.phaseStatus !== "SUCCEEDED" ? phaseReason(phase.contexts) : "";
        report(`  ${imageTag(version)}: ${phase.phaseType ?? "?"} ${phase.phaseStatus}${seconds}${why ? `: ${why}` : ""}`);
        printed.set(id, (printed.get(id) ?? 0) + 1);
      }
      if (build.buildComplete) {
        const result = buildResult(version, build);
        results.set(id, result);
        report(`  ${imageTag(version)}: build ${result.status}`);
      }
    }
    if (results.size === started.size) return [...started.keys()].map((id) => results.get(id)!);
    await pacing.sleep(pacing.buildPollMs);
  }
}

function phaseReason(contexts: readonly { message?: string; statusCode?: string }[] | undefined): string {
  const context = contexts?.find((entry) => entry.message);
  return context ? `${context.statusCode ? `${context.statusCode}: ` : ""}${context.message}` : "";
}

function buildResult(version: string, build: Build): BuildResult {
  const status = build.buildStatus ?? "UNKNOWN";
  const failedPhase = build.phases?.find((phase) => phase.phaseStatus !== undefined && phase.phaseStatus !== "SUCCEEDED");
  const reason = failedPhase ? `${failedPhase.phaseType ?? "?"} ${failedPhase.phaseStatus}${phaseReason(failedPhase.contexts) ? `: ${phaseReason(failedPhase.contexts)}` : ""}` : undefined;
  return {
    blenderVersion: version,
    buildId: build.id ?? "",
    status,
    ...(status !== "SUCCEEDED" && reason ? { reason } : {}),
    ...(build.logs?.deepLink ? { logs: build.logs.deepLink } : {}),
  };
}

/**
 * Starts SES verification of the notification address. When the identity
 * exists already (the stack declares it, or the user made it) this only
 * reports whether it is verified.
 */
async function startEmailVerification(
  ses: SESv2Client,
  address: string,
  name: string,
  report: Report,
  askedNow: boolean,
): Promise<NonNullable<DeployResult["email"]>> {
  try {
    await ses.send(new CreateEmailIdentityCommand({ EmailIdentity: address, Tags: [{ Key: SES_IDENTITY_TAG, Value: name }] }));
    report(`  SES sent a verification e-mail to ${address}: check your inbox and click the link, so the farm can send from it.`);
    return "verification-sent";
  } catch (error) {
    if (!(error instanceof Error && error.name === "AlreadyExistsException")) throw error;
  }
  const identity = await ses.send(new GetEmailIdentityCommand({ EmailIdentity: address }));
  if (identity?.VerifiedForSendingStatus) {
    report(`  ${address} is verified in SES`);
    return "verified";
  }
  report(`  ${address} is not verified yet: check your inbox for the e-mail from AWS${askedNow ? "" : " (sent at an earlier deploy)"}.`);
  return "pending";
}

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

// ---------------------------------------------------------------------------
// destroy

export type DestroyDeps = {
  readonly clients: FarmClients;
  readonly report: Report;
  readonly pacing?: Pacing;
};

export type DestroyResult = {
  readonly stackName: string;
  readonly region: string;
  /** Object versions and delete markers removed from the bucket. */
  readonly objectsDeleted: number;
  readonly imagesDeleted: number;
  /** The SES identity deleted, when deploy had created it for this farm. */
  readonly emailIdentityDeleted?: string;
};

/** DeleteObjects takes at most 1000 keys per call. */
export const DELETE_OBJECTS_BATCH = 1000;
/** BatchDeleteImage takes at most 100 image ids per call. */
export const DELETE_IMAGES_BATCH = 100;

/** Throws UserInputError unless the user confirmed (--yes): destroy is not interactive, and the renders go too. */
export function confirmDestroy(name: string, yes: boolean): void {
  checkFarmName(name);
  if (!yes) throw new UserInputError(`Not deleting anything: add --yes to delete farm ${name} and all its renders.`);
}

/**
 * Deletes farm `name` and everything in it. Refuses (UserInputError, no AWS
 * call) unless `yes`: the renders in the bucket go too.
 */
export async function destroyFarm(request: { readonly name: string; readonly yes: boolean }, deps: DestroyDeps): Promise<DestroyResult> {
  const { name } = request;
  confirmDestroy(name, request.yes);
  const { clients, report } = deps;
  const pacing = deps.pacing ?? DEFAULT_PACING;
  const cfn = clients.cloudFormation;
  const region = await cfn.config.region();
  const stackName = farmStackName(name);
  const stack = await describeStack(cfn, stackName);
  if (stack === undefined) {
    throw new UserInputError(`No Brender farm "${name}" in ${region}: list the farms with 'brender farm list', or check --region/--profile.`);
  }
  if (isInProgress(stack.StackStatus) && stack.StackStatus !== "DELETE_IN_PROGRESS") {
    throw new UserInputError(`Farm "${name}" is busy (stack status ${stack.StackStatus}): wait until it completes, then destroy it.`);
  }
  const outputs = stackOutputs(stack);
  const stackId = stack.StackId ?? stackName;

  let objectsDeleted = 0;
  const bucket = outputs[FARM_OUTPUTS.bucket];
  if (bucket) {
    report(`==> Emptying s3://${bucket}`);
    objectsDeleted = await emptyBucket(clients.s3, bucket, report);
    report(`  ${objectsDeleted} object versions deleted`);
  }
  let imagesDeleted = 0;
  const repositoryUri = outputs[BUILD_OUTPUTS.imageRepository];
  if (repositoryUri) {
    const repository = repositoryName(repositoryUri);
    report(`==> Deleting the images in ${repository}`);
    imagesDeleted = await deleteAllImages(clients.ecr, repository);
    report(`  ${imagesDeleted} images deleted`);
  }
  const emailIdentityDeleted = await deleteOwnEmailIdentity(clients.ses, outputs[FARM_OUTPUTS.senderEmail], name, report);

  report(`==> Deleting stack ${stackName}`);
  const since = await newestEventId(cfn, stackId);
  await cfn.send(new DeleteStackCommand({ StackName: stackId }));
  const outcome = await watchStack(cfn, stackId, since, report, pacing);
  if (outcome.status !== "DELETE_COMPLETE") {
    throw new JobFailedError(
      `Deleting farm "${name}" failed (${firstFailure(outcome.events, "DELETE", outcome.stack)}): fix the cause and run 'brender farm destroy ${name} --yes' again.`,
    );
  }
  const removed = [
    `stack ${stackName}`,
    `${objectsDeleted} object versions`,
    `${imagesDeleted} images`,
    ...(emailIdentityDeleted ? [`SES identity ${emailIdentityDeleted}`] : []),
  ];
  report(`==> Farm "${name}" destroyed in ${region}: removed ${removed.join(", ")}`);
  return { stackName, region, objectsDeleted, imagesDeleted, ...(emailIdentityDeleted ? { emailIdentityDeleted } : {}) };
}

/** Deletes every object version and delete marker, page by page; returns how many. */
async function emptyBucket(s3: S3Client, bucket: string, report: Report): Promise<number> {
  let deleted = 0;
  let batch: ObjectIdentifier[] = [];
  const flush = async () => {
    if (batch.length === 0) return;
    const keys = batch;
    batch = [];
    const answer = await s3.send(new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: keys, Quiet: true } }));
    const failure = answer?.Errors?.[0];
    if (failure) {
      throw new JobFailedError(
        `Could not delete s3://${bucket}/${failure.Key ?? ""} (${failure.Code ?? "error"}: ${failure.Message ?? ""}): check your permissions, then run destroy again.`,
      );
    }
    deleted += keys.length;
    report(`  ${deleted} deleted…`);
  };
  let keyMarker: string | undefined;
  let versionMarker: string | undefined;
  try {
    for (;;) {
      const page = await s3.send(
        new ListObjectVersionsCommand({ Bucket: bucket, KeyMarker: keyMarker, VersionIdMarker: versionMarker }),
      );
      for (const entry of [...(page.Versions ?? []), ...(page.DeleteMarkers ?? [])]) {
        if (entry.Key === undefined) continue;
        batch.push({ Key: entry.Key, ...(entry.VersionId !== undefined ? { VersionId: entry.VersionId } : {}) });
        if (batch.length === DELETE_OBJECTS_BATCH) await flush();
      }
      if (!page.IsTruncated) break;
      keyMarker = page.NextKeyMarker;
      versionMarker = page.NextVersionIdMarker;
    }
    await flush();
  } catch (error) {
    if (isNotFound(error)) return deleted; // the bucket is already gone
    throw error;
  }
  return deleted;
}

/** Deletes every image of a repository (by digest, which removes all its tags); returns how many. */
async function deleteAllImages(ecr: ECRClient, repository: string): Promise<number> {
  const digests = new Set<string>();
  let token: string | undefined;
  try {
    do {
      const page = await ecr.send(new ListImagesCommand({ repositoryName: repository, nextToken: token }));
      for (const id of page?.imageIds ?? []) if (id.imageDigest) digests.add(id.imageDigest);
      token = page?.nextToken;
    } while (token);
  } catch (error) {
    if (isMissingRepository(error)) return 0;
    throw error;
  }
  const all = [...digests];
  for (let start = 0; start < all.length; start += DELETE_IMAGES_BATCH) {
    const imageIds = all.slice(start, start + DELETE_IMAGES_BATCH).map((imageDigest) => ({ imageDigest }));
    const answer = await ecr.send(new BatchDeleteImageCommand({ repositoryName: repository, imageIds }));
    const failure = answer?.failures?.find((entry) => entry.failureCode !== "ImageNotFound");
    if (failure) {
      throw new JobFailedError(
        `Could not delete image ${failure.imageId?.imageDigest ?? ""} from ${repository} (${failure.failureCode ?? "error"}: ${failure.failureReason ?? ""}): run destroy again.`,
      );
    }
  }
  return all.length;
}

/** Deletes the SES identity only when deploy created it for this farm (its tag says so). */
async function deleteOwnEmailIdentity(ses: SESv2Client, address: string | undefined, name: string, report: Report): Promise<string | undefined> {
  if (!address) return undefined;
  let tags: readonly { Key?: string; Value?: string }[];
  try {
    tags = (await ses.send(new GetEmailIdentityCommand({ EmailIdentity: address })))?.Tags ?? [];
  } catch (error) {
    if (error instanceof Error && error.name === "NotFoundException") return undefined;
    throw error;
  }
  if (!tags.some((tag) => tag.Key === SES_IDENTITY_TAG && tag.Value === name)) {
    // Either the user's own identity, or the stack's (deleted with it).
    return undefined;
  }
  report(`==> Deleting the SES identity ${address} (created by 'farm deploy')`);
  await ses.send(new DeleteEmailIdentityCommand({ EmailIdentity: address }));
  return address;
}

// ---------------------------------------------------------------------------
// list and status

export type FarmSummary = {
  readonly name: string;
  readonly stackName: string;
  readonly status: string;
  readonly region: string;
  readonly created?: string;
  readonly updated?: string;
};

const STACK_PREFIX = farmStackName("");
/** Every stack status but DELETE_COMPLETE: ListStacks otherwise returns deleted stacks for 90 days. */
const LIVE_STATUSES: StackStatus[] = [
  "CREATE_IN_PROGRESS", "CREATE_FAILED", "CREATE_COMPLETE",
  "ROLLBACK_IN_PROGRESS", "ROLLBACK_FAILED", "ROLLBACK_COMPLETE",
  "DELETE_IN_PROGRESS", "DELETE_FAILED",
  "UPDATE_IN_PROGRESS", "UPDATE_COMPLETE_CLEANUP_IN_PROGRESS", "UPDATE_COMPLETE",
  "UPDATE_FAILED", "UPDATE_ROLLBACK_IN_PROGRESS", "UPDATE_ROLLBACK_FAILED",
  "UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS", "UPDATE_ROLLBACK_COMPLETE",
  "REVIEW_IN_PROGRESS",
  "IMPORT_IN_PROGRESS", "IMPORT_COMPLETE", "IMPORT_ROLLBACK_IN_PROGRESS", "IMPORT_ROLLBACK_FAILED", "IMPORT_ROLLBACK_COMPLETE",
];

/** The farms (stacks named brender-farm-*, not deleted) in the clients' region, by name. */
export async function listFarms(cfn: CloudFormationClient): Promise<FarmSummary[]> {
  const region = await cfn.config.region();
  const farms: FarmSummary[] = [];
  let token: string | undefined;
  do {
    const page = await cfn.send(new ListStacksCommand({ StackStatusFilter: LIVE_STATUSES, NextToken: token }));
    for (const stack of page.StackSummaries ?? []) {
      const stackName = stack.StackName ?? "";
      if (!stackName.startsWith(STACK_PREFIX) || stack.StackStatus === "DELETE_COMPLETE") continue;
      farms.push({
        name: stackName.slice(STACK_PREFIX.length),
        stackName,
        status: stack.StackStatus ?? "UNKNOWN",
        region,
        ...(stack.CreationTime ? { created: stack.CreationTime.toISOString() } : {}),
        ...(stack.LastUpdatedTime ? { updated: stack.LastUpdatedTime.toISOString() } : {}),
      });
    }
    token = page.NextToken;
  } while (token);
  return farms.sort((a, b) => a.name.localeCompare(b.name));
}

export type FarmStatus = {
  readonly name: string;
  readonly stackName: string;
  readonly region: string;
  readonly status: string;
  readonly statusReason?: string;
  readonly outputs: Record<string, string>;
  /** Blender version -> whether its image is in ECR. */
  readonly images: Record<string, boolean>;
  readonly queues: readonly { name: string; state: string; status: string; computeEnvironments: string[] }[];
  readonly computeEnvironments: readonly {
    name: string;
    state: string;
    status: string;
    type: string;
    minVcpus?: number;
    maxVcpus?: number;
    desiredVcpus?: number;
  }[];
  readonly lastBuild?: { id: string; status: string; blenderVersion?: string; started?: string; ended?: string };
};

const QUEUE_OUTPUTS = [
  FARM_OUTPUTS.ioQueue,
  FARM_OUTPUTS.spotCpuQueue,
  FARM_OUTPUTS.onDemandCpuQueue,
  FARM_OUTPUTS.spotGpuQueue,
  FARM_OUTPUTS.onDemandGpuQueue,
];

/** Farm `name`'s stack, images, queues, compute environments and last image build. */
export async function farmStatus(name: string, clients: FarmClients): Promise<FarmStatus> {
  checkFarmName(name);
  const region = await clients.cloudFormation.config.region();
  const stackName = farmStackName(name);
  const stack = await describeStack(clients.cloudFormation, stackName);
  if (stack === undefined) {
    throw new UserInputError(`No Brender farm "${name}" in ${region}: deploy it with 'brender farm deploy ${name}', or check --region/--profile.`);
  }
  const outputs = stackOutputs(stack);

  const images: Record<string, boolean> = {};
  const repositoryUri = outputs[BUILD_OUTPUTS.imageRepository];
  const versions = deployedVersions(outputs[FARM_OUTPUTS.jobDefinitions]);
  if (repositoryUri && versions.length > 0) {
    const tags = await imageTagsPresent(clients.ecr, repositoryName(repositoryUri));
    for (const version of versions) images[version] = tags.has(imageTag(version));
  }

  const queueNames = QUEUE_OUTPUTS.map((key) => outputs[key]).filter((queue): queue is string => Boolean(queue));
  const queues: FarmStatus["queues"][number][] = [];
  const environmentArns = new Set<string>();
  if (queueNames.length > 0) {
    const answer = await clients.batch.send(new DescribeJobQueuesCommand({ jobQueues: queueNames }));
    for (const queue of answer?.jobQueues ?? []) {
      const environments = (queue.computeEnvironmentOrder ?? [])
        .slice()
        .sort((a, b) => (a.order ?? 0) - (b.order ?? 0))
        .map((entry) => entry.computeEnvironment ?? "")
        .filter(Boolean);
      for (const arn of environments) environmentArns.add(arn);
      queues.push({ name: queue.jobQueueName ?? "", state: queue.state ?? "?", status: queue.status ?? "?", computeEnvironments: environments.map(lastPart) });
    }
  }
  const computeEnvironments: FarmStatus["computeEnvironments"][number][] = [];
  if (environmentArns.size > 0) {
    const answer = await clients.batch.send(new DescribeComputeEnvironmentsCommand({ computeEnvironments: [...environmentArns] }));
    for (const environment of answer?.computeEnvironments ?? []) {
      const resources = environment.computeResources;
      computeEnvironments.push({
        name: environment.computeEnvironmentName ?? "",
        state: environment.state ?? "?",
        status: environment.status ?? "?",
        type: resources?.type ?? environment.type ?? "?",
        ...(resources?.minvCpus !== undefined ? { minVcpus: resources.minvCpus } : {}),
        ...(resources?.maxvCpus !== undefined ? { maxVcpus: resources.maxvCpus } : {}),
        ...(resources?.desiredvCpus !== undefined ? { desiredVcpus: resources.desiredvCpus } : {}),
      });
    }
  }

  const project = outputs[BUILD_OUTPUTS.imageBuildProject];
  const lastBuild = project ? await latestBuild(clients.codeBuild, project) : undefined;
  return {
    name,
    stackName,
    region,
    status: stack.StackStatus ?? "UNKNOWN",
    ...(stack.StackStatusReason ? { statusReason: stack.StackStatusReason } : {}),
    outputs,
    images,
    queues,
    computeEnvironments,
    ...(lastBuild ? { lastBuild } : {}),
  };
}

function lastPart(arn: string): string {
  return arn.slice(arn.lastIndexOf("/") + 1);
}

/** Blender versions named in the JobDefinitions output ({"4.2.0":"arn…"}); empty when unreadable. */
export function deployedVersions(jobDefinitions: string | undefined): string[] {
  if (!jobDefinitions) return [];
  try {
    const value = JSON.parse(jobDefinitions) as unknown;
    return typeof value === "object" && value !== null && !Array.isArray(value) ? Object.keys(value) : [];
  } catch {
    return [];
  }
}

async function latestBuild(codeBuild: CodeBuildClient, project: string): Promise<FarmStatus["lastBuild"]> {
  const listed = await codeBuild.send(new ListBuildsForProjectCommand({ projectName: project, sortOrder: "DESCENDING" }));
  const id = listed?.ids?.[0];
  if (!id) return undefined;
  const build = (await codeBuild.send(new BatchGetBuildsCommand({ ids: [id] })))?.builds?.[0];
  if (!build) return undefined;
  const version = build.environment?.environmentVariables?.find((variable) => variable.name === "BLENDER_VERSION")?.value;
  return {
    id,
    status: build.buildStatus ?? "UNKNOWN",
    ...(version ? { blenderVersion: version } : {}),
    ...(build.startTime ? { started: build.startTime.toISOString() } : {}),
    ...(build.endTime ? { ended: build.endTime.toISOString() } : {}),
  };
}
