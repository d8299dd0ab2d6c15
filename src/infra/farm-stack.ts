/**
 * A Brender farm as one CloudFormation stack (`brender-farm-<name>`): network,
 * bucket, work folder, worker images and their build, Batch capacity and
 * queues, job definitions, job role and notification templates. Its outputs
 * are the contract with the CLI (FARM_OUTPUTS in farm-resources.ts) plus
 * what `farm deploy` needs to build images (FARM_INFRA_OUTPUTS).
 *
 * The stack carries no assets and no custom resources, so it deploys with
 * plain CloudFormation into an account that was never `cdk bootstrap`ped.
 */
import { App, BootstraplessSynthesizer, CfnOutput, Fn, Stack, Tags, type StackProps } from "aws-cdk-lib";
import * as logs from "aws-cdk-lib/aws-logs";
import type { Construct } from "constructs";
import { FARM_OUTPUTS, farmStackName } from "../backends/aws/farm-resources.ts";
import { WebhookSecret } from "./constructs/webhook-secret.ts";
import { BatchCompute } from "./constructs/batch-compute.ts";
import { FailedRenderPublisher } from "./constructs/failed-render-publisher.ts";
import { FarmFileSystem } from "./constructs/file-system.ts";
import { IMAGE_SOURCE_KEY, ImageBuild } from "./constructs/image-build.ts";
import { JobDefinitions } from "./constructs/job-definitions.ts";
import { FarmJobRole } from "./constructs/job-role.ts";
import { LinkDistribution } from "./constructs/link-distribution.ts";
import { LINK_ENV } from "../storage/cloudfront-link.ts";
import { FarmNetwork } from "./constructs/network.ts";
import { Notifications, sendCondition } from "./constructs/notifications.ts";
import { FarmStorage } from "./constructs/storage.ts";
import { resolveFarmProps, type FarmStackProps, type ResolvedFarmProps } from "./farm-props.ts";

export type { FarmStackProps } from "./farm-props.ts";

/** Outputs beyond the CLI contract, read by `farm deploy` to build images and by `farm status`. */
export const FARM_INFRA_OUTPUTS = {
  imageRepository: "ImageRepository",
  imageBuildProject: "ImageBuildProject",
  fileSystemId: "FileSystemId",
  webhookSecret: "WebhookSecretArn",
  sourceKey: "SourceKey",
  linkDomain: "LinkDomain",
  linkKeyId: "LinkKeyId",
  linkKeySecret: "LinkKeySecretArn",
} as const;

/** The tag every resource of a farm carries (cost reports, `farm list`). */
export const FARM_TAG_KEY = "brender:farm";

/** The farm stack; `props` are checked first (UserInputError), then every construct is wired up. */
export class FarmStack extends Stack {
  /** The props with their defaults filled in. */
  readonly settings: ResolvedFarmProps;

