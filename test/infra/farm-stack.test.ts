import { describe, it } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { Match, Template } from "aws-cdk-lib/assertions";
import type { Stack as CfnStack } from "@aws-sdk/client-cloudformation";
import { FARM_OUTPUTS, farmFromStack, type FarmResources } from "../../src/backends/aws/farm-resources.ts";
import { UserInputError } from "../../src/errors.ts";
import { GPU_IMAGE_TYPE } from "../../src/infra/constructs/batch-compute.ts";
import { IMAGE_BUILDSPEC, IMAGE_SOURCE_KEY } from "../../src/infra/constructs/image-build.ts";
import { jobDefinitionName } from "../../src/infra/constructs/job-definitions.ts";
import { FAILURE_TEMPLATE, SUCCESS_TEMPLATE } from "../../src/infra/constructs/notifications.ts";
import { RENDER_OUTPUT_TAG } from "../../src/infra/constructs/storage.ts";
import { resolveFarmProps, type FarmStackProps } from "../../src/infra/farm-props.ts";
import { FARM_INFRA_OUTPUTS, FARM_TAG_KEY } from "../../src/infra/farm-stack.ts";
import { synthFarmTemplate } from "../../src/infra/synth.ts";
import { renderTemplateData } from "../../src/notify/ses.ts";
import { survivingImages, type LifecycleRule, type PushedImage } from "../helpers/ecr-lifecycle.ts";

type Json = Record<string, any>;

const BUILDSPEC = readFileSync(join(dirname(fileURLToPath(import.meta.url)), "..", "..", "docker", "buildspec.yml"), "utf8");

/** The tags docker/buildspec.yml pushes for one build (its `docker push` lines, run through bash's expansion). */
function pushedTags(version: string, buildNumber: number): string[] {
  const pushes = [...BUILDSPEC.matchAll(/^\s+- docker push (.*)$/gm)].map((match) => match[1]!);
  assert.ok(pushes.length > 0, "the buildspec pushes nothing");
  const script = pushes.map((argument) => `echo ${argument}`).join("; ");
  const result = spawnSync("bash", ["-c", script], {
    encoding: "utf8",
    env: { PATH: process.env.PATH ?? "", REPOSITORY_URI: "r", BLENDER_VERSION: version, CODEBUILD_BUILD_NUMBER: String(buildNumber) },
  });
  return result.stdout.trim().split("\n").map((reference) => reference.slice(reference.indexOf(":") + 1));
}

// Two synths for the whole file: the public farm with e-mail, and a private one without.
const PUBLIC_PROPS: FarmStackProps = {
  farmName: "demo",
  blenderVersions: ["3.6.0", "4.2.0"],
  maxVcpus: 64,
  spotBidPercentage: 70,
  cpuInstanceTypes: ["c6i", "m7i.2xlarge"],
  gpuInstanceTypes: ["g5", "g6"],
  notificationEmail: "renders@example.com",
  logRetentionDays: 14,
  renderRetentionDays: 45,
  maxCostUsd: 12.5,
};
const publicFarm = synthFarmTemplate(PUBLIC_PROPS);
const privateFarm = synthFarmTemplate({ farmName: "Studio-2", blenderVersions: ["4.2.0"], private: true });
const template = Template.fromJSON(publicFarm.template);
const resources = publicFarm.template.Resources as Record<string, Json>;

function ofType(type: string, from: Record<string, Json> = resources): Array<[string, Json]> {
  return Object.entries(from).filter(([, resource]) => resource.Type === type);
}

function only<T>(items: readonly T[]): T {
  assert.equal(items.length, 1, `expected exactly one, got ${items.length}`);
  return items[0] as T;
}

function queueNamed(name: string): [string, Json] {
  return only(ofType("AWS::Batch::JobQueue").filter(([, queue]) => queue.Properties.JobQueueName === name));
}

function computeEnvironmentOf(queue: Json): Json {
  const order = queue.Properties.ComputeEnvironmentOrder as Json[];
  assert.equal(order.length, 1);
  const id = order[0]?.ComputeEnvironment.Ref as string;
  const environment = resources[id];
  assert.ok(environment, `queue points at missing compute environment ${id}`);
  return environment;
}

const bucketId = only(ofType("AWS::S3::Bucket"))[0];
const bucketArn = { "Fn::GetAtt": [bucketId, "Arn"] };

