/**
 * What a deployed Brender farm offers (bucket, queues, job definitions per
 * Blender version, e-mail settings), read from its CloudFormation stack.
 *
 * The stack is `brender-farm-<name>`; its outputs are the contract between
 * `brender farm deploy` (which writes them) and the CLI (which reads them):
 *
 * | output key          | value                                                            | required |
 * |---------------------|------------------------------------------------------------------|----------|
 * | BucketName          | the farm's S3 bucket                                             | yes      |
 * | IoQueue             | ARN or name of the small CPU queue for the copy and upload jobs  | yes      |
 * | SpotCpuQueue        | ARN or name of the spot CPU render queue                         | no       |
 * | OnDemandCpuQueue    | ARN or name of the on-demand CPU render queue                    | no       |
 * | SpotGpuQueue        | ARN or name of the spot GPU render queue                         | no       |
 * | OnDemandGpuQueue    | ARN or name of the on-demand GPU render queue                    | no       |
 * | FairShareQueues     | comma-separated queues (as above) that have a scheduling policy  | no       |
 * | JobDefinitions      | JSON object, Blender version -> job definition ARN: {"4.2.0":"arn:…"} | yes |
 * | LogGroup            | the CloudWatch Logs group the jobs write to                      | yes      |
 * | SenderEmail         | the SES identity notifications are sent from                     | no       |
 * | SuccessTemplate     | the SES template for a finished render                           | no       |
 * | FailureTemplate     | the SES template for a failed render                             | no       |
 * | MaxCost             | the farm's default cost cap per render, US dollars               | no       |
 */
import {
  CloudFormationClient,
  DescribeStacksCommand,
  type Stack,
} from "@aws-sdk/client-cloudformation";
import { z } from "zod";
import { UserInputError } from "../../errors.ts";
import { BLENDER_VERSION_PATTERN } from "../../domain/blender-version.ts";

/** Output keys of the farm stack (see the table above). */
export const FARM_OUTPUTS = {
  bucket: "BucketName",
  ioQueue: "IoQueue",
  spotCpuQueue: "SpotCpuQueue",
  onDemandCpuQueue: "OnDemandCpuQueue",
  spotGpuQueue: "SpotGpuQueue",
  onDemandGpuQueue: "OnDemandGpuQueue",
  fairShareQueues: "FairShareQueues",
  jobDefinitions: "JobDefinitions",
  logGroup: "LogGroup",
  senderEmail: "SenderEmail",
  successTemplate: "SuccessTemplate",
  failureTemplate: "FailureTemplate",
  maxCost: "MaxCost",
} as const;

const FARM_NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9-]{0,62}$/;
/** "4.2.0", "3.6" — what `farm deploy --blender` takes and job definitions are keyed by. */
export { BLENDER_VERSION_PATTERN };

const nonEmpty = z.string().trim().min(1);

export const FarmResources = z.strictObject({
  name: z.string().regex(FARM_NAME_PATTERN),
  region: nonEmpty,
  bucket: nonEmpty,
  queues: z.strictObject({
    spotCpu: nonEmpty.optional(),
    onDemandCpu: nonEmpty.optional(),
    spotGpu: nonEmpty.optional(),
    onDemandGpu: nonEmpty.optional(),
    /** The small CPU queue for copy and upload jobs. */
    io: nonEmpty,
  }),
  /** Queues with a fair-share scheduling policy: jobs there need a share identifier, and may carry a priority. */
  fairShareQueues: z.array(nonEmpty).default(() => []),
  jobDefinitions: z
    .array(z.strictObject({ blenderVersion: z.string().regex(BLENDER_VERSION_PATTERN), arn: nonEmpty }))
    .min(1),
  notification: z.strictObject({
    sender: nonEmpty.optional(),
    successTemplate: nonEmpty.optional(),
    failureTemplate: nonEmpty.optional(),
  }),
  logGroup: nonEmpty,
  /** The farm's default cost cap per render (`farm deploy --max-cost`), US dollars. */
  maxCostUsd: z.number().positive().optional(),
});
export type FarmResources = z.output<typeof FarmResources>;