  constructor(scope: Construct, props: FarmStackProps, stackProps: StackProps = {}) {
    const settings = resolveFarmProps(props);
    super(scope, farmStackName(settings.farmName), {
      ...stackProps,
      stackName: farmStackName(settings.farmName),
      description: `Brender render farm "${settings.farmName}"`,
      ...(settings.account || settings.region ? { env: { account: settings.account, region: settings.region } } : {}),
      synthesizer: new BootstraplessSynthesizer(),
      analyticsReporting: false,
    });
    this.settings = settings;
    const name = settings.farmName;
    Tags.of(this).add(FARM_TAG_KEY, name);
    const logRetention = settings.logRetentionDays as logs.RetentionDays;

    const network = new FarmNetwork(this, "Network", { private: settings.private, flowLogRetention: logRetention });
    const storage = new FarmStorage(this, "Storage", { renderRetentionDays: settings.renderRetentionDays });
    const work = new FarmFileSystem(this, "WorkFolder", {
      vpc: network.vpc,
      subnets: network.hostSubnets,
      clientSecurityGroup: network.hostSecurityGroup,
    });
    const images = new ImageBuild(this, "Images", {
      bucket: storage.bucket,
      blenderVersions: settings.blenderVersions,
      projectName: `brender-${name}-image`,
      logRetention,
    });
    const notifications = new Notifications(
      this,
      "Notifications",
      settings.notificationEmail ? { senderEmail: settings.notificationEmail, createIdentity: settings.createEmailIdentity } : {},
    );
    const jobRole = new FarmJobRole(this, "JobRole", {
      farmName: name,
      bucket: storage.bucket,
      fileSystem: work.fileSystem,
      accessPoint: work.accessPoint,
      sesResources: notifications.sendResources(),
      ...(notifications.senderEmail !== undefined ? { sesCondition: sendCondition(notifications.senderEmail) } : {}),
    });
    const webhookSecret = new WebhookSecret(this, "WebhookSecret", { reader: jobRole.role });
    const links = settings.linkPublicKey
      ? new LinkDistribution(this, "Links", { bucket: storage.bucket, publicKeyPem: settings.linkPublicKey, signer: jobRole.role, farmName: name })
      : undefined;
    const compute = new BatchCompute(this, "Compute", {
      farmName: name,
      subnets: network.vpc.selectSubnets(network.hostSubnets).subnets,
      securityGroup: network.hostSecurityGroup,
      maxVcpus: settings.maxVcpus,
      spotBidPercentage: settings.spotBidPercentage,
      cpuInstanceTypes: settings.cpuInstanceTypes,
      gpuInstanceTypes: settings.gpuInstanceTypes,
      hostTags: { [FARM_TAG_KEY]: name, Name: `brender-${name}` },
    });
    // Hosts must not start before they can reach the work folder: the mount targets come first.
    for (const queue of [...compute.renderQueues.values(), compute.ioQueue]) queue.node.addDependency(work.fileSystem);
    const jobs = new JobDefinitions(this, "Jobs", {
      farmName: name,
      blenderVersions: settings.blenderVersions,
      repository: images.repository,
      fileSystem: work.fileSystem,
      accessPoint: work.accessPoint,
      jobRole: jobRole.role,
      webhookSecretArn: webhookSecret.secret.secretArn,
      ...(links
        ? {
            linkEnvironment: {
              [LINK_ENV.domain]: links.distribution.distributionDomainName,
              [LINK_ENV.keyPairId]: links.publicKey.publicKeyId,
              [LINK_ENV.privateKeySecret]: links.privateKey.secretArn,
            },
          }
        : {}),
      logRetention,
    });

    new FailedRenderPublisher(this, "FailedRenders", { farmName: name, ioQueue: compute.ioQueue, publisher: jobs.publisher });

    const output = (key: string, value: string, description: string) => new CfnOutput(this, key, { key, value, description });
    output(FARM_OUTPUTS.bucket, storage.bucket.bucketName, "the farm's S3 bucket");
    output(FARM_OUTPUTS.ioQueue, compute.ioQueue.ref, "job queue of the copy and upload jobs");
    const queueOutputs = {
      "spot-cpu": FARM_OUTPUTS.spotCpuQueue,
      "on-demand-cpu": FARM_OUTPUTS.onDemandCpuQueue,
      "spot-gpu": FARM_OUTPUTS.spotGpuQueue,
      "on-demand-gpu": FARM_OUTPUTS.onDemandGpuQueue,
    } as const;
    for (const [kind, queue] of compute.renderQueues) output(queueOutputs[kind], queue.ref, `${kind} render queue`);
    output(
      FARM_OUTPUTS.fairShareQueues,
      Fn.join(",", [...compute.renderQueues.values()].map((queue) => queue.ref)),
      "render queues with a fair-share policy (jobs carry a share identifier)",
    );
    const definitions = Object.fromEntries([...jobs.byVersion].map(([version, definition]) => [version, definition.ref]));
    output(FARM_OUTPUTS.jobDefinitions, this.toJsonString(definitions), "Blender version -> job definition ARN (JSON)");
    output(FARM_OUTPUTS.logGroup, jobs.logGroup.logGroupName, "log group the jobs write to");
    if (notifications.senderEmail !== undefined) output(FARM_OUTPUTS.senderEmail, notifications.senderEmail, "SES sender of notifications");
    output(FARM_OUTPUTS.successTemplate, notifications.successTemplate.ref, "SES template of a finished render");
    output(FARM_OUTPUTS.failureTemplate, notifications.failureTemplate.ref, "SES template of a failed render");
    if (settings.maxCostUsd !== undefined) output(FARM_OUTPUTS.maxCost, String(settings.maxCostUsd), "default cost cap per render, US dollars");
    output(FARM_INFRA_OUTPUTS.imageRepository, images.repository.repositoryUri, "ECR repository of the worker images");
    output(FARM_INFRA_OUTPUTS.imageBuildProject, images.project.ref, "CodeBuild project that builds a worker image");
    output(FARM_INFRA_OUTPUTS.fileSystemId, work.fileSystem.fileSystemId, "EFS work folder");
    output(FARM_INFRA_OUTPUTS.webhookSecret, webhookSecret.secret.secretArn, "Secrets Manager secret that signs webhook bodies (read it to verify them)");
    output(FARM_INFRA_OUTPUTS.sourceKey, IMAGE_SOURCE_KEY, "bucket key of the image build's source zip");
    if (links) {
      output(FARM_INFRA_OUTPUTS.linkDomain, links.distribution.distributionDomainName, "CloudFront domain of the signed output links");
      output(FARM_INFRA_OUTPUTS.linkKeyId, links.publicKey.publicKeyId, "CloudFront public key id (Key-Pair-Id) of the signed output links");
      output(FARM_INFRA_OUTPUTS.linkKeySecret, links.privateKey.secretArn, "Secrets Manager secret holding the links' private key (written by farm deploy)");
    }
  }

  // Two AZs from Fn::GetAZs even when an account is given: a lookup would need credentials at synth time.
  override get availabilityZones(): string[] {
    return [Fn.select(0, Fn.getAzs()), Fn.select(1, Fn.getAzs())];
  }
}

/** A new App holding the farm stack (no CDK CLI involved). */
export function farmApp(props: FarmStackProps, outdir?: string): { app: App; stack: FarmStack } {
  const app = new App({ ...(outdir ? { outdir } : {}), analyticsReporting: false, treeMetadata: false, stackTraces: false });
  const stack = new FarmStack(app, props);
  return { app, stack };
}