describe("farm stack: synthesis", () => {
  it("is named brender-farm-<name> and needs no bootstrap, asset or custom resource", () => {
    assert.equal(publicFarm.stackName, "brender-farm-demo");
    assert.equal(privateFarm.stackName, "brender-farm-Studio-2");
    assert.equal(publicFarm.template.Parameters, undefined);
    assert.equal(publicFarm.template.Rules, undefined);
    const types = new Set(Object.values(resources).map((resource) => resource.Type as string));
    for (const type of types) assert.ok(!type.startsWith("Custom::") && type !== "AWS::Lambda::Function" && type !== "AWS::CDK::Metadata", type);
    assert.deepEqual(JSON.parse(publicFarm.templateJson), publicFarm.template);
    // Small enough for CreateStack's TemplateBody (51,200 bytes), so a usual deploy needs no S3 template upload.
    assert.ok(Buffer.byteLength(publicFarm.templateJson) < 51_200, `${Buffer.byteLength(publicFarm.templateJson)} bytes`);
  });

  it("rejects invalid props with a UserInputError naming the bad value", () => {
    const base: FarmStackProps = { farmName: "demo", blenderVersions: ["4.2.0"] };
    const cases: Array<[Partial<FarmStackProps>, RegExp]> = [
      [{ farmName: "-bad" }, /"-bad"/],
      [{ blenderVersions: [] }, /no Blender version/],
      [{ blenderVersions: ["4.2.x"] }, /"4\.2\.x"/],
      [{ spotBidPercentage: 0 }, /"0"/],
      [{ spotBidPercentage: 101 }, /"101"/],
      [{ maxVcpus: 1.5 }, /"1\.5"/],
      [{ logRetentionDays: 13 }, /"13"/],
      [{ renderRetentionDays: 0 }, /"0"/],
      [{ cpuInstanceTypes: ["C6I!"] }, /"C6I!"/],
      [{ cpuInstanceTypes: [], gpuInstanceTypes: [] }, /no render instance types/],
      [{ notificationEmail: "not-an-address" }, /"not-an-address"/],
    ];
    for (const [override, message] of cases) {
      assert.throws(() => resolveFarmProps({ ...base, ...override }), (error: unknown) => {
        assert.ok(error instanceof UserInputError, String(error));
        assert.match(error.message, message);
        return true;
      });
    }
  });

  it("fills in the documented defaults", () => {
    const resolved = resolveFarmProps({ farmName: "demo", blenderVersions: ["4.2.0", "4.2.0"] });
    assert.deepEqual(resolved.blenderVersions, ["4.2.0"]);
    assert.equal(resolved.private, false);
    assert.equal(resolved.maxVcpus, 256);
    assert.equal(resolved.spotBidPercentage, 100);
    assert.deepEqual(resolved.cpuInstanceTypes, ["c6i", "m6i", "c7i", "m7i"]);
    assert.deepEqual(resolved.gpuInstanceTypes, ["g5", "g6"]);
    assert.equal(resolved.logRetentionDays, 30);
    assert.equal(resolved.renderRetentionDays, 90);
  });

  it("names job definitions as Batch allows for every valid farm name and Blender version", () => {
    const farmName = fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9-]{0,62}$/);
    const version = fc.tuple(fc.nat(99), fc.nat(99), fc.option(fc.nat(99))).map(([a, b, c]) => (c === null ? `${a}.${b}` : `${a}.${b}.${c}`));
    fc.assert(
      fc.property(farmName, version, (name, blender) => {
        const definition = jobDefinitionName(name, blender);
        assert.match(definition, /^[A-Za-z0-9][A-Za-z0-9_-]{0,127}$/);
        assert.ok(definition.includes(name));
      }),
    );
  });

  it("tags every taggable resource with brender:farm=<name>", () => {
    let checked = 0;
    for (const [id, resource] of Object.entries(resources)) {
      const props = resource.Properties ?? {};
      const tags = props.Tags ?? props.FileSystemTags ?? props.AccessPointTags;
      if (tags === undefined) continue;
      checked += 1;
      const value = Array.isArray(tags) ? tags.find((tag: Json) => tag.Key === FARM_TAG_KEY)?.Value : tags[FARM_TAG_KEY];
      assert.equal(value, "demo", `${id} (${resource.Type}) lacks the farm tag`);
    }
    assert.ok(checked >= 30, `only ${checked} tagged resources`);
    // Batch does not copy stack tags onto the instances it starts: the compute resources carry them.
    for (const [, environment] of ofType("AWS::Batch::ComputeEnvironment")) {
      assert.equal(environment.Properties.ComputeResources.Tags[FARM_TAG_KEY], "demo");
    }
  });
});

