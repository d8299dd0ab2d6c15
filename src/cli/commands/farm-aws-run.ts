/**
 * `brender farm synth | deploy | list | status | destroy`: options in,
 * real SDK clients and the stack synthesizer wired to the orchestration in
 * backends/aws/farm/, progress and results out, AWS errors turned
 * into one-line fixes.
 */
import { mkdir, writeFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { BrenderError, UserInputError } from "../../errors.ts";
import { DEFAULT_PACING, type FarmClients, type Pacing } from "../../backends/aws/farm/clients.ts";
import { createFarmClients, type FarmClientConfig } from "../../backends/aws/farm/create-clients.ts";
import { makeLinkKeyPair } from "../../backends/aws/farm/link-key.ts";
import { deployFarm, type SynthesizeFarm } from "../../backends/aws/farm/deploy.ts";
import { confirmDestroy, destroyFarm } from "../../backends/aws/farm/destroy.ts";
import type { ImageSource } from "../../backends/aws/farm/image-build.ts";
import { listFarms } from "../../backends/aws/farm/list.ts";
import {
  checkBlenderVersions,
  checkFarmName,
  resolveFarmSettings,
  templateProps,
  type FarmDeployRequest,
} from "../../backends/aws/farm/settings.ts";
import { farmStatus, type FarmStatus } from "../../backends/aws/farm/status.ts";
import { resolveBlenderReleases, type FetchText } from "../../backends/aws/farm/blender-release.ts";
import { resolveFarmProps } from "../../infra/farm-props.ts";
import { parseMaxCostOption } from "../../cost/cost-cap.ts";

export type AwsOptions = { readonly profile?: string; readonly region?: string };
export type FarmShapeOptions = {
  readonly private?: boolean;
  readonly maxVcpus?: string;
  readonly spotBid?: string;
  readonly blender?: string;
  readonly email?: string;
  readonly maxCost?: string;
};

/** The package root: dist/cli/commands/ and src/cli/commands/ are both three levels down. */
export const PACKAGE_ROOT = fileURLToPath(new URL("../../..", import.meta.url));

/**
 * Turns the command's options into a deploy request: numbers parsed,
 * versions split, a series (4.2) resolved to its newest release; every given
 * value checked the way the stack will check it, so a typo fails before any
 * AWS call.
 */
export async function farmRequest(name: string, options: FarmShapeOptions, fetchText?: FetchText): Promise<FarmDeployRequest> {
  checkFarmName(name);
  const listed = options.blender === undefined ? undefined : splitList(options.blender);
  if (listed) checkBlenderVersions(listed);
  const blenderVersions = listed && (await resolveBlenderReleases(listed, {
    ...(fetchText ? { fetchText } : {}),
    ...(process.env.BRENDER_BLENDER_DOWNLOADS ? { downloads: process.env.BRENDER_BLENDER_DOWNLOADS } : {}),
    onResolved: (series, release) => process.stderr.write(`Blender ${series}: the newest release is ${release}; building that one.\n`),
  }));
  const maxVcpus = wholeNumber(options.maxVcpus, "--max-vcpus", "--max-vcpus 256");
  const spotBidPercentage = wholeNumber(options.spotBid, "--spot-bid", "--spot-bid 70");
  const email = options.email?.trim() || undefined;
  const maxCost = options.maxCost === undefined ? undefined : parseMaxCostOption(options.maxCost);
  const request: FarmDeployRequest = {
    name,
    ...(options.private !== undefined ? { private: options.private } : {}),
    ...(maxVcpus !== undefined ? { maxVcpus } : {}),
    ...(spotBidPercentage !== undefined ? { spotBidPercentage } : {}),
    ...(blenderVersions ? { blenderVersions } : {}),
    ...(email !== undefined ? { email } : {}),
    ...(maxCost !== undefined ? { maxCost } : {}),
  };
  resolveFarmProps(templateProps(name, resolveFarmSettings(request, undefined), undefined));
  return request;
}

function splitList(text: string): string[] {
  return [...new Set(text.split(",").map((part) => part.trim()).filter((part) => part !== ""))];
}

function wholeNumber(text: string | undefined, option: string, example: string): number | undefined {
  if (text === undefined) return undefined;
  if (!/^\d+$/.test(text.trim())) throw new UserInputError(`${option} "${text}" is not a whole number: use one like ${example}.`);
  return Number(text.trim());
}

/** `farm synth NAME --out DIR`: the template, offline. */
export async function synthFarm(name: string, options: FarmShapeOptions & { readonly out: string; readonly region?: string }): Promise<number> {
  const request = await farmRequest(name, options);
  const synthesize = await loadSynthesizer();
  // A fresh public key, so the template shows the link distribution as deploy makes it (deploy makes and keeps its own).
  const settings = { ...resolveFarmSettings(request, undefined), linkPublicKey: makeLinkKeyPair().publicKeyPem };
  const synthesized = synthesize(templateProps(name, settings, options.region?.trim() || undefined));
  const dir = resolve(options.out);
  await mkdir(dir, { recursive: true });
  const file = join(dir, `${synthesized.stackName}.template.json`);
  await writeFile(file, synthesized.templateJson);
  process.stdout.write(`${file} (${Buffer.byteLength(synthesized.templateJson)} bytes; Blender ${settings.blenderVersions.join(", ")})\n`);
  return 0;
}

/** `farm deploy NAME`. */
export async function deployFarmCommand(name: string, options: FarmShapeOptions & AwsOptions): Promise<number> {
  const request = await farmRequest(name, options);
  const synthesize = await loadSynthesizer();
  const imageSource = await loadImageSource();
  await withAwsErrors(options, () =>
    deployFarm(request, { clients: farmClients(options), synthesize, imageSource, report: print, pacing: pacing() }),
  );
  return 0;
}

/** `farm list`. */
export async function listFarmsCommand(options: AwsOptions & { readonly json?: boolean }): Promise<number> {
  const clients = farmClients(options);
  const farms = await withAwsErrors(options, () => listFarms(clients.cloudFormation));
  if (options.json) {
    print(JSON.stringify(farms, null, 2));
    return 0;
  }
  if (farms.length === 0) {
    const region = await clients.cloudFormation.config.region();
    print(`No Brender farms in ${region}: deploy one with 'brender farm deploy NAME'.`);
    return 0;
  }
  const width = Math.max(4, ...farms.map((farm) => farm.name.length));
  print(`${"NAME".padEnd(width)}  ${"STATUS".padEnd(24)}  REGION`);
  for (const farm of farms) print(`${farm.name.padEnd(width)}  ${farm.status.padEnd(24)}  ${farm.region}`);
  return 0;
}

/** `farm status NAME`. */
export async function farmStatusCommand(name: string, options: AwsOptions & { readonly json?: boolean }): Promise<number> {
  const status = await withAwsErrors(options, () => farmStatus(name, farmClients(options)));
  print(options.json ? JSON.stringify(status, null, 2) : formatStatus(status));
  return 0;
}

/** `farm destroy NAME --yes`. */
export async function destroyFarmCommand(name: string, options: AwsOptions & { readonly yes?: boolean }): Promise<number> {
  // Refuse before building clients or resolving a region: without --yes nothing may touch AWS.
  confirmDestroy(name, options.yes === true);
  await withAwsErrors(options, () => destroyFarm({ name, yes: true }, { clients: farmClients(options), report: print, pacing: pacing() }));
  return 0;
}

/** A human view of a farm's status (pure). */
export function formatStatus(status: FarmStatus): string {
  const lines = [`Farm "${status.name}" (${status.stackName}) in ${status.region}: ${status.status}${status.statusReason ? ` (${status.statusReason})` : ""}`];
  const keys = Object.keys(status.outputs).sort();
  if (keys.length > 0) {
    lines.push("Outputs:");
    const width = Math.max(...keys.map((key) => key.length));
    for (const key of keys) lines.push(`  ${key.padEnd(width)}  ${status.outputs[key]}`);
  }
  const versions = Object.keys(status.images);
  if (versions.length > 0) {
    lines.push("Images:");
    for (const version of versions) {
      lines.push(`  Blender ${version}: ${status.images[version] ? "present" : `missing (run 'brender farm deploy ${status.name}')`}`);
    }
  }
  if (status.queues.length > 0) {
    lines.push("Queues:");
    for (const queue of status.queues) lines.push(`  ${queue.name}: ${queue.state}, ${queue.status} -> ${queue.computeEnvironments.join(", ")}`);
  }
  if (status.computeEnvironments.length > 0) {
    lines.push("Compute environments:");
    for (const environment of status.computeEnvironments) {
      const vcpus = `${environment.desiredVcpus ?? "?"} vCPUs (min ${environment.minVcpus ?? "?"}, max ${environment.maxVcpus ?? "?"})`;
      lines.push(`  ${environment.name}: ${environment.type}, ${environment.state}, ${environment.status}, ${vcpus}`);
    }
  }
  if (status.lastBuild) {
    const build = status.lastBuild;
    lines.push(
      `Last image build: ${build.status}${build.blenderVersion ? ` (Blender ${build.blenderVersion})` : ""}${build.started ? `, started ${build.started}` : ""} — ${build.id}`,
    );
  }
  return lines.join("\n");
}

function print(line: string): void {
  process.stdout.write(`${line}\n`);
}

/** BRENDER_AWS_POLL_MS speeds polling up (tests, impatient users); AWS's own pace otherwise. */
function pacing(): Pacing {
  const override = Number(process.env.BRENDER_AWS_POLL_MS);
  if (!Number.isFinite(override) || override <= 0) return DEFAULT_PACING;
  return { ...DEFAULT_PACING, stackPollMs: override, buildPollMs: override };
}

/** The farm's clients from the command's --region and --profile. */
export function farmClients(options: AwsOptions): FarmClients {
  return createFarmClients(farmClientConfig(options));
}

/** The SDK settings of the command's --region and --profile. */
export function farmClientConfig(options: AwsOptions): FarmClientConfig {
  const region = options.region?.trim() || undefined;
  const profile = options.profile?.trim() || undefined;
  return { ...(region ? { region } : {}), ...(profile ? { profile } : {}) };
}

async function loadSynthesizer(): Promise<SynthesizeFarm> {
  const { synthFarmTemplate } = await import("../../infra/synth.ts");
  return (props) => synthFarmTemplate(props);
}

async function loadImageSource(): Promise<ImageSource> {
  const { bundleImageSource, sourceDigest } = await import("../../infra/image-source.ts");
  return { bundle: (outFile) => bundleImageSource(PACKAGE_ROOT, outFile), digest: sourceDigest };
}

export async function withAwsErrors<T>(options: AwsOptions, body: () => Promise<T>): Promise<T> {
  try {
    return await body();
  } catch (error) {
    throw explainAwsError(error, options.profile?.trim() || process.env.AWS_PROFILE?.trim() || undefined);
  }
}

const REFUSED_CREDENTIALS = new Set([
  "InvalidClientTokenId",
  "UnrecognizedClientException",
  "SignatureDoesNotMatch",
  "ExpiredToken",
  "ExpiredTokenException",
  "InvalidAccessKeyId",
  "InvalidToken",
]);
const NETWORK_CODES = new Set(["ECONNREFUSED", "ENOTFOUND", "EAI_AGAIN", "ETIMEDOUT", "ECONNRESET", "EHOSTUNREACH", "ENETUNREACH"]);

/**
 * Turns configuration problems the SDK reports (no credentials, no region,
 * refused keys, denied access, no network) into one-line UserInputErrors
 * that say what to do; other errors pass through.
 */
export function explainAwsError(error: unknown, profile: string | undefined): unknown {
  if (!(error instanceof Error) || error instanceof BrenderError) return error;
  const message = error.message.split("\n")[0]!.trim();
  const cause = { cause: error };
  // An empty AWS_REGION reaches the SDK as region "" and fails its hostname check rather than as missing.
  const rejectedRegion = /region not accepted: region="([^"]*)"/i.exec(message)?.[1];
  if (/region is missing/i.test(message) || rejectedRegion === "") {
    return new UserInputError("No AWS region is set: pass --region (e.g. --region eu-west-1), set AWS_REGION, or give your profile a region.", cause);
  }
  if (rejectedRegion !== undefined) {
    return new UserInputError(`AWS region "${rejectedRegion}" is invalid: pass a region like --region eu-west-1.`, cause);
  }
  if (error.name === "CredentialsProviderError" || /could not load credentials/i.test(message)) {
    return new UserInputError(
      profile
        ? `AWS profile "${profile}" has no usable credentials: check ~/.aws/config and ~/.aws/credentials, or run 'aws sso login --profile ${profile}'.`
        : "No AWS credentials found: run 'aws configure' (or 'aws sso login'), set AWS_PROFILE, or pass --profile.",
      cause,
    );
  }
  if (REFUSED_CREDENTIALS.has(error.name)) {
    return new UserInputError(`AWS refused the credentials (${error.name}): renew them ('aws sso login', 'aws configure') or pass another --profile.`, cause);
  }
  if (error.name === "AccessDenied" || error.name === "AccessDeniedException") {
    return new UserInputError(
      `AWS denied a call (${message}): deploy with credentials allowed to manage CloudFormation, IAM, S3, ECR, CodeBuild, Batch and SES, or pass another --profile.`,
      cause,
    );
  }
  const code = (error as { code?: unknown }).code;
  if (typeof code === "string" && NETWORK_CODES.has(code)) {
    return new UserInputError(`Cannot reach AWS (${code}): check your network connection, --region and AWS_ENDPOINT_URL.`, cause);
  }
  return error;
}
