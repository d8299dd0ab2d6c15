/**
 * A small fake cloud for the farm orchestration's tests (aws-sdk-client-mock):
 * moto has no CodeBuild builds that run, no ECR images pushed by them, and
 * does not roll back a failed stack, so this plays CloudFormation, S3, ECR,
 * CodeBuild, SES and STS with just enough state to check call order, what is
 * printed and error handling.
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { readFile, writeFile } from "node:fs/promises";
import { mockClient } from "aws-sdk-client-mock";
import {
  CreateStackCommand,
  DeleteStackCommand,
  DescribeStackEventsCommand,
  DescribeStacksCommand,
  ListStacksCommand,
  UpdateStackCommand,
  type Output,
  type StackEvent,
} from "@aws-sdk/client-cloudformation";
import {
  CreateBucketCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListObjectVersionsCommand,
  PutObjectCommand,
} from "@aws-sdk/client-s3";
import { BatchGetBuildsCommand, ListBuildsForProjectCommand, StartBuildCommand, type Build } from "@aws-sdk/client-codebuild";
import { BatchDeleteImageCommand, DescribeImagesCommand, ListImagesCommand } from "@aws-sdk/client-ecr";
import { CreateEmailIdentityCommand, DeleteEmailIdentityCommand, GetEmailIdentityCommand } from "@aws-sdk/client-sesv2";
import { GetCallerIdentityCommand } from "@aws-sdk/client-sts";
import { DescribeInstanceTypeOfferingsCommand } from "@aws-sdk/client-ec2";
import { PutSecretValueCommand } from "@aws-sdk/client-secrets-manager";
import { FARM_OUTPUTS } from "../../../../src/backends/aws/farm-resources.ts";
import type { FarmClients } from "../../../../src/backends/aws/farm/clients.ts";
import { createFarmClients } from "../../../../src/backends/aws/farm/create-clients.ts";
import { deployFarm } from "../../../../src/backends/aws/farm/deploy.ts";
import { BUILD_OUTPUTS, type FarmDeployRequest, type FarmTemplateProps } from "../../../../src/backends/aws/farm/settings.ts";

export const REGION = "eu-west-1";
const ACCOUNT = "123456789012";
const config = { region: REGION, credentials: { accessKeyId: "test", secretAccessKey: "test" } };

type FakeStack = {
  StackId: string;
  StackName: string;
  StackStatus: string;
  StackStatusReason?: string;
  Outputs: Output[];
  /** Newest first, as DescribeStackEvents answers. */
  events: StackEvent[];
  template: string;
  /** Status steps still to happen, one per DescribeStacks. */
  steps: Array<() => void>;
};

type FakeObject = { body: string; metadata: Record<string, string> };

const named = (name: string, message: string, extra: Record<string, unknown> = {}) => Object.assign(new Error(message), { name, ...extra });

/**
 * A fake AWS with state: stacks that move through their statuses one
 * DescribeStacks at a time, a bucket, an image repository that CodeBuild
 * builds fill, SES identities. Every call is appended to `log`, and so is
 * every line the orchestration reports ("report: …").
 */
