/**
 * `brender farm status`: a farm's stack, which of its Blender images ECR
 * holds, its Batch queues and compute environments, and its last image
 * build.
 */
import { DescribeComputeEnvironmentsCommand, DescribeJobQueuesCommand } from "@aws-sdk/client-batch";
import { BatchGetBuildsCommand, ListBuildsForProjectCommand, type CodeBuildClient } from "@aws-sdk/client-codebuild";
import { UserInputError } from "../../../errors.ts";
import { FARM_OUTPUTS, farmStackName } from "../farm-resources.ts";
import type { FarmClients } from "./clients.ts";
import { imageTagsPresent, repositoryName } from "./image-build.ts";
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

/** The project's newest build, with the Blender version it built. */
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