/** The four render queues the user picks from with `--queue`. */
export const QUEUE_KINDS = ["spot-cpu", "on-demand-cpu", "spot-gpu", "on-demand-gpu"] as const;
export type QueueKind = (typeof QUEUE_KINDS)[number];

const QUEUE_FIELD: Readonly<Record<QueueKind, keyof Omit<FarmResources["queues"], "io">>> = {
  "spot-cpu": "spotCpu",
  "on-demand-cpu": "onDemandCpu",
  "spot-gpu": "spotGpu",
  "on-demand-gpu": "onDemandGpu",
};

/** Whether a queue kind runs on GPU instances. */
export function isGpuQueue(kind: QueueKind): boolean {
  return kind.endsWith("-gpu");
}

/** The farm's queue for a kind; UserInputError naming the kinds the farm has when it lacks this one. */
export function renderQueue(farm: FarmResources, kind: QueueKind): string {
  const queue = farm.queues[QUEUE_FIELD[kind]];
  if (queue !== undefined) return queue;
  const available = QUEUE_KINDS.filter((other) => farm.queues[QUEUE_FIELD[other]] !== undefined);
  const hint = available.length > 0 ? `use --queue ${available.join(" or ")}` : "redeploy it with render queues";
  throw new UserInputError(`Farm "${farm.name}" has no ${kind} queue: ${hint}, or add one with 'brender farm deploy ${farm.name}'.`);
}

/** CloudFormation stack name of a farm. */
export function farmStackName(name: string): string {
  return `brender-farm-${name}`;
}

export type FindFarmOptions = {
  readonly region?: string;
  readonly profile?: string;
  /** A different AWS endpoint (a test server, a VPC endpoint). */
  readonly endpoint?: string;
  /** A ready client (tests); region, profile and endpoint are then ignored. */
  readonly client?: CloudFormationClient;
};

/**
 * Reads farm `name`'s resources from its CloudFormation stack outputs.
 * Throws UserInputError when the name is invalid, no region is configured,
 * the stack does not exist (in that region/account) or is not usable.
 */
export async function findFarm(name: string, options: FindFarmOptions = {}): Promise<FarmResources> {
  checkFarmName(name);
  const client =
    options.client ??
    new CloudFormationClient({
      ...(options.region ? { region: options.region } : {}),
      ...(options.profile ? { profile: options.profile } : {}),
      ...(options.endpoint ? { endpoint: options.endpoint } : {}),
    });
  let region: string;
  try {
    region = await client.config.region();
  } catch {
    throw new UserInputError("No AWS region is set: pass --region (e.g. --region eu-west-1) or set AWS_REGION.");
  }
  let stack: Stack | undefined;
  try {
    const answer = await client.send(new DescribeStacksCommand({ StackName: farmStackName(name) }));
    stack = answer.Stacks?.[0];
  } catch (error) {
    if (!isMissingStack(error)) throw error;
  }
  if (stack === undefined) {
    throw new UserInputError(
      `No Brender farm "${name}" in ${region}: deploy it with 'brender farm deploy ${name}' or check --region/--profile.`,
    );
  }
  return farmFromStack(name, region, stack);
}

/** Stack states whose outputs describe a working farm. */
const USABLE_STATUSES = new Set([
  "CREATE_COMPLETE",
  "UPDATE_COMPLETE",
  "UPDATE_COMPLETE_CLEANUP_IN_PROGRESS",
  "UPDATE_ROLLBACK_COMPLETE",
  "UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS",
  "IMPORT_COMPLETE",
  "IMPORT_ROLLBACK_COMPLETE",
]);

/** Whether a stack in this status describes a farm renders can be submitted to. */
export function isUsableStackStatus(status: string | undefined): boolean {
  return status !== undefined && USABLE_STATUSES.has(status);
}