describe("farm stack: network and storage", () => {
  it("has a VPC with public host subnets, no NAT gateway, and an S3 gateway endpoint", () => {
    template.resourceCountIs("AWS::EC2::VPC", 1);
    template.resourceCountIs("AWS::EC2::NatGateway", 0);
    template.hasResourceProperties("AWS::EC2::VPCEndpoint", {
      VpcEndpointType: "Gateway",
      ServiceName: { "Fn::Join": ["", ["com.amazonaws.", { Ref: "AWS::Region" }, ".s3"]] },
    });
    const subnets = ofType("AWS::EC2::Subnet");
    assert.equal(subnets.length, 2);
    for (const [, subnet] of subnets) assert.equal(subnet.Properties.MapPublicIpOnLaunch, true);
  });

  it("private=true adds exactly one NAT gateway and puts hosts and mount targets in private subnets", () => {
    const privateResources = privateFarm.template.Resources as Record<string, Json>;
    Template.fromJSON(privateFarm.template).resourceCountIs("AWS::EC2::NatGateway", 1);
    const privateSubnets = new Set(
      ofType("AWS::EC2::Subnet", privateResources)
        .filter(([, subnet]) => subnet.Properties.MapPublicIpOnLaunch === false)
        .map(([id]) => id),
    );
    assert.equal(privateSubnets.size, 2);
    for (const [, environment] of ofType("AWS::Batch::ComputeEnvironment", privateResources)) {
      const used = (environment.Properties.ComputeResources.Subnets as Json[]).map((subnet) => subnet.Ref as string);
      assert.deepEqual(new Set(used), privateSubnets);
    }
    const mountTargets = ofType("AWS::EFS::MountTarget", privateResources).map(([, target]) => target.Properties.SubnetId.Ref as string);
    assert.deepEqual(new Set(mountTargets), privateSubnets);
  });

  it("keeps the bucket private, encrypted, TLS-only, unversioned, with render and upload lifecycle rules", () => {
    const bucket = resources[bucketId]!;
    assert.deepEqual(bucket.Properties.BucketEncryption.ServerSideEncryptionConfiguration, [
      { ServerSideEncryptionByDefault: { SSEAlgorithm: "AES256" } },
    ]);
    assert.deepEqual(bucket.Properties.PublicAccessBlockConfiguration, {
      BlockPublicAcls: true,
      BlockPublicPolicy: true,
      IgnorePublicAcls: true,
      RestrictPublicBuckets: true,
    });
    assert.notEqual(bucket.Properties.VersioningConfiguration?.Status, "Enabled");
    assert.equal(bucket.DeletionPolicy, "Delete");
    const rules = bucket.Properties.LifecycleConfiguration.Rules as Json[];
    const renders = only(rules.filter((rule) => rule.ExpirationInDays !== undefined));
    assert.equal(renders.ExpirationInDays, 45);
    assert.deepEqual(renders.TagFilters, [{ Key: RENDER_OUTPUT_TAG.key, Value: RENDER_OUTPUT_TAG.value }]);
    const uploads = only(rules.filter((rule) => rule.AbortIncompleteMultipartUpload !== undefined));
    assert.equal(uploads.AbortIncompleteMultipartUpload.DaysAfterInitiation, 7);
    assert.equal(uploads.Prefix ?? uploads.Filter, undefined, "the upload rule covers the whole bucket");
    template.hasResourceProperties("AWS::S3::BucketPolicy", {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Effect: "Deny", Condition: { Bool: { "aws:SecureTransport": "false" } } }),
        ]),
      },
    });
  });

  it("has an encrypted EFS with a mount target per host subnet and a TLS-only policy", () => {
    const [fileSystemId, fileSystem] = only(ofType("AWS::EFS::FileSystem"));
    assert.equal(fileSystem.Properties.Encrypted, true);
    assert.equal(fileSystem.DeletionPolicy, "Delete");
    const statements = fileSystem.Properties.FileSystemPolicy.Statement as Json[];
    assert.ok(statements.every((statement) => statement.Effect === "Deny"), "the file system policy allows nobody by itself");
    assert.deepEqual(statements[0]?.Condition, { Bool: { "aws:SecureTransport": "false" } });
    const hostSubnets = ofType("AWS::EC2::Subnet").map(([id]) => id);
    const targets = ofType("AWS::EFS::MountTarget");
    assert.deepEqual(targets.map(([, target]) => target.Properties.SubnetId.Ref).sort(), hostSubnets.sort());
    for (const [, target] of targets) assert.equal(target.Properties.FileSystemId.Ref, fileSystemId);
    template.hasResourceProperties("AWS::EC2::SecurityGroupIngress", { FromPort: 2049, ToPort: 2049, IpProtocol: "tcp" });
  });

  it("has an ECR repository that scans on push and keeps the newest builds per Blender version", () => {
    const [, repository] = only(ofType("AWS::ECR::Repository"));
    assert.equal(repository.Properties.ImageScanningConfiguration.ScanOnPush, true);
    assert.equal(repository.DeletionPolicy, "Delete");
    const rules = JSON.parse(repository.Properties.LifecyclePolicy.LifecyclePolicyText).rules as Json[];
    for (const version of PUBLIC_PROPS.blenderVersions) {
      const rule = only(rules.filter((candidate) => candidate.selection.tagPrefixList?.includes(`blender-${version}-`)));
      assert.equal(rule.selection.countType, "imageCountMoreThan");
      assert.equal(rule.action.type, "expire");
    }
    assert.ok(rules.some((rule) => rule.selection.tagStatus === "untagged"));
  });

  it("keeps the newest builds of each version retrievable by the tags the buildspec really pushes", () => {
    const [, repository] = only(ofType("AWS::ECR::Repository"));
    const rules = JSON.parse(repository.Properties.LifecyclePolicy.LifecyclePolicyText).rules as LifecycleRule[];
    // Five builds of each version, as docker/buildspec.yml tags and pushes them: the version tag moves to the
    // newest build (the older image loses it), the numbered tag stays.
    const images: PushedImage[] = [];
    let build = 0;
    for (const version of PUBLIC_PROPS.blenderVersions) {
      for (let round = 0; round < 5; round += 1) {
        build += 1;
        const tags = pushedTags(version, build);
        for (const image of images) (image.tags as string[]).splice(0, Infinity, ...image.tags.filter((tag) => !tags.includes(tag)));
        images.push({ digest: `sha256:${build}`, tags, pushedAt: build * 60_000 });
      }
    }
    const left = survivingImages(rules, images, 10 * 86_400_000);
    for (const version of PUBLIC_PROPS.blenderVersions) {
      const kept = left.filter((image) => image.tags.some((tag) => tag.startsWith(`blender-${version}-`)));
      assert.equal(kept.length, 3, `Blender ${version}: ${kept.length} builds kept, expected the newest 3`);
      const newest = kept.toSorted((a, b) => b.pushedAt - a.pushedAt)[0]!;
      assert.ok(newest.tags.includes(`blender-${version}`), "the image the job definitions run is kept");
    }
  });

  it("builds images with a privileged CodeBuild project from build/source.zip in the bucket", () => {
    const [, project] = only(ofType("AWS::CodeBuild::Project"));
    assert.equal(project.Properties.Environment.PrivilegedMode, true);
    assert.equal(project.Properties.Source.Type, "S3");
    assert.deepEqual(project.Properties.Source.Location, { "Fn::Join": ["", [{ Ref: bucketId }, `/${IMAGE_SOURCE_KEY}`]] });
    assert.equal(project.Properties.Source.BuildSpec, IMAGE_BUILDSPEC);
    const [repositoryId] = only(ofType("AWS::ECR::Repository"));
    const variables = project.Properties.Environment.EnvironmentVariables as Json[];
    assert.ok(JSON.stringify(only(variables.filter((variable) => variable.Name === "REPOSITORY_URI")).Value).includes(repositoryId));
    assert.ok(!variables.some((variable) => variable.Name === "BLENDER_VERSION"), "set per build, not by the project");
  });

  it("keeps job logs for logRetentionDays in /brender/<farm>/jobs", () => {
    template.hasResourceProperties("AWS::Logs::LogGroup", { LogGroupName: "/brender/demo/jobs", RetentionInDays: 14 });
    for (const [, group] of ofType("AWS::Logs::LogGroup")) assert.equal(group.Properties.RetentionInDays, 14);
  });
});

