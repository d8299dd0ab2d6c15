/**
 * `brender farm status`: a farm's stack, which of its Blender images ECR
 * holds, its Batch queues and compute environments, and its last image
 * build.
 */
import type { CloudFormationClient, Stack } from "@aws-sdk/client-cloudformation";
import { BatchGetBuildsCommand, ListBuildsForProjectCommand, type CodeBuildClient } from "@aws-sdk/client-codebuild";
import { UserInputError } from "../../../errors.ts";
import { FARM_OUTPUTS, farmStackName } from "../farm-resources.ts";
import { readFarmCapacity } from "./batch-capacity.ts";
import type { FarmClients } from "./clients.ts";
import { builtVersion, imageTagsPresent, repositoryName } from "./image-build.ts";
import { BUILD_OUTPUTS, checkFarmName, imageTag } from "./settings.ts";
import { describeStack, stackOutputs } from "./stack.ts";

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

/** Farm `name`'s stack, images, queues, compute environments and last image build. */
export async function farmStatus(name: string, clients: FarmClients): Promise<FarmStatus> {
  const { region, stack } = await findFarmStack(name, clients.cloudFormation);
  const stackName = farmStackName(name);
  const outputs = stackOutputs(stack);

  const images: Record<string, boolean> = {};
  const repositoryUri = outputs[BUILD_OUTPUTS.imageRepository];
  const versions = deployedVersions(outputs[FARM_OUTPUTS.jobDefinitions]);
  if (repositoryUri && versions.length > 0) {
    const tags = await imageTagsPresent(clients.ecr, repositoryName(repositoryUri));
    for (const version of versions) images[version] = tags.has(imageTag(version));
  }

  const capacity = await readFarmCapacity(clients.batch, outputs);
  const queues = capacity.queues.map((queue) => ({
    name: queue.name,
    state: queue.state,
    status: queue.status,
    computeEnvironments: queue.environments.map((environment) => environment.name),
  }));
  // Each environment once, in the order the queues name them.
  const computeEnvironments = [...new Map(capacity.queues.flatMap((queue) => queue.environments).map((environment) => [environment.name, environment])).values()]
    .filter((environment) => environment.status !== "MISSING")
    .map(({ name, state, status, type, minVcpus, maxVcpus, desiredVcpus }) => ({
      name,
      state,
      status,
      type,
      ...(minVcpus !== undefined ? { minVcpus } : {}),
      ...(maxVcpus !== undefined ? { maxVcpus } : {}),
      ...(desiredVcpus !== undefined ? { desiredVcpus } : {}),
    }));

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

/** The JobDefinitions output ({"4.2.0":"arn…"}) as Blender version -> job definition ARN; empty when unreadable. */
export function deployedJobDefinitions(jobDefinitions: string | undefined): Record<string, string> {
  if (!jobDefinitions) return {};
  try {
    const value = JSON.parse(jobDefinitions) as unknown;
    if (typeof value !== "object" || value === null || Array.isArray(value)) return {};
    return Object.fromEntries(Object.entries(value).filter((entry): entry is [string, string] => typeof entry[1] === "string"));
  } catch {
    return {};
  }
}

/** Farm `name`'s stack, in whatever state; UserInputError (exit 2) for a bad name or no such farm in the region. */
export async function findFarmStack(name: string, cloudFormation: CloudFormationClient): Promise<{ region: string; stack: Stack }> {
  checkFarmName(name);
  const region = await cloudFormation.config.region();
  const stack = await describeStack(cloudFormation, farmStackName(name));
  if (stack === undefined) {
    throw new UserInputError(`No Brender farm "${name}" in ${region}: deploy it with 'brender farm deploy ${name}', or check --region/--profile.`);
  }
  return { region, stack };
}

/** Blender versions named in the JobDefinitions output; empty when unreadable. */
export function deployedVersions(jobDefinitions: string | undefined): string[] {
  return Object.keys(deployedJobDefinitions(jobDefinitions));
}

/** The project's newest build, with the Blender version it built. */
async function latestBuild(codeBuild: CodeBuildClient, project: string): Promise<FarmStatus["lastBuild"]> {
  const listed = await codeBuild.send(new ListBuildsForProjectCommand({ projectName: project, sortOrder: "DESCENDING" }));
  const id = listed?.ids?.[0];
  if (!id) return undefined;
  const build = (await codeBuild.send(new BatchGetBuildsCommand({ ids: [id] })))?.builds?.[0];
  if (!build) return undefined;
  const version = builtVersion(build);
  return {
    id,
    status: build.buildStatus ?? "UNKNOWN",
    ...(version ? { blenderVersion: version } : {}),
    ...(build.startTime ? { started: build.startTime.toISOString() } : {}),
    ...(build.endTime ? { ended: build.endTime.toISOString() } : {}),
  };
}
