/**
 * The farm deploy/destroy orchestration against mocked AWS clients
 * (aws-sdk-client-mock): moto has no CodeBuild builds that run, no ECR images
 * pushed by them, and does not roll back a failed stack, so a small fake
 * cloud (below) plays CloudFormation, S3, ECR, CodeBuild, SES and STS with
 * just enough state to check call order, what is printed and error handling.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { readFile, writeFile } from "node:fs/promises";
import fc from "fast-check";
import { mockClient } from "aws-sdk-client-mock";
import {
  CloudFormationClient,
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
  S3Client,
} from "@aws-sdk/client-s3";
import { BatchGetBuildsCommand, CodeBuildClient, StartBuildCommand, type Build } from "@aws-sdk/client-codebuild";
import { BatchDeleteImageCommand, DescribeImagesCommand, ECRClient, ListImagesCommand } from "@aws-sdk/client-ecr";
import { CreateEmailIdentityCommand, DeleteEmailIdentityCommand, GetEmailIdentityCommand, SESv2Client } from "@aws-sdk/client-sesv2";
import { GetCallerIdentityCommand, STSClient } from "@aws-sdk/client-sts";
import { BatchClient } from "@aws-sdk/client-batch";
import { BrenderError, JobFailedError, UserInputError } from "../../../src/errors.ts";
import { FARM_OUTPUTS } from "../../../src/backends/aws/farm-resources.ts";
import {
  BUILD_OUTPUTS,
  FARM_SETTINGS_KEY,
  MAX_TEMPLATE_BODY_BYTES,
  SES_IDENTITY_TAG,
  SOURCE_DIGEST_METADATA,
  deployFarm,
  destroyFarm,
  firstFailure,
  listFarms,
  resolveFarmSettings,
  type FarmClients,
  type FarmDeployRequest,
  type FarmTemplateProps,
} from "../../../src/backends/aws/farm-deploy.ts";
import { estimateFixedMonthlyCost, HOURS_PER_MONTH, NAT_GATEWAY_USD_PER_HOUR } from "../../../src/backends/aws/farm-cost.ts";

const REGION = "eu-west-1";
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
function fakeCloud() {
  const clients: FarmClients = {
    cloudFormation: new CloudFormationClient(config),
    s3: new S3Client(config),
    codeBuild: new CodeBuildClient(config),
    ecr: new ECRClient(config),
    ses: new SESv2Client(config),
    sts: new STSClient(config),
    batch: new BatchClient(config),
  };
  const mocks = {
    cfn: mockClient(clients.cloudFormation),
    s3: mockClient(clients.s3),
    codeBuild: mockClient(clients.codeBuild),
    ecr: mockClient(clients.ecr),
    ses: mockClient(clients.ses),
    sts: mockClient(clients.sts),
    batch: mockClient(clients.batch),
  };
  const log: string[] = [];
  const stacks = new Map<string, FakeStack>();
  const buckets = new Map<string, Map<string, FakeObject[]>>();
  const images = new Map<string, string[]>(); // digest -> tags
  const builds = new Map<string, { version: string; polls: number; fail?: string }>();
  const identities = new Map<string, { tags: { Key: string; Value: string }[]; verified: boolean }>();
  const state = { createFailure: undefined as string | undefined, buildFailure: undefined as string | undefined, eventSerial: 0 };
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
    };
    return Object.entries(outputs).map(([OutputKey, OutputValue]) => ({ OutputKey, OutputValue }));
  };
  const track = <T>(name: string, body: T) => {
    log.push(name);
    return body;
  };

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
  mocks.codeBuild.on(StartBuildCommand).callsFake((input: { environmentVariablesOverride: { name: string; value: string }[] }) => {
    const version = input.environmentVariablesOverride.find((variable) => variable.name === "BLENDER_VERSION")!.value;
    log.push(`StartBuild:${version}`);
    const id = `brender-demo-image:${builds.size + 1}`;
    builds.set(id, { version, polls: 0, ...(state.buildFailure === version ? { fail: version } : {}) });
    return { build: { id, buildStatus: "IN_PROGRESS" } };
  });
  mocks.codeBuild.on(BatchGetBuildsCommand).callsFake((input: { ids: string[] }) => {
    log.push("BatchGetBuilds");
    return {
      builds: input.ids.map((id): Build => {
        const build = builds.get(id)!;
        build.polls += 1;
        if (build.polls === 1) {
          return { id, buildStatus: "IN_PROGRESS", buildComplete: false, phases: [{ phaseType: "SUBMITTED", phaseStatus: "SUCCEEDED", durationInSeconds: 0 }, { phaseType: "PROVISIONING" }] };
        }
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
  return { clients, mocks, log, stacks, buckets, images, builds, identities, state, source, synthesized, deps, deploy, restore, bucketName };
}

type Cloud = ReturnType<typeof fakeCloud>;

/** Runs a test with a fresh fake cloud, restoring the clients afterwards. */
function withCloud(body: (cloud: Cloud) => Promise<void>) {
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
function milestones(log: readonly string[], keep: RegExp): string[] {
  return log.filter((entry) => keep.test(entry)).filter((entry, index, all) => entry !== all[index - 1]);
}

const reports = (log: readonly string[]) => log.filter((entry) => entry.startsWith("report: ")).map((entry) => entry.slice(8));

describe("deployFarm", () => {
  it("first deploy: CreateStack, waits for it, uploads the source, builds one image per version, waits, then summarizes", withCloud(async (cloud) => {
    const result = await cloud.deploy({ blenderVersions: ["3.6.0", "4.2.0"], email: "renders@example.com" });

    assert.deepEqual(
      milestones(cloud.log, /^(CreateStack|UpdateStack|DescribeStacks|PutObject|StartBuild|BatchGetBuilds|CreateEmailIdentity|report: ==> Farm)/),
      [
        "DescribeStacks", // does the farm exist?
        "CreateStack",
        "DescribeStacks", // polled until CREATE_COMPLETE
        "PutObject:build/source.zip",
        "StartBuild:3.6.0",
        "StartBuild:4.2.0",
        "BatchGetBuilds", // polled until both builds complete
        "CreateEmailIdentity",
        `PutObject:${FARM_SETTINGS_KEY}`,
        'report: ==> Farm "demo" created in eu-west-1',
      ],
    );
    assert.equal(result.stack, "created");
    assert.equal(result.sourceUploaded, true);
    assert.deepEqual(result.builds.map((build) => [build.blenderVersion, build.status]), [["3.6.0", "SUCCEEDED"], ["4.2.0", "SUCCEEDED"]]);
    assert.equal(result.email, "verification-sent");
    assert.deepEqual(cloud.identities.get("renders@example.com")?.tags, [{ Key: SES_IDENTITY_TAG, Value: "demo" }]);
    assert.equal(cloud.stacks.get("brender-farm-demo")?.StackStatus, "CREATE_COMPLETE");
    assert.deepEqual([...cloud.images.values()].flat().sort(), ["blender-3.6.0", "blender-4.2.0"]);

    const create = cloud.mocks.cfn.commandCalls(CreateStackCommand)[0]!.args[0].input;
    assert.ok(create.TemplateBody, "a small template goes inline");
    assert.deepEqual(create.Capabilities, ["CAPABILITY_IAM", "CAPABILITY_NAMED_IAM"]);
    assert.equal(create.OnFailure, "ROLLBACK");
    assert.deepEqual(cloud.synthesized[0], { farmName: "demo", region: REGION, private: false, blenderVersions: ["3.6.0", "4.2.0"], notificationEmail: "renders@example.com", createEmailIdentity: false });
    const start = cloud.mocks.codeBuild.commandCalls(StartBuildCommand).map((call) => call.args[0].input);
    assert.deepEqual(start.map((input) => input.projectName), ["brender-demo-image", "brender-demo-image"]);

    const printed = reports(cloud.log).join("\n");
    // Every stack event once, oldest first, with resource, status and reason.
    assert.match(printed, /Bucket \(AWS::S3::Bucket\)  CREATE_IN_PROGRESS\n.*Queue \(AWS::Batch::JobQueue\)  CREATE_IN_PROGRESS\n.*Bucket \(AWS::S3::Bucket\)  CREATE_COMPLETE/);
    assert.equal(printed.match(/Bucket \(AWS::S3::Bucket\)  CREATE_COMPLETE/g)?.length, 1);
    assert.match(printed, /brender-farm-demo \(AWS::CloudFormation::Stack\)  CREATE_IN_PROGRESS: User Initiated/);
    // Build phases as they end.
    assert.match(printed, /blender-4\.2\.0: PROVISIONING SUCCEEDED \(20 s\)/);
    assert.match(printed, /blender-4\.2\.0: BUILD SUCCEEDED \(300 s\)/);
    assert.equal(printed.match(/blender-3\.6\.0: SUBMITTED SUCCEEDED/g)?.length, 1, "a phase is printed once");
    assert.match(printed, /check your inbox/);
    // Summary: outputs and the fixed cost (public farm: no NAT).
    assert.match(printed, /BucketName +brender-farm-demo-bucket/);
    assert.match(printed, /Estimated fixed cost: \$\d+\.\d\d\/month/);
    assert.match(printed, /EFS storage/);
    assert.doesNotMatch(printed, /NAT gateway/);
  }));

  it("an update with no changes is not an error: nothing is rebuilt or uploaded again", withCloud(async (cloud) => {
    await cloud.deploy({ blenderVersions: ["4.2.0"] });
    cloud.log.length = 0;
    const result = await cloud.deploy({ blenderVersions: ["4.2.0"] });

    assert.equal(result.stack, "unchanged");
    assert.deepEqual(result.builds, []);
    assert.deepEqual(result.imagesPresent, ["4.2.0"]);
    assert.equal(result.sourceUploaded, false);
    assert.ok(cloud.log.includes("UpdateStack"));
    assert.ok(!cloud.log.some((entry) => entry.startsWith("StartBuild") || entry === "PutObject:build/source.zip"));
    assert.match(reports(cloud.log).join("\n"), /no changes: the stack is up to date/);
    assert.match(reports(cloud.log).join("\n"), /Farm "demo" is up to date/);
  }));

  it("a failed create says why (the first CREATE_FAILED reason), that it rolled back, and exits 1", withCloud(async (cloud) => {
    cloud.state.createFailure = "brender-farm-demo-bucket already exists";
    const failure = await cloud.deploy().then(
      () => assert.fail("the deploy should fail"),
      (error: unknown) => error,
    );
    assert.ok(failure instanceof JobFailedError);
    assert.equal(failure.exitCode, 1);
    assert.match(failure.message, /Creating farm "demo" failed \(Bucket: brender-farm-demo-bucket already exists\)/);
    assert.doesNotMatch(failure.message, /cancelled/);
    assert.match(failure.message, /rolled it back: nothing is left running/);
    assert.doesNotMatch(failure.message, /\n/);
    assert.equal(cloud.stacks.get("brender-farm-demo")?.StackStatus, "ROLLBACK_COMPLETE");
    assert.ok(!cloud.log.some((entry) => /^(PutObject|StartBuild|CreateEmailIdentity)/.test(entry)), "nothing after the stack");
    assert.match(reports(cloud.log).join("\n"), /Bucket \(AWS::S3::Bucket\)  CREATE_FAILED: brender-farm-demo-bucket already exists/);

    // Deploying again removes the rolled-back stack (it cannot be updated) and creates it afresh.
    cloud.state.createFailure = undefined;
    cloud.log.length = 0;
    const result = await cloud.deploy();
    assert.equal(result.stack, "created");
    assert.deepEqual(milestones(cloud.log, /^(CreateStack|DeleteStack)$/), ["DeleteStack", "CreateStack"]);
  }));

  it("a second deploy that adds a Blender version builds only that one", withCloud(async (cloud) => {
    await cloud.deploy({ blenderVersions: ["3.6.0"], private: true, maxVcpus: 64 });
    cloud.log.length = 0;
    const result = await cloud.deploy({ blenderVersions: ["3.6.0", "4.2.0"] });

    assert.equal(result.stack, "updated");
    assert.deepEqual(cloud.log.filter((entry) => entry.startsWith("StartBuild")), ["StartBuild:4.2.0"]);
    assert.deepEqual(result.imagesPresent, ["3.6.0"]);
    assert.match(reports(cloud.log).join("\n"), /blender-3\.6\.0: already in brender-demo/);
    // What was not asked for stays as it was: still private, still 64 vCPUs.
    assert.deepEqual(cloud.synthesized.at(-1), { farmName: "demo", region: REGION, private: true, maxVcpus: 64, blenderVersions: ["3.6.0", "4.2.0"] });
    assert.match(reports(cloud.log).join("\n"), /NAT gateway: \$32\.85/);
  }));

  it("uploads the image source only when its digest changed", withCloud(async (cloud) => {
    await cloud.deploy();
    const uploads = () => cloud.log.filter((entry) => entry === "PutObject:build/source.zip").length;
    assert.equal(uploads(), 1);
    const stored = cloud.buckets.get(cloud.bucketName)!.get("build/source.zip")!.at(-1)!;
    assert.equal(stored.metadata[SOURCE_DIGEST_METADATA], createHash("sha256").update("worker source v1").digest("hex"));

    assert.equal((await cloud.deploy()).sourceUploaded, false);
    assert.equal(uploads(), 1, "unchanged source: not uploaded again");
    assert.match(reports(cloud.log).join("\n"), /unchanged \(digest [0-9a-f]{12}\): not uploaded/);

    cloud.source.text = "worker source v2";
    cloud.log.length = 0;
    assert.equal((await cloud.deploy()).sourceUploaded, true);
    assert.equal(uploads(), 1, "the new source is uploaded once");
    // A new worker (a Brender upgrade) makes every image stale: all are rebuilt, not only missing ones.
    assert.deepEqual(cloud.log.filter((entry) => entry.startsWith("StartBuild")).sort(), ["StartBuild:4.2.0"]);
    assert.match(reports(cloud.log).join("\n"), /the worker's source changed: every image is rebuilt/);
  }));

  it("a template over 51,200 bytes goes through a deploy bucket it creates (account from STS)", withCloud(async (cloud) => {
    const big = (props: FarmTemplateProps) => ({
      stackName: "brender-farm-demo",
      templateJson: JSON.stringify({ ...props, padding: "x".repeat(MAX_TEMPLATE_BODY_BYTES) }),
    });
    await deployFarm({ name: "demo" }, cloud.deps({ synthesize: big }));
    const create = cloud.mocks.cfn.commandCalls(CreateStackCommand)[0]!.args[0].input;
    assert.equal(create.TemplateBody, undefined);
    assert.match(create.TemplateURL ?? "", /^https:\/\/brender-deploy-123456789012-eu-west-1\.s3\.eu-west-1\.amazonaws\.com\/templates\/brender-farm-demo\/[0-9a-f]{64}\.json$/);
    assert.deepEqual(milestones(cloud.log, /^(GetCallerIdentity|CreateBucket|CreateStack)/), [
      "GetCallerIdentity",
      "CreateBucket:brender-deploy-123456789012-eu-west-1",
      "CreateStack",
    ]);
    const create1 = cloud.mocks.s3.commandCalls(CreateBucketCommand)[0]!.args[0].input;
    assert.deepEqual(create1.CreateBucketConfiguration, { LocationConstraint: REGION });
  }));

  it("a failed image build names the phase, its message and the logs, exits 1, and the summary is still shown", withCloud(async (cloud) => {
    cloud.state.buildFailure = "4.2.0";
    const failure = await cloud.deploy({ blenderVersions: ["3.6.0", "4.2.0"] }).then(
      () => assert.fail("the deploy should fail"),
      (error: unknown) => error,
    );
    assert.ok(failure instanceof JobFailedError);
    assert.match(failure.message, /image build for Blender 4\.2\.0 failed \(BUILD FAILED: COMMAND_EXECUTION_ERROR: Error while executing command: docker build/);
    assert.match(failure.message, /logs: https:\/\/console\.aws\.amazon\.com\/codebuild\//);
    assert.match(failure.message, /builds only the missing images/);
    assert.match(reports(cloud.log).join("\n"), /==> Farm "demo" created/);
    assert.deepEqual([...cloud.images.values()].flat(), ["blender-3.6.0"]);
  }));

  it("rejects a bad farm name or Blender version before any AWS call", withCloud(async (cloud) => {
    await assert.rejects(cloud.deploy({ name: "no_underscores" }), (error: unknown) => error instanceof UserInputError && /"no_underscores" is invalid/.test(error.message));
    await assert.rejects(cloud.deploy({ blenderVersions: ["4.x"] }), (error: unknown) => error instanceof UserInputError && /"4\.x" is invalid/.test(error.message));
    assert.deepEqual(cloud.log, []);
  }));

  it("refuses a farm whose stack is busy", withCloud(async (cloud) => {
    await cloud.deploy();
    cloud.stacks.get("brender-farm-demo")!.StackStatus = "UPDATE_IN_PROGRESS";
    await assert.rejects(cloud.deploy(), (error: unknown) => error instanceof UserInputError && /is busy \(stack status UPDATE_IN_PROGRESS\)/.test(error.message));
  }));
});

describe("destroyFarm", () => {
  it("without --yes refuses, exit 2, and calls nothing", withCloud(async (cloud) => {
    await assert.rejects(destroyFarm({ name: "demo", yes: false }, cloud.deps()), (error: unknown) => {
      assert.ok(error instanceof UserInputError);
      assert.equal(error.exitCode, 2);
      assert.match(error.message, /add --yes to delete farm demo and all its renders/);
      return true;
    });
    assert.deepEqual(cloud.log, []);
    for (const mock of Object.values(cloud.mocks)) assert.equal(mock.calls().length, 0);
  }));

  it("empties the bucket (every version, in pages and batches of 1000) and the image repository before DeleteStack", withCloud(async (cloud) => {
    await cloud.deploy({ blenderVersions: ["3.6.0", "4.2.0"], email: "renders@example.com" });
    const bucket = cloud.buckets.get(cloud.bucketName)!;
    for (let index = 0; index < 2400; index += 1) bucket.set(`project/${String(index).padStart(5, "0")}`, [{ body: "x", metadata: {} }]);
    bucket.get("project/00000")!.push({ body: "second version", metadata: {} });
    cloud.images.set("sha256:untagged", []);
    const objects = [...bucket.values()].flat().length;
    cloud.log.length = 0;

    const result = await destroyFarm({ name: "demo", yes: true }, cloud.deps());

    assert.equal(result.objectsDeleted, objects);
    assert.equal(result.imagesDeleted, 3, "both tagged images and the untagged one");
    assert.equal(cloud.images.size, 0);
    assert.equal(cloud.buckets.has(cloud.bucketName), false, "the stack deleted the emptied bucket");
    assert.equal(cloud.stacks.get("brender-farm-demo")?.StackStatus, "DELETE_COMPLETE");
    assert.equal(result.emailIdentityDeleted, "renders@example.com");
    assert.equal(cloud.identities.size, 0);

    const lists = cloud.log.filter((entry) => entry === "ListObjectVersions").length;
    assert.equal(lists, Math.ceil(objects / 1000), "followed every page");
    const deletes = cloud.log.filter((entry) => entry.startsWith("DeleteObjects:")).map((entry) => Number(entry.split(":")[1]));
    assert.ok(deletes.every((count) => count <= 1000));
    assert.equal(deletes.reduce((sum, count) => sum + count, 0), objects);
    const deleteStack = cloud.log.indexOf("DeleteStack");
    assert.ok(deleteStack > cloud.log.lastIndexOf(`DeleteObjects:${deletes.at(-1)}`));
    assert.ok(deleteStack > cloud.log.lastIndexOf("BatchDeleteImage"));
    assert.ok(deleteStack > cloud.log.indexOf("DeleteEmailIdentity"));
    assert.match(reports(cloud.log).join("\n"), new RegExp(`removed stack brender-farm-demo, ${objects} object versions, 3 images, SES identity renders@example.com`));
  }));

  it("keeps an SES identity deploy did not create", withCloud(async (cloud) => {
    cloud.identities.set("me@example.com", { tags: [], verified: true });
    const result = await cloud.deploy({ email: "me@example.com" });
    assert.equal(result.email, "verified");
    await destroyFarm({ name: "demo", yes: true }, cloud.deps());
    assert.ok(cloud.identities.has("me@example.com"));
    assert.equal(cloud.log.includes("DeleteEmailIdentity"), false);
  }));

  it("a farm that does not exist is a UserInputError naming the fix", withCloud(async (cloud) => {
    await assert.rejects(destroyFarm({ name: "ghost", yes: true }, cloud.deps()), (error: unknown) => error instanceof UserInputError && /No Brender farm "ghost" in eu-west-1/.test(error.message));
  }));

  it("a failed delete names the resource and its reason", withCloud(async (cloud) => {
    await cloud.deploy();
    // Something lands in the bucket after it was emptied (a render finishing).
    cloud.mocks.s3.on(DeleteObjectsCommand).callsFake(() => ({ Deleted: [] }));
    const failure = await destroyFarm({ name: "demo", yes: true }, cloud.deps()).catch((error: unknown) => error);
    assert.ok(failure instanceof BrenderError && failure.exitCode === 1);
    assert.match(failure.message, /Deleting farm "demo" failed \(Bucket: The bucket you tried to delete is not empty\): .*destroy demo --yes/);
  }));
});

describe("listFarms", () => {
  it("lists only brender-farm-* stacks, with status and region", withCloud(async (cloud) => {
    await cloud.deploy();
    assert.deepEqual(
      (await listFarms(cloud.clients.cloudFormation)).map(({ name, stackName, status, region }) => ({ name, stackName, status, region })),
      [{ name: "demo", stackName: "brender-farm-demo", status: "CREATE_COMPLETE", region: REGION }],
    );
  }));
});

describe("pure parts", () => {
  it("resolveFarmSettings: asked values win, then the previous deploy's, then the defaults", () => {
    assert.deepEqual(resolveFarmSettings({ name: "a" }, undefined), { private: false, blenderVersions: ["4.2.0"] });
    const previous = { private: true, blenderVersions: ["3.6.0"], maxVcpus: 32, notificationEmail: "a@b.co" };
    assert.deepEqual(resolveFarmSettings({ name: "a", spotBidPercentage: 60 }, previous), { ...previous, spotBidPercentage: 60 });
    assert.deepEqual(resolveFarmSettings({ name: "a", blenderVersions: ["4.2.0"], maxVcpus: 8 }, previous).blenderVersions, ["4.2.0"]);
  });

  it("firstFailure skips the cancellations that follow the real cause", () => {
    const base = { StackId: "id", StackName: "s", EventId: "e", Timestamp: new Date() };
    const events: StackEvent[] = [
      { ...base, LogicalResourceId: "Vpc", ResourceStatus: "CREATE_FAILED", ResourceStatusReason: "Resource creation cancelled" },
      { ...base, LogicalResourceId: "Queue", ResourceStatus: "CREATE_FAILED", ResourceStatusReason: "instance type g6 is not supported" },
    ];
    assert.equal(firstFailure(events, "CREATE"), "Queue: instance type g6 is not supported");
    assert.equal(firstFailure([], "DELETE", { StackName: "s", StackStatus: "DELETE_FAILED", CreationTime: new Date(), StackStatusReason: "role in use" }), "role in use");
  });

  it("the fixed cost: a private farm adds exactly its NAT gateway lines, and every image adds the same amount", () => {
    fc.assert(
      fc.property(fc.array(fc.constantFrom("3.6.0", "4.1.1", "4.2.0", "4.4.3"), { maxLength: 4 }), (versions) => {
        const open = estimateFixedMonthlyCost({ private: false, blenderVersions: versions });
        const closed = estimateFixedMonthlyCost({ private: true, blenderVersions: versions });
        const nat = closed.lines.filter((line) => line.item.startsWith("NAT gateway")).reduce((sum, line) => sum + line.usdPerMonth, 0);
        assert.ok(Math.abs(closed.usdPerMonth - open.usdPerMonth - nat) < 1e-9);
        assert.ok(nat >= NAT_GATEWAY_USD_PER_HOUR * HOURS_PER_MONTH);
        assert.equal(open.lines.some((line) => line.item.startsWith("NAT")), false);
        const more = estimateFixedMonthlyCost({ private: false, blenderVersions: [...versions, "5.0.0"] });
        const perImage = estimateFixedMonthlyCost({ private: false, blenderVersions: ["5.0.0"] }).usdPerMonth - estimateFixedMonthlyCost({ private: false, blenderVersions: [] }).usdPerMonth;
        assert.ok(Math.abs(more.usdPerMonth - open.usdPerMonth - perImage) < 1e-9);
        assert.equal(open.lines.find((line) => line.item === "AWS Batch")?.usdPerMonth, 0);
      }),
    );
  });
});
