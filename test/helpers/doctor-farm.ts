/**
 * A healthy farm "doc" in moto, shaped like a deployed one for what `farm
 * doctor` reads: managed compute environments (spot CPU, spot GPU, the
 * on-demand copy/upload one) behind their queues, a job definition running
 * the ECR image `blender-4.2.0` that the repository holds, the image build
 * project, a verified SES sender, the service-linked roles, and the stack's
 * outputs. moto matches instance-type filters exactly (no `c6i.*`), so the
 * environments name types, not families.
 *
 * Also a loopback registry that hands out an anonymous token and serves one
 * manifest digest, as nvcr.io does for the worker's base image.
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import {
  BatchClient,
  CreateComputeEnvironmentCommand,
  CreateJobQueueCommand,
  RegisterJobDefinitionCommand,
} from "@aws-sdk/client-batch";
import { CloudFormationClient, CreateStackCommand } from "@aws-sdk/client-cloudformation";
import { CodeBuildClient, CreateProjectCommand } from "@aws-sdk/client-codebuild";
import { CreateSecurityGroupCommand, CreateSubnetCommand, CreateVpcCommand, EC2Client } from "@aws-sdk/client-ec2";
import { CreateRepositoryCommand, ECRClient, PutImageCommand } from "@aws-sdk/client-ecr";
import { CreateInstanceProfileCommand, CreateRoleCommand, IAMClient } from "@aws-sdk/client-iam";
import { CreateEmailIdentityCommand, SESv2Client } from "@aws-sdk/client-sesv2";
import type { MotoServer } from "./moto-server.ts";

export const DOCTOR_FARM = {
  name: "doc",
  sender: "renders@example.com",
  queues: { io: "brender-doc-io", spotCpu: "brender-doc-spot-cpu", spotGpu: "brender-doc-spot-gpu" },
  repository: "brender-farm-doc",
  tag: "blender-4.2.0",
  serviceLinkedRoles: [
    { name: "AWSServiceRoleForBatch", service: "batch.amazonaws.com" },
    { name: "AWSServiceRoleForECS", service: "ecs.amazonaws.com" },
    { name: "AWSServiceRoleForEC2Spot", service: "spot.amazonaws.com" },
  ],
} as const;

export type DoctorFarm = {
  readonly batch: BatchClient;
  readonly ecr: ECRClient;
  readonly iam: IAMClient;
  readonly ses: SESv2Client;
  /** Puts the image the job definition runs (again). */
  pushImage(): Promise<void>;
  /** Makes a service-linked role (again), as AWS names and places it. */
  createServiceLinkedRole(role: (typeof DOCTOR_FARM.serviceLinkedRoles)[number]): Promise<void>;
};

const trust = (service: string) =>
  JSON.stringify({ Version: "2012-10-17", Statement: [{ Effect: "Allow", Principal: { Service: service }, Action: "sts:AssumeRole" }] });