/** Turns a described farm stack into FarmResources (pure; see the output table at the top). */
export function farmFromStack(name: string, region: string, stack: Stack): FarmResources {
  const status = stack.StackStatus ?? "UNKNOWN";
  if (!isUsableStackStatus(status)) {
    throw new UserInputError(
      `Brender farm "${name}" in ${region} is not ready (stack status ${status}): wait for 'brender farm status ${name}' to show it complete, or deploy it again with 'brender farm deploy ${name}'.`,
    );
  }
  const outputs = new Map<string, string>();
  for (const output of stack.Outputs ?? []) {
    if (output.OutputKey !== undefined && output.OutputValue !== undefined) outputs.set(output.OutputKey, output.OutputValue.trim());
  }
  const fix = `redeploy it with 'brender farm deploy ${name}'`;
  const required = (key: string): string => {
    const value = outputs.get(key);
    if (!value) throw new UserInputError(`Brender farm "${name}" in ${region} lacks the stack output "${key}": ${fix}.`);
    return value;
  };
  const optional = (key: string): string | undefined => outputs.get(key) || undefined;

  const candidate = {
    name,
    region,
    bucket: required(FARM_OUTPUTS.bucket),
    queues: withoutUndefined({
      io: required(FARM_OUTPUTS.ioQueue),
      spotCpu: optional(FARM_OUTPUTS.spotCpuQueue),
      onDemandCpu: optional(FARM_OUTPUTS.onDemandCpuQueue),
      spotGpu: optional(FARM_OUTPUTS.spotGpuQueue),
      onDemandGpu: optional(FARM_OUTPUTS.onDemandGpuQueue),
    }),
    fairShareQueues: (optional(FARM_OUTPUTS.fairShareQueues) ?? "")
      .split(",")
      .map((queue) => queue.trim())
      .filter((queue) => queue !== ""),
    jobDefinitions: parseJobDefinitions(required(FARM_OUTPUTS.jobDefinitions), name, fix),
    notification: withoutUndefined({
      sender: optional(FARM_OUTPUTS.senderEmail),
      successTemplate: optional(FARM_OUTPUTS.successTemplate),
      failureTemplate: optional(FARM_OUTPUTS.failureTemplate),
    }),
    logGroup: required(FARM_OUTPUTS.logGroup),
    ...(optional(FARM_OUTPUTS.maxCost) !== undefined ? { maxCostUsd: Number(optional(FARM_OUTPUTS.maxCost)) } : {}),
  };
  const parsed = FarmResources.safeParse(candidate);
  if (parsed.success) return parsed.data;
  const problems = parsed.error.issues.map((issue) => `${issue.path.join(".")}: ${issue.message}`).join("; ");
  throw new UserInputError(`Brender farm "${name}" in ${region} has unusable stack outputs (${problems}): ${fix}.`);
}

function parseJobDefinitions(text: string, name: string, fix: string): FarmResources["jobDefinitions"] {
  const bad = (why: string) =>
    new UserInputError(`Brender farm "${name}" has an unreadable "${FARM_OUTPUTS.jobDefinitions}" output (${why}): ${fix}.`);
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw bad(`not JSON: ${JSON.stringify(text.slice(0, 60))}`);
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) throw bad('expected {"4.2.0":"arn:…"}');
  const definitions = Object.entries(value).map(([blenderVersion, arn]) => {
    if (!BLENDER_VERSION_PATTERN.test(blenderVersion)) throw bad(`"${blenderVersion}" is not a Blender version like 4.2.0`);
    if (typeof arn !== "string" || arn.trim() === "") throw bad(`no job definition for ${blenderVersion}`);
    return { blenderVersion, arn: arn.trim() };
  });
  if (definitions.length === 0) throw bad("no Blender version is deployed");
  return definitions;
}

/** Drops absent optional outputs, so the farm prints (--json) and compares cleanly. */
function withoutUndefined<T extends Record<string, unknown>>(record: T): T {
  return Object.fromEntries(Object.entries(record).filter(([, value]) => value !== undefined)) as T;
}

function checkFarmName(name: string): void {
  if (!FARM_NAME_PATTERN.test(name)) {
    throw new UserInputError(
      `Farm name ${JSON.stringify(name)} is invalid: use 1 to 63 letters, digits or -, starting with a letter or digit.`,
    );
  }
}

/** CloudFormation answers a missing stack with a ValidationError "Stack with id X does not exist". */
function isMissingStack(error: unknown): boolean {
  return error instanceof Error && error.name === "ValidationError" && /does not exist/i.test(error.message);
}