export function fakeCloud() {
  const clients: FarmClients = createFarmClients(config);
  const mocks = {
    cfn: mockClient(clients.cloudFormation),
    s3: mockClient(clients.s3),
    codeBuild: mockClient(clients.codeBuild),
    ecr: mockClient(clients.ecr),
    ses: mockClient(clients.ses),
    sts: mockClient(clients.sts),
    batch: mockClient(clients.batch),
    ec2: mockClient(clients.ec2),
    secretsManager: mockClient(clients.secretsManager),
  };
  const log: string[] = [];
  const stacks = new Map<string, FakeStack>();
  const buckets = new Map<string, Map<string, FakeObject[]>>();
  const images = new Map<string, string[]>(); // digest -> tags
  const builds = new Map<string, { version: string; polls: number; fail?: string; done?: boolean }>();
  const identities = new Map<string, { tags: { Key: string; Value: string }[]; verified: boolean }>();
  const secrets = new Map<string, string>();
  const linkSecretArn = `arn:aws:secretsmanager:${REGION}:${ACCOUNT}:secret:LinksPrivateKey-abc123`;
  const state = {
    createFailure: undefined as string | undefined,
    buildFailure: undefined as string | undefined,
    eventSerial: 0,
    /** Builds the account runs at once (new accounts: 0 or 1); StartBuild over it throws AccountLimitExceededException. */
    concurrentBuilds: 1,
    /** StartBuild refusals still to come from builds outside this project holding the account's slots. */
    slotsHeldElsewhere: 0,
    /** Instance families or types EC2 does not offer in the region. */
    unoffered: [] as string[],
  };
  const bucketName = "brender-farm-demo-bucket";

  const stackByNameOrId = (key: string) => stacks.get(key) ?? [...stacks.values()].find((stack) => stack.StackId === key);
  const event = (stack: FakeStack, resource: string, type: string, status: string, reason?: string) => {
    state.eventSerial += 1;
    stack.events.unshift({
      EventId: `event-${state.eventSerial}`,
      StackId: stack.StackId,
      StackName: stack.StackName,
      LogicalResourceId: resource,
      ResourceType: type,
      ResourceStatus: status as never,
      Timestamp: new Date(Date.UTC(2025, 0, 1, 12, 0, state.eventSerial)),
      ...(reason ? { ResourceStatusReason: reason } : {}),
    });
  };
  const farmOutputs = (template: string): Output[] => {
    const props = JSON.parse(template) as FarmTemplateProps;
    const outputs: Record<string, string> = {
      [FARM_OUTPUTS.bucket]: bucketName,
      [FARM_OUTPUTS.ioQueue]: "arn:aws:batch:eu-west-1:123456789012:job-queue/io",
      [FARM_OUTPUTS.jobDefinitions]: JSON.stringify(Object.fromEntries(props.blenderVersions.map((version) => [version, `arn:jd/${version}`]))),
      [FARM_OUTPUTS.logGroup]: "/brender/demo",
      [BUILD_OUTPUTS.imageRepository]: `${ACCOUNT}.dkr.ecr.${REGION}.amazonaws.com/brender-demo`,
      [BUILD_OUTPUTS.imageBuildProject]: "brender-demo-image",
      [BUILD_OUTPUTS.sourceKey]: "build/source.zip",
      ...(props.notificationEmail ? { [FARM_OUTPUTS.senderEmail]: props.notificationEmail } : {}),
      ...(props.linkPublicKey ? { [BUILD_OUTPUTS.linkKeySecret]: linkSecretArn } : {}),
    };
    return Object.entries(outputs).map(([OutputKey, OutputValue]) => ({ OutputKey, OutputValue }));
  };
  const track = <T>(name: string, body: T) => {
    log.push(name);
    return body;
  };

  // Secrets Manager --------------------------------------------------------
  mocks.secretsManager.on(PutSecretValueCommand).callsFake((input: { SecretId: string; SecretString: string }) => {
    log.push(`PutSecretValue:${input.SecretId}`);
    secrets.set(input.SecretId, input.SecretString);
    return {};
  });

  // CloudFormation ---------------------------------------------------------
  mocks.cfn.on(DescribeStacksCommand).callsFake((input: { StackName: string }) => {
    log.push("DescribeStacks");
    const stack = stackByNameOrId(input.StackName);
    if (!stack || (stack.StackStatus === "DELETE_COMPLETE" && !input.StackName.startsWith("arn:"))) {
      throw named("ValidationError", `Stack with id ${input.StackName} does not exist`);
    }
    stack.steps.shift()?.();
    const { events: _events, template: _template, steps: _steps, ...visible } = stack;
    return { Stacks: [{ ...visible, CreationTime: new Date() }] };
  });
  mocks.cfn.on(DescribeStackEventsCommand).callsFake((input: { StackName: string; NextToken?: string }) => {
    log.push("DescribeStackEvents");
    const stack = stackByNameOrId(input.StackName)!;
    // Pages of two, to exercise NextToken.
    const start = Number(input.NextToken ?? 0);
    const page = stack.events.slice(start, start + 2);
    return { StackEvents: page, ...(start + 2 < stack.events.length ? { NextToken: String(start + 2) } : {}) };
  });
  mocks.cfn.on(CreateStackCommand).callsFake((input: { StackName: string; TemplateBody?: string; TemplateURL?: string }) => {
    log.push("CreateStack");
    const template = input.TemplateBody ?? templateAt(input.TemplateURL!);
    const stack: FakeStack = {
      StackId: `arn:aws:cloudformation:${REGION}:${ACCOUNT}:stack/${input.StackName}/${stacks.size + 1}`,
      StackName: input.StackName,
      StackStatus: "CREATE_IN_PROGRESS",
      Outputs: [],
      events: [],
      template,
      steps: [],
    };
    stacks.set(input.StackName, stack);
    event(stack, input.StackName, "AWS::CloudFormation::Stack", "CREATE_IN_PROGRESS", "User Initiated");
    const failure = state.createFailure;
    stack.steps.push(
      () => {
        event(stack, "Bucket", "AWS::S3::Bucket", "CREATE_IN_PROGRESS");
        event(stack, "Queue", "AWS::Batch::JobQueue", "CREATE_IN_PROGRESS");
      },
      failure
        ? () => {
            event(stack, "Bucket", "AWS::S3::Bucket", "CREATE_FAILED", failure);
            event(stack, "Queue", "AWS::Batch::JobQueue", "CREATE_FAILED", "Resource creation cancelled");
            event(stack, input.StackName, "AWS::CloudFormation::Stack", "ROLLBACK_IN_PROGRESS", "The following resource(s) failed to create: [Bucket].");
            stack.StackStatus = "ROLLBACK_IN_PROGRESS";
          }
        : () => {
            event(stack, "Bucket", "AWS::S3::Bucket", "CREATE_COMPLETE");
            event(stack, "Queue", "AWS::Batch::JobQueue", "CREATE_COMPLETE");
            event(stack, input.StackName, "AWS::CloudFormation::Stack", "CREATE_COMPLETE");
            stack.StackStatus = "CREATE_COMPLETE";
            stack.Outputs = farmOutputs(template);
            buckets.set(bucketName, buckets.get(bucketName) ?? new Map());
          },
      ...(failure
        ? [
            () => {
              event(stack, "Bucket", "AWS::S3::Bucket", "DELETE_COMPLETE");
              event(stack, input.StackName, "AWS::CloudFormation::Stack", "ROLLBACK_COMPLETE");
              stack.StackStatus = "ROLLBACK_COMPLETE";
            },
          ]
        : []),
    );
    return { StackId: stack.StackId };
  });
  mocks.cfn.on(UpdateStackCommand).callsFake((input: { StackName: string; TemplateBody?: string; TemplateURL?: string }) => {
    log.push("UpdateStack");
    const stack = stackByNameOrId(input.StackName)!;
    const template = input.TemplateBody ?? templateAt(input.TemplateURL!);
    if (template === stack.template) throw named("ValidationError", "No updates are to be performed.");
    stack.template = template;
    stack.StackStatus = "UPDATE_IN_PROGRESS";
    event(stack, stack.StackName, "AWS::CloudFormation::Stack", "UPDATE_IN_PROGRESS", "User Initiated");
    stack.steps.push(() => {
      event(stack, "JobDefinition", "AWS::Batch::JobDefinition", "UPDATE_COMPLETE");
      event(stack, stack.StackName, "AWS::CloudFormation::Stack", "UPDATE_COMPLETE");
      stack.StackStatus = "UPDATE_COMPLETE";
      stack.Outputs = farmOutputs(template);
    });
    return { StackId: stack.StackId };
  });
  mocks.cfn.on(DeleteStackCommand).callsFake((input: { StackName: string }) => {
    log.push("DeleteStack");
    const stack = stackByNameOrId(input.StackName)!;
    const bucket = buckets.get(bucketName);
    stack.StackStatus = "DELETE_IN_PROGRESS";
    event(stack, stack.StackName, "AWS::CloudFormation::Stack", "DELETE_IN_PROGRESS", "User Initiated");
    stack.steps = [
      () => {
        // CloudFormation refuses to delete a bucket that still holds anything.
        const leftovers = bucket ? [...bucket.values()].flat().length : 0;
        if (leftovers > 0 || images.size > 0) {
          event(stack, "Bucket", "AWS::S3::Bucket", "DELETE_FAILED", "The bucket you tried to delete is not empty");
          stack.StackStatus = "DELETE_FAILED";
          return;
        }
        event(stack, "Bucket", "AWS::S3::Bucket", "DELETE_COMPLETE");
        event(stack, stack.StackName, "AWS::CloudFormation::Stack", "DELETE_COMPLETE");
        stack.StackStatus = "DELETE_COMPLETE";
        buckets.delete(bucketName);
      },
    ];
    return {};
  });
  mocks.cfn.on(ListStacksCommand).callsFake(() => {
    log.push("ListStacks");
    return {
      StackSummaries: [
        ...[...stacks.values()].map((stack) => ({ StackName: stack.StackName, StackStatus: stack.StackStatus as never, CreationTime: new Date() })),
        { StackName: "someone-elses-stack", StackStatus: "CREATE_COMPLETE" as never, CreationTime: new Date() },
      ],
    };
  });

  // S3 ---------------------------------------------------------------------
  const noBucket = (bucket: string) => named("NoSuchBucket", `The specified bucket ${bucket} does not exist`, { $metadata: { httpStatusCode: 404 } });
  const templateAt = (url: string) => {
    const match = /^https:\/\/([^.]+)\.s3\.[^/]+\/(.+)$/.exec(url)!;
    return buckets.get(match[1]!)!.get(match[2]!)!.at(-1)!.body;
  };
  mocks.s3.on(HeadBucketCommand).callsFake((input: { Bucket: string }) => {
    log.push("HeadBucket");
    if (!buckets.has(input.Bucket)) throw named("NotFound", "NotFound", { $metadata: { httpStatusCode: 404 } });
    return {};
  });
  mocks.s3.on(CreateBucketCommand).callsFake((input: { Bucket: string }) => {
    log.push(`CreateBucket:${input.Bucket}`);
    buckets.set(input.Bucket, new Map());
    return {};
  });
  mocks.s3.on(PutObjectCommand).callsFake((input: { Bucket: string; Key: string; Body: string | Uint8Array; Metadata?: Record<string, string> }) => {
    log.push(`PutObject:${input.Key}`);
    const bucket = buckets.get(input.Bucket);
    if (!bucket) throw noBucket(input.Bucket);
    const versions = bucket.get(input.Key) ?? [];
    versions.push({ body: Buffer.from(input.Body).toString(), metadata: input.Metadata ?? {} });
    bucket.set(input.Key, versions);
    return {};
  });
  mocks.s3.on(HeadObjectCommand).callsFake((input: { Bucket: string; Key: string }) => {
    log.push("HeadObject");
    const object = buckets.get(input.Bucket)?.get(input.Key)?.at(-1);
    if (!object) throw named("NotFound", "NotFound", { $metadata: { httpStatusCode: 404 } });
    return { Metadata: object.metadata };
  });
  mocks.s3.on(GetObjectCommand).callsFake((input: { Bucket: string; Key: string }) => {
    log.push(`GetObject:${input.Key}`);
    const object = buckets.get(input.Bucket)?.get(input.Key)?.at(-1);
    if (!object) throw named("NoSuchKey", "The specified key does not exist.", { $metadata: { httpStatusCode: 404 } });
    return { Body: { transformToString: async () => object.body } as never };
  });
  mocks.s3.on(ListObjectVersionsCommand).callsFake((input: { Bucket: string; KeyMarker?: string; VersionIdMarker?: string }) => {
    log.push("ListObjectVersions");
    const bucket = buckets.get(input.Bucket);
    if (!bucket) throw noBucket(input.Bucket);
    const all = [...bucket.entries()]
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .flatMap(([Key, versions]) => versions.map((_, index) => ({ Key, VersionId: `v${index}` })));
    const start = input.KeyMarker === undefined ? 0 : all.findIndex((entry) => entry.Key === input.KeyMarker && entry.VersionId === input.VersionIdMarker) + 1;
    const page = all.slice(start, start + 1000);
    const last = page.at(-1);
    const truncated = start + 1000 < all.length;
    // Every third entry answers as a delete marker: destroy must remove those too.
    return {
      Versions: page.filter((_, index) => index % 3 !== 2),
      DeleteMarkers: page.filter((_, index) => index % 3 === 2),
      IsTruncated: truncated,
      ...(truncated ? { NextKeyMarker: last!.Key, NextVersionIdMarker: last!.VersionId } : {}),
    };
  });
  mocks.s3.on(DeleteObjectsCommand).callsFake((input: { Bucket: string; Delete: { Objects: { Key: string; VersionId?: string }[] } }) => {
    log.push(`DeleteObjects:${input.Delete.Objects.length}`);
    const bucket = buckets.get(input.Bucket)!;
    assert.ok(input.Delete.Objects.length <= 1000, "DeleteObjects takes at most 1000 keys");
    for (const { Key, VersionId } of input.Delete.Objects) {
      assert.ok(VersionId, "every version is deleted by its id");
      const versions = bucket.get(Key) ?? [];
      versions.pop();
      if (versions.length === 0) bucket.delete(Key);
    }
    return { Deleted: input.Delete.Objects };
  });

  // ECR --------------------------------------------------------------------
  mocks.ecr.on(DescribeImagesCommand).callsFake(() => {
    log.push("DescribeImages");
    return { imageDetails: [...images.entries()].map(([imageDigest, imageTags]) => ({ imageDigest, imageTags })) };
  });
  mocks.ecr.on(ListImagesCommand).callsFake((input: { nextToken?: string }) => {
    log.push("ListImages");
    // One id per tag, and the bare digest of an untagged image.
    const all = [...images.entries()].flatMap(([imageDigest, tags]) =>
      tags.length === 0 ? [{ imageDigest }] : tags.map((imageTag) => ({ imageDigest, imageTag })),
    );
    const start = Number(input.nextToken ?? 0);
    return { imageIds: all.slice(start, start + 2), ...(start + 2 < all.length ? { nextToken: String(start + 2) } : {}) };
  });
  mocks.ecr.on(BatchDeleteImageCommand).callsFake((input: { imageIds: { imageDigest: string }[] }) => {
    log.push("BatchDeleteImage");
    for (const { imageDigest } of input.imageIds) images.delete(imageDigest);
    return { imageIds: input.imageIds, failures: [] };
  });

  // CodeBuild --------------------------------------------------------------
  const startBuild = (version: string) => {
    const id = `brender-demo-image:${builds.size + 1}`;
    builds.set(id, { version, polls: 0, ...(state.buildFailure === version ? { fail: version } : {}) });
    return id;
  };
  mocks.codeBuild.on(StartBuildCommand).callsFake((input: { environmentVariablesOverride: { name: string; value: string }[] }) => {
    const version = input.environmentVariablesOverride.find((variable) => variable.name === "BLENDER_VERSION")!.value;
    const running = [...builds.values()].filter((build) => !build.done).length;
    if (state.slotsHeldElsewhere > 0 || running >= state.concurrentBuilds) {
      state.slotsHeldElsewhere = Math.max(0, state.slotsHeldElsewhere - 1);
      log.push(`StartBuild:${version}:refused`);
      throw named("AccountLimitExceededException", "Cannot have more than 1 builds in queue for the account");
    }
    log.push(`StartBuild:${version}`);
    return { build: { id: startBuild(version), buildStatus: "IN_PROGRESS" } };
  });
  mocks.codeBuild.on(ListBuildsForProjectCommand).callsFake(() => track("ListBuildsForProject", { ids: [...builds.keys()].reverse() }));
  mocks.codeBuild.on(BatchGetBuildsCommand).callsFake((input: { ids: string[] }) => {
    log.push("BatchGetBuilds");
    return {
      builds: input.ids.map((id): Build => {
        const build = builds.get(id)!;
        const environment = { type: "LINUX_CONTAINER" as const, image: "aws/codebuild/standard:7.0", computeType: "BUILD_GENERAL1_MEDIUM" as const, environmentVariables: [{ name: "BLENDER_VERSION", value: build.version }] };
        if (build.done) return { id, buildStatus: build.fail ? "FAILED" : "SUCCEEDED", buildComplete: true, environment };
        build.polls += 1;
        if (build.polls === 1) {
          return { id, buildStatus: "IN_PROGRESS", buildComplete: false, environment, phases: [{ phaseType: "SUBMITTED", phaseStatus: "SUCCEEDED", durationInSeconds: 0 }, { phaseType: "PROVISIONING" }] };
        }
        build.done = true;
        if (build.fail) {
          return {
            id,
            buildStatus: "FAILED",
            buildComplete: true,
            logs: { deepLink: `https://console.aws.amazon.com/codebuild/${id}` },
            phases: [
              { phaseType: "SUBMITTED", phaseStatus: "SUCCEEDED", durationInSeconds: 0 },
              { phaseType: "PROVISIONING", phaseStatus: "SUCCEEDED", durationInSeconds: 20 },
              { phaseType: "BUILD", phaseStatus: "FAILED", durationInSeconds: 40, contexts: [{ statusCode: "COMMAND_EXECUTION_ERROR", message: "Error while executing command: docker build. Reason: exit status 1" }] },
            ],
          };
        }
        images.set(`sha256:${createHash("sha256").update(build.version).digest("hex")}`, [`blender-${build.version}`]);
        return {
          id,
          buildStatus: "SUCCEEDED",
          buildComplete: true,
          phases: [
            { phaseType: "SUBMITTED", phaseStatus: "SUCCEEDED", durationInSeconds: 0 },
            { phaseType: "PROVISIONING", phaseStatus: "SUCCEEDED", durationInSeconds: 20 },
            { phaseType: "BUILD", phaseStatus: "SUCCEEDED", durationInSeconds: 300 },
            { phaseType: "COMPLETED" },
          ],
        };
      }),
    };
  });

  // EC2 --------------------------------------------------------------------
  mocks.ec2.on(DescribeInstanceTypeOfferingsCommand).callsFake((input: { Filters: { Values: string[] }[] }) => {
    const value = input.Filters[0]!.Values[0]!;
    log.push(`DescribeInstanceTypeOfferings:${value}`);
    const family = value.replace(/\.\*$/, "");
    if (state.unoffered.includes(family)) return { InstanceTypeOfferings: [] };
    return { InstanceTypeOfferings: [{ InstanceType: value.replace("*", "xlarge"), LocationType: "region", Location: REGION }] };
  });

  // SES and STS ------------------------------------------------------------
  mocks.ses.on(CreateEmailIdentityCommand).callsFake((input: { EmailIdentity: string; Tags?: { Key: string; Value: string }[] }) => {
    log.push("CreateEmailIdentity");
    if (identities.has(input.EmailIdentity)) throw named("AlreadyExistsException", "already exists");
    identities.set(input.EmailIdentity, { tags: input.Tags ?? [], verified: false });
    return {};
  });
  mocks.ses.on(GetEmailIdentityCommand).callsFake((input: { EmailIdentity: string }) => {
    log.push("GetEmailIdentity");
    const identity = identities.get(input.EmailIdentity);
    if (!identity) throw named("NotFoundException", "not found");
    return { VerifiedForSendingStatus: identity.verified, Tags: identity.tags };
  });
  mocks.ses.on(DeleteEmailIdentityCommand).callsFake((input: { EmailIdentity: string }) => {
    log.push("DeleteEmailIdentity");
    identities.delete(input.EmailIdentity);
    return {};
  });
  mocks.sts.on(GetCallerIdentityCommand).callsFake(() => track("GetCallerIdentity", { Account: ACCOUNT }));

  const synthesized: FarmTemplateProps[] = [];
  const source = { text: "worker source v1" };
  const deps = (extra: { synthesize?: (props: FarmTemplateProps) => { stackName: string; templateJson: string } } = {}) => ({
    clients,
    report: (line: string) => log.push(`report: ${line}`),
    pacing: { stackPollMs: 1000, buildPollMs: 1000, sleep: async () => {} },
    synthesize:
      extra.synthesize ??
      ((props: FarmTemplateProps) => {
        synthesized.push(props);
        return { stackName: `brender-farm-${props.farmName}`, templateJson: JSON.stringify(props) };
      }),
    imageSource: {
      bundle: async (outFile: string) => {
        await writeFile(outFile, source.text);
        return { file: outFile, bytes: source.text.length };
      },
      digest: async (file: string) => createHash("sha256").update(await readFile(file)).digest("hex"),
    },
  });
  const deploy = (request: Partial<FarmDeployRequest> = {}) => deployFarm({ name: "demo", ...request }, deps());
  const restore = () => {
    for (const mock of Object.values(mocks)) mock.restore();
  };
  return { clients, mocks, log, stacks, buckets, images, builds, startBuild, identities, secrets, linkSecretArn, state, source, synthesized, deps, deploy, restore, bucketName };
}

export type Cloud = ReturnType<typeof fakeCloud>;

/** Runs a test with a fresh fake cloud, restoring the clients afterwards. */
export function withCloud(body: (cloud: Cloud) => Promise<void>) {
  return async () => {
    const cloud = fakeCloud();
    try {
      await body(cloud);
    } finally {
      cloud.restore();
    }
  };
}

/** The log's entries that match, with runs of the same entry collapsed (polls repeat). */
export function milestones(log: readonly string[], keep: RegExp): string[] {
  return log.filter((entry) => keep.test(entry)).filter((entry, index, all) => entry !== all[index - 1]);
}

export const reports = (log: readonly string[]) => log.filter((entry) => entry.startsWith("report: ")).map((entry) => entry.slice(8));