export async function createDoctorFarm(moto: MotoServer): Promise<DoctorFarm> {
  const config = { endpoint: moto.endpoint, region: moto.region, credentials: moto.credentials };
  const [batch, ecr, iam, ses, ec2] = [new BatchClient(config), new ECRClient(config), new IAMClient(config), new SESv2Client(config), new EC2Client(config)];

  const farm: DoctorFarm = {
    batch,
    ecr,
    iam,
    ses,
    async pushImage() {
      const manifest = { schemaVersion: 2, mediaType: "application/vnd.docker.distribution.manifest.v2+json", config: { digest: "sha256:1", size: 1, mediaType: "application/vnd.docker.container.image.v1+json" }, layers: [] };
      await ecr.send(new PutImageCommand({ repositoryName: DOCTOR_FARM.repository, imageTag: DOCTOR_FARM.tag, imageManifest: JSON.stringify(manifest) }));
    },
    async createServiceLinkedRole(role) {
      await iam.send(new CreateRoleCommand({ RoleName: role.name, Path: `/aws-service-role/${role.service}/`, AssumeRolePolicyDocument: trust(role.service) }));
    },
  };
  for (const role of DOCTOR_FARM.serviceLinkedRoles) await farm.createServiceLinkedRole(role);

  const vpc = (await ec2.send(new CreateVpcCommand({ CidrBlock: "10.0.0.0/16" }))).Vpc!.VpcId!;
  const subnet = (await ec2.send(new CreateSubnetCommand({ VpcId: vpc, CidrBlock: "10.0.1.0/24" }))).Subnet!.SubnetId!;
  const group = (await ec2.send(new CreateSecurityGroupCommand({ GroupName: "brender-doc-hosts", Description: "hosts", VpcId: vpc }))).GroupId!;
  const profile = (await iam.send(new CreateInstanceProfileCommand({ InstanceProfileName: "brender-doc-hosts" }))).InstanceProfile!.Arn!;
  // moto wants a service role on a compute environment; the farm's own name none (Batch then uses AWSServiceRoleForBatch).
  const serviceRole = (await iam.send(new CreateRoleCommand({ RoleName: "brender-doc-batch", AssumeRolePolicyDocument: trust("batch.amazonaws.com") }))).Role!.Arn!;
  const environment = async (name: string, type: "SPOT" | "EC2", maxvCpus: number, instanceTypes: string[]) =>
    (
      await batch.send(
        new CreateComputeEnvironmentCommand({
          computeEnvironmentName: name,
          type: "MANAGED",
          state: "ENABLED",
          serviceRole,
          computeResources: {
            type,
            minvCpus: 0,
            maxvCpus,
            instanceTypes,
            subnets: [subnet],
            securityGroupIds: [group],
            instanceRole: profile,
            allocationStrategy: type === "SPOT" ? "SPOT_PRICE_CAPACITY_OPTIMIZED" : "BEST_FIT_PROGRESSIVE",
          },
        }),
      )
    ).computeEnvironmentArn!;
  const queue = async (name: string, environmentArn: string) =>
    (await batch.send(new CreateJobQueueCommand({ jobQueueName: name, priority: 1, state: "ENABLED", computeEnvironmentOrder: [{ order: 1, computeEnvironment: environmentArn }] })))
      .jobQueueArn!;
  const io = await queue(DOCTOR_FARM.queues.io, await environment("brender-doc-io-env", "EC2", 16, ["c6i.large", "m6i.large"]));
  const spotCpu = await queue(DOCTOR_FARM.queues.spotCpu, await environment("brender-doc-spot-cpu-env", "SPOT", 256, ["c6i.2xlarge", "m7i.2xlarge"]));
  const spotGpu = await queue(DOCTOR_FARM.queues.spotGpu, await environment("brender-doc-spot-gpu-env", "SPOT", 64, ["g5.2xlarge", "g6.2xlarge"]));

  const repositoryUri = (await ecr.send(new CreateRepositoryCommand({ repositoryName: DOCTOR_FARM.repository }))).repository!.repositoryUri!;
  await farm.pushImage();
  const definition = (
    await batch.send(
      new RegisterJobDefinitionCommand({
        jobDefinitionName: "brender-doc-blender-4-2-0",
        type: "container",
        containerProperties: {
          image: `${repositoryUri}:${DOCTOR_FARM.tag}`,
          command: ["brender", "worker"],
          resourceRequirements: [
            { type: "VCPU", value: "1" },
            { type: "MEMORY", value: "2048" },
          ],
        },
      }),
    )
  ).jobDefinitionArn!;

  const codeBuild = new CodeBuildClient(config);
  await codeBuild.send(
    new CreateProjectCommand({
      name: "brender-doc-images",
      source: { type: "S3", location: "brender-doc-bucket/build/source.zip" },
      artifacts: { type: "NO_ARTIFACTS" },
      environment: { type: "LINUX_CONTAINER", image: "aws/codebuild/standard:7.0", computeType: "BUILD_GENERAL1_MEDIUM", privilegedMode: true },
      serviceRole,
    }),
  );
  await ses.send(new CreateEmailIdentityCommand({ EmailIdentity: DOCTOR_FARM.sender }));

  await new CloudFormationClient(config).send(
    new CreateStackCommand({
      StackName: `brender-farm-${DOCTOR_FARM.name}`,
      TemplateBody: JSON.stringify({
        Resources: { Placeholder: { Type: "AWS::CloudFormation::WaitConditionHandle" } },
        Outputs: {
          BucketName: { Value: "brender-doc-bucket" },
          IoQueue: { Value: io },
          SpotCpuQueue: { Value: spotCpu },
          SpotGpuQueue: { Value: spotGpu },
          JobDefinitions: { Value: JSON.stringify({ "4.2.0": definition }) },
          LogGroup: { Value: "/brender/doc/jobs" },
          SenderEmail: { Value: DOCTOR_FARM.sender },
          ImageRepository: { Value: repositoryUri },
          ImageBuildProject: { Value: "brender-doc-images" },
        },
      }),
    }),
  );
  return farm;
}

export type FakeRegistry = {
  /** e.g. "http://127.0.0.1:41234": what BRENDER_BASE_IMAGE_REGISTRY takes. */
  readonly url: string;
  /** "METHOD PATH authorized?" of every request, in order. */
  readonly requests: string[];
  close(): Promise<void>;
};

/**
 * A registry serving `repository@digest` only to requests bearing the token
 * its realm hands out; anything else is 404 (a withdrawn digest).
 */
export async function startFakeRegistry(repository: string, digest: string): Promise<FakeRegistry> {
  const requests: string[] = [];
  const server: Server = createServer((request, response) => {
    const path = request.url ?? "/";
    const authorized = request.headers.authorization === "Bearer anonymous-pull";
    requests.push(`${request.method} ${path.split("?")[0]} ${authorized ? "with-token" : "no-token"}`);
    if (path.startsWith("/token?")) {
      const scope = new URL(path, "http://x").searchParams.get("scope");
      response.writeHead(scope === `repository:${repository}:pull` ? 200 : 403, { "content-type": "application/json" });
      response.end(JSON.stringify({ token: "anonymous-pull" }));
      return;
    }
    if (!authorized) {
      const { port } = server.address() as AddressInfo;
      response.writeHead(401, { "www-authenticate": `Bearer realm="http://127.0.0.1:${port}/token",service="registry.test",scope="repository:${repository}:pull"` });
      response.end();
      return;
    }
    const found = path === `/v2/${repository}/manifests/${digest}`;
    response.writeHead(found ? 200 : 404, { "content-type": "application/vnd.oci.image.index.v1+json" });
    response.end(found ? "{}" : "");
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