describe("farm stack: Batch", () => {
  const kinds = [
    { kind: "spot-cpu", type: "SPOT", gpu: false },
    { kind: "on-demand-cpu", type: "EC2", gpu: false },
    { kind: "spot-gpu", type: "SPOT", gpu: true },
    { kind: "on-demand-gpu", type: "EC2", gpu: true },
  ] as const;

  it("has one managed compute environment per render queue, scaling from 0 to maxVcpus", () => {
    assert.equal(ofType("AWS::Batch::ComputeEnvironment").length, 5);
    for (const { kind, type, gpu } of kinds) {
      const environment = computeEnvironmentOf(queueNamed(`brender-demo-${kind}`)[1]);
      const compute = environment.Properties.ComputeResources;
      assert.equal(environment.Properties.Type, "MANAGED", kind);
      assert.equal(compute.Type, type, kind);
      assert.equal(compute.MinvCpus, 0, kind);
      assert.equal(compute.MaxvCpus, 64, kind);
      assert.deepEqual(compute.InstanceTypes, gpu ? ["g5", "g6"] : ["c6i", "m7i.2xlarge"], kind);
      if (type === "SPOT") {
        assert.equal(compute.BidPercentage, 70, kind);
        assert.equal(compute.AllocationStrategy, "SPOT_PRICE_CAPACITY_OPTIMIZED", kind);
      } else {
        assert.equal(compute.BidPercentage, undefined, kind);
        assert.equal(compute.AllocationStrategy, "BEST_FIT_PROGRESSIVE", kind);
      }
      const imageTypes = (compute.Ec2Configuration as Json[]).map((configuration) => configuration.ImageType);
      if (gpu) assert.deepEqual(imageTypes, [GPU_IMAGE_TYPE], kind);
      else assert.ok(!imageTypes.some((image) => String(image).includes("NVIDIA")), kind);
    }
    // Amazon Linux 2 (and its ECS_AL2_NVIDIA AMI) is out of support: every host runs Amazon Linux 2023.
    assert.equal(GPU_IMAGE_TYPE, "ECS_AL2023_NVIDIA");
    for (const [, environment] of ofType("AWS::Batch::ComputeEnvironment")) {
      for (const configuration of environment.Properties.ComputeResources.Ec2Configuration as Json[]) {
        assert.match(configuration.ImageType, /^ECS_AL2023(_NVIDIA)?$/);
      }
    }
  });

  it("runs copy and upload jobs on their own small on-demand CPU queue, outside fair share", () => {
    const [, ioQueue] = queueNamed("brender-demo-io");
    const compute = computeEnvironmentOf(ioQueue).Properties.ComputeResources;
    assert.equal(compute.Type, "EC2");
    assert.equal(compute.MinvCpus, 0);
    assert.ok(compute.MaxvCpus <= 16);
    assert.ok((compute.InstanceTypes as string[]).every((type) => type.endsWith(".large") && !type.startsWith("g")));
    assert.equal(ioQueue.Properties.SchedulingPolicyArn, undefined);
  });

  it("gives each queue only its own compute environment; render queues share a fair-share policy", () => {
    const environments = new Set<Json>();
    const [policyId] = only(ofType("AWS::Batch::SchedulingPolicy"));
    for (const { kind } of kinds) {
      const [, queue] = queueNamed(`brender-demo-${kind}`);
      environments.add(computeEnvironmentOf(queue));
      assert.deepEqual(queue.Properties.SchedulingPolicyArn, { Ref: policyId });
      assert.equal(queue.Properties.State, "ENABLED");
    }
    environments.add(computeEnvironmentOf(queueNamed("brender-demo-io")[1]));
    assert.equal(environments.size, 5, "no two queues share a compute environment");
  });

  it("a farm without GPU instance types has no GPU environments or queues", () => {
    const farm = synthFarmTemplate({ farmName: "cpu-only", blenderVersions: ["4.2.0"], gpuInstanceTypes: [] });
    const farmResources = farm.template.Resources as Record<string, Json>;
    assert.equal(ofType("AWS::Batch::ComputeEnvironment", farmResources).length, 3);
    const outputs = farm.template.Outputs as Json;
    assert.equal(outputs[FARM_OUTPUTS.spotGpuQueue], undefined);
    assert.equal(outputs[FARM_OUTPUTS.onDemandGpuQueue], undefined);
  });

  it("has one job definition per Blender version with the image tag, EFS at /mnt/efs, env, retries, timeout and logs", () => {
    const definitions = ofType("AWS::Batch::JobDefinition");
    // One per version, plus the publisher of failed renders (test/infra/failed-render-publisher.test.ts).
    assert.equal(definitions.length, PUBLIC_PROPS.blenderVersions.length + 1);
    const [repositoryId] = only(ofType("AWS::ECR::Repository"));
    const [fileSystemId] = only(ofType("AWS::EFS::FileSystem"));
    const [accessPointId] = only(ofType("AWS::EFS::AccessPoint"));
    const [logGroupId] = only(ofType("AWS::Logs::LogGroup").filter(([, group]) => group.Properties.LogGroupName === "/brender/demo/jobs"));
    for (const version of PUBLIC_PROPS.blenderVersions) {
      const [, definition] = only(definitions.filter(([, candidate]) => candidate.Properties.JobDefinitionName === jobDefinitionName("demo", version)));
      const props = definition.Properties;
      assert.equal(props.Type, "container");
      assert.deepEqual(props.PlatformCapabilities, ["EC2"]);
      assert.equal(props.RetryStrategy.Attempts, 3);
      assert.equal(props.Timeout.AttemptDurationSeconds, 86_400);
      const container = props.ContainerProperties;
      const image = container.Image["Fn::Join"][1] as unknown[];
      assert.equal(image.at(-1), `:blender-${version}`);
      assert.ok(JSON.stringify(image).includes(repositoryId));
      assert.deepEqual(container.Environment, [
        { Name: "EFS_BLENDER_FOLDER_PATH", Value: "/mnt/efs" },
        { Name: "BLENDER_EXECUTABLE", Value: "/opt/blender/blender" },
        { Name: "BRENDER_WEBHOOK_SECRET_ARN", Value: { Ref: ofType("AWS::SecretsManager::Secret")[0]![0] } },
      ]);
      const volume = only(container.Volumes as Json[]);
      assert.deepEqual(volume.EfsVolumeConfiguration, {
        FileSystemId: { Ref: fileSystemId },
        TransitEncryption: "ENABLED",
        AuthorizationConfig: { AccessPointId: { Ref: accessPointId }, Iam: "ENABLED" },
      });
      assert.deepEqual(container.MountPoints, [{ SourceVolume: volume.Name, ContainerPath: "/mnt/efs", ReadOnly: false }]);
      assert.equal(container.LogConfiguration.LogDriver, "awslogs");
      assert.deepEqual(container.LogConfiguration.Options["awslogs-group"], { Ref: logGroupId });
      assert.ok(container.JobRoleArn["Fn::GetAtt"], "jobs run with the job role");
    }
  });
});

describe("farm stack: IAM", () => {
  type Statement = { where: string; statement: Json };
  function statementsOf(from: Record<string, Json>): Statement[] {
    const found: Statement[] = [];
    const add = (where: string, document: Json | undefined) => {
      for (const statement of document?.Statement ?? []) found.push({ where, statement });
    };
    for (const [id, resource] of Object.entries(from)) {
      const props = resource.Properties ?? {};
      if (resource.Type === "AWS::IAM::Policy" || resource.Type === "AWS::IAM::ManagedPolicy") add(id, props.PolicyDocument);
      if (resource.Type === "AWS::IAM::Role") for (const policy of props.Policies ?? []) add(id, policy.PolicyDocument);
      if (resource.Type === "AWS::S3::BucketPolicy") add(id, props.PolicyDocument);
      if (resource.Type === "AWS::EFS::FileSystem") add(id, props.FileSystemPolicy);
      if (resource.Type === "AWS::ECR::Repository" && props.RepositoryPolicyText) add(id, props.RepositoryPolicyText);
    }
    return found;
  }
  const actionsOf = (statement: Json): string[] => [statement.Action ?? []].flat();
  const resourcesOf = (statement: Json): unknown[] => [statement.Resource ?? []].flat();
  const all = statementsOf(resources);

  it("grants no wildcard action anywhere; the only wildcard is the TLS-enforcing deny", () => {
    assert.ok(all.length >= 10);
    for (const { where, statement } of all) {
      assert.equal(statement.NotAction, undefined, where);
      if (statement.Effect === "Allow") {
        for (const action of actionsOf(statement)) assert.ok(!action.includes("*"), `${where} allows "${action}"`);
      } else {
        assert.equal(statement.Effect, "Deny");
        assert.deepEqual(statement.Condition, { Bool: { "aws:SecureTransport": "false" } }, `${where}: a deny only enforces TLS`);
      }
    }
  });

  it("lets jobs terminate only jobs tagged with their own farm (a render passing its cost cap)", () => {
    const terminate = all.filter(({ statement }) => actionsOf(statement).includes("batch:TerminateJob"));
    const { statement } = only(terminate);
    assert.deepEqual(actionsOf(statement), ["batch:TerminateJob"]);
    const resource = JSON.stringify(only(resourcesOf(statement)));
    assert.match(resource, /:batch:/);
    assert.match(resource, /:job\/\*/);
    assert.deepEqual(statement.Condition, { StringEquals: { "aws:ResourceTag/brender:farm": "demo" } });
  });

  it('uses Resource "*" only for actions that have no resource to scope to', () => {
    const unscoped = all.filter(({ statement }) => statement.Effect === "Allow" && resourcesOf(statement).includes("*"));
    const actions = unscoped.flatMap(({ statement }) => actionsOf(statement)).sort();
    assert.deepEqual(actions, ["batch:DescribeJobs", "ecr:GetAuthorizationToken"]);
  });

  it("scopes S3 permissions to the farm's bucket and its objects", () => {
    const s3 = all.filter(({ statement }) => statement.Effect === "Allow" && actionsOf(statement).some((action) => action.startsWith("s3:")));
    assert.ok(s3.length >= 3);
    const bucketObjects = (suffix: string) => ({ "Fn::Join": ["", [bucketArn, suffix]] });
    for (const { where, statement } of s3) {
      for (const resource of resourcesOf(statement)) {
        const allowed = [bucketArn, bucketObjects("/*"), bucketObjects("/build/*")];
        assert.ok(allowed.some((candidate) => JSON.stringify(candidate) === JSON.stringify(resource)), `${where}: S3 on ${JSON.stringify(resource)}`);
      }
    }
  });

  it("gives the jobs their own role, apart from the instance role, with bucket, EFS, DescribeJobs and SES", () => {
    const jobRoleIds = new Set(ofType("AWS::Batch::JobDefinition").map(([, definition]) => definition.Properties.ContainerProperties.JobRoleArn["Fn::GetAtt"][0] as string));
    const jobRoleId = only([...jobRoleIds]);
    const jobRole = resources[jobRoleId]!;
    assert.equal(jobRole.Properties.AssumeRolePolicyDocument.Statement[0].Principal.Service, "ecs-tasks.amazonaws.com");

    const [, profile] = only(ofType("AWS::IAM::InstanceProfile"));
    const instanceRoleId = only(profile.Properties.Roles as Json[]).Ref as string;
    assert.notEqual(instanceRoleId, jobRoleId);
    const instanceRole = resources[instanceRoleId]!;
    assert.equal(instanceRole.Properties.AssumeRolePolicyDocument.Statement[0].Principal.Service, "ec2.amazonaws.com");
    assert.equal(instanceRole.Properties.Policies, undefined);
    assert.ok(!ofType("AWS::IAM::Policy").some(([, policy]) => JSON.stringify(policy.Properties.Roles).includes(instanceRoleId)), "the instance role gets no extra permissions");

    const jobStatements = ofType("AWS::IAM::Policy")
      .filter(([, policy]) => JSON.stringify(policy.Properties.Roles).includes(jobRoleId))
      .flatMap(([, policy]) => policy.Properties.PolicyDocument.Statement as Json[]);
    const byAction = (action: string) => only(jobStatements.filter((statement) => actionsOf(statement).includes(action)));
    assert.deepEqual(byAction("s3:GetObject").Resource, { "Fn::Join": ["", [bucketArn, "/*"]] });
    assert.deepEqual(byAction("s3:ListBucket").Resource, bucketArn);
    assert.equal(byAction("batch:DescribeJobs").Resource, "*");
    assert.deepEqual(actionsOf(byAction("batch:DescribeJobs")), ["batch:DescribeJobs"]);
    const [fileSystemId] = only(ofType("AWS::EFS::FileSystem"));
    assert.deepEqual(byAction("elasticfilesystem:ClientMount").Resource, { "Fn::GetAtt": [fileSystemId, "Arn"] });
    const ses = byAction("ses:SendEmail");
    assert.deepEqual(actionsOf(ses).sort(), ["ses:SendEmail", "ses:SendTemplatedEmail"]);
    const sesResources = resourcesOf(ses).map((resource) => JSON.stringify(resource));
    assert.ok(sesResources.some((resource) => resource.includes(":identity/renders@example.com")));
    assert.ok(sesResources.every((resource) => resource.includes(":identity/") || resource.includes(":template/")));
    // In the SES sandbox the recipient's identity is checked too: any identity, but only from the farm's sender.
    assert.ok(sesResources.some((resource) => resource.includes(":identity/*")));
    assert.deepEqual(ses.Condition, { StringEquals: { "ses:FromAddress": "renders@example.com" } });
  });

  it("a farm without a notification e-mail gets no SES identity and no SES permission", () => {
    const privateResources = privateFarm.template.Resources as Record<string, Json>;
    assert.equal(ofType("AWS::SES::EmailIdentity", privateResources).length, 0);
    assert.equal(ofType("AWS::SES::Template", privateResources).length, 2);
    const actions = statementsOf(privateResources).flatMap(({ statement }) => actionsOf(statement));
    assert.ok(!actions.some((action) => action.startsWith("ses:")));
  });
});

describe("farm stack: notifications", () => {
  const variables = new Set(
    Object.keys(
      renderTemplateData({
        renderId: "r1",
        project: "p",
        blendFile: "p.blend",
        status: "succeeded",
        framesExpected: 1,
        framesRendered: 1,
        missingFrames: [],
        finishedAt: "2025-01-01T00:00:00Z",
        outputs: { location: "s3://b/p/output/r1/" },
        warnings: [],
      }),
    ),
  );

  it("creates success and failure templates that use only RenderTemplateData's variables", () => {
    const templates = ofType("AWS::SES::Template").map(([, resource]) => resource.Properties.Template as Json);
    assert.equal(templates.length, 2);
    for (const parts of [SUCCESS_TEMPLATE, FAILURE_TEMPLATE]) {
      const synthesized = only(templates.filter((candidate) => candidate.SubjectPart === parts.subject));
      assert.equal(synthesized.HtmlPart, parts.html);
      assert.equal(synthesized.TextPart, parts.text);
      for (const text of [parts.subject, parts.html, parts.text]) {
        const used = [...text.matchAll(/\{\{\s*(?:#if\s+)?([A-Za-z]+)\s*\}\}/g)].map((match) => match[1]!);
        assert.ok(used.length > 0);
        for (const name of used) assert.ok(variables.has(name), `{{${name}}} is not a template variable`);
        assert.equal(text.split("{{#if").length, text.split("{{/if}}").length, "balanced #if blocks");
      }
    }
    assert.match(FAILURE_TEMPLATE.text, /\{\{reason\}\}/);
    assert.match(SUCCESS_TEMPLATE.html, /\{\{#if zipLink\}\}/);
  });

  it("creates the sender's SES e-mail identity, unless told it exists already", () => {
    template.hasResourceProperties("AWS::SES::EmailIdentity", { EmailIdentity: "renders@example.com" });
    const existing = synthFarmTemplate({ ...PUBLIC_PROPS, createEmailIdentity: false });
    const existingResources = existing.template.Resources as Record<string, Json>;
    assert.equal(ofType("AWS::SES::EmailIdentity", existingResources).length, 0);
    assert.equal((existing.template.Outputs as Json)[FARM_OUTPUTS.senderEmail].Value, "renders@example.com");
    assert.ok(JSON.stringify(existingResources).includes(":identity/renders@example.com"), "the job role may still send from it");
  });
});

describe("farm stack: outputs (the CLI contract)", () => {
  const REGION = "eu-west-1";
  const ACCOUNT = "123456789012";

  /** Resolves the intrinsics CDK emits into what CloudFormation would show: Ref -> "ref-<id>", GetAtt -> an ARN. */
  function resolve(value: unknown): string {
    if (typeof value === "string") return value;
    const node = value as Json;
    if ("Ref" in node) {
      const pseudo: Record<string, string> = { "AWS::Region": REGION, "AWS::AccountId": ACCOUNT, "AWS::Partition": "aws", "AWS::URLSuffix": "amazonaws.com" };
      return pseudo[node.Ref] ?? `ref-${node.Ref}`;
    }
    if ("Fn::GetAtt" in node) return `arn:aws:fake:${REGION}:${ACCOUNT}:${node["Fn::GetAtt"][0]}/${node["Fn::GetAtt"][1]}`;
    if ("Fn::Join" in node) return (node["Fn::Join"][1] as unknown[]).map(resolve).join(node["Fn::Join"][0]);
    if ("Fn::Select" in node) return resolveList(node["Fn::Select"][1])[node["Fn::Select"][0]]!;
    throw new Error(`cannot resolve ${JSON.stringify(value)}`);
  }
  function resolveList(value: unknown): string[] {
    const node = value as Json;
    if ("Fn::Split" in node) return resolve(node["Fn::Split"][1]).split(node["Fn::Split"][0]);
    throw new Error(`cannot resolve list ${JSON.stringify(value)}`);
  }
  function describedStack(outputs: Json): CfnStack {
    return {
      StackName: "brender-farm-demo",
      StackStatus: "CREATE_COMPLETE",
      CreationTime: new Date(),
      Outputs: Object.entries(outputs).map(([key, output]) => ({ OutputKey: key, OutputValue: resolve(output.Value) })),
    };
  }
  const outputs = publicFarm.template.Outputs as Json;

  it("outputs exactly the contract's keys plus the image build's", () => {
    // This farm has no link key: the link distribution's outputs are checked in link-distribution.test.ts.
    const linkOutputs: string[] = [FARM_INFRA_OUTPUTS.linkDomain, FARM_INFRA_OUTPUTS.linkKeyId, FARM_INFRA_OUTPUTS.linkKeySecret];
    const expected = [...Object.values(FARM_OUTPUTS), ...Object.values(FARM_INFRA_OUTPUTS)].filter((key) => !linkOutputs.includes(key));
    assert.deepEqual(Object.keys(outputs).sort(), expected.sort());
    for (const [key, output] of Object.entries(outputs)) assert.equal(output.Export, undefined, `${key} is not exported`);
  });

  it("parses with farmFromStack into the farm's bucket, queues, job definitions, logs and e-mail settings", () => {
    const farm: FarmResources = farmFromStack("demo", REGION, describedStack(outputs));
    const ref = (id: string) => `ref-${id}`;
    assert.equal(farm.bucket, ref(bucketId));
    assert.equal(farm.queues.io, ref(queueNamed("brender-demo-io")[0]));
    assert.equal(farm.queues.spotCpu, ref(queueNamed("brender-demo-spot-cpu")[0]));
    assert.equal(farm.queues.onDemandCpu, ref(queueNamed("brender-demo-on-demand-cpu")[0]));
    assert.equal(farm.queues.spotGpu, ref(queueNamed("brender-demo-spot-gpu")[0]));
    assert.equal(farm.queues.onDemandGpu, ref(queueNamed("brender-demo-on-demand-gpu")[0]));
    assert.deepEqual(
      [...farm.fairShareQueues].sort(),
      [farm.queues.spotCpu, farm.queues.onDemandCpu, farm.queues.spotGpu, farm.queues.onDemandGpu].sort(),
    );
    const definitionIds = new Map(ofType("AWS::Batch::JobDefinition").map(([id, definition]) => [definition.Properties.JobDefinitionName, id]));
    assert.deepEqual(
      farm.jobDefinitions,
      PUBLIC_PROPS.blenderVersions.map((version) => ({ blenderVersion: version, arn: ref(definitionIds.get(jobDefinitionName("demo", version))!) })),
    );
    const [logGroupId] = only(ofType("AWS::Logs::LogGroup").filter(([, group]) => group.Properties.LogGroupName === "/brender/demo/jobs"));
    assert.equal(farm.logGroup, ref(logGroupId));
    const [successId] = only(ofType("AWS::SES::Template").filter(([, t]) => t.Properties.Template.SubjectPart === SUCCESS_TEMPLATE.subject));
    const [failureId] = only(ofType("AWS::SES::Template").filter(([, t]) => t.Properties.Template.SubjectPart === FAILURE_TEMPLATE.subject));
    assert.deepEqual(farm.notification, { sender: "renders@example.com", successTemplate: ref(successId), failureTemplate: ref(failureId) });
    assert.equal(farm.maxCostUsd, 12.5, "the farm's default cost cap");
  });

  it("outputs the image repository URI, build project, file system and source key", () => {
    const values = Object.fromEntries(Object.entries(outputs).map(([key, output]) => [key, resolve(output.Value)]));
    const [repositoryId] = only(ofType("AWS::ECR::Repository"));
    assert.equal(values[FARM_INFRA_OUTPUTS.imageRepository], `${ACCOUNT}.dkr.ecr.${REGION}.amazonaws.com/ref-${repositoryId}`);
    assert.equal(values[FARM_INFRA_OUTPUTS.imageBuildProject], `ref-${only(ofType("AWS::CodeBuild::Project"))[0]}`);
    assert.equal(values[FARM_INFRA_OUTPUTS.fileSystemId], `ref-${only(ofType("AWS::EFS::FileSystem"))[0]}`);
    assert.equal(values[FARM_INFRA_OUTPUTS.sourceKey], IMAGE_SOURCE_KEY);
  });

  it("a farm without e-mail still parses, with templates but no sender", () => {
    const farm = farmFromStack("Studio-2", REGION, describedStack(privateFarm.template.Outputs as Json));
    assert.equal(farm.notification.sender, undefined);
    assert.equal(farm.maxCostUsd, undefined, "no default cost cap");
    assert.ok(farm.notification.successTemplate);
    assert.deepEqual(farm.jobDefinitions.map((definition) => definition.blenderVersion), ["4.2.0"]);
  });
});
