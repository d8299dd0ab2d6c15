/**
 * A Brender farm inside moto, made with the real SDK: an IAM service role
 * (through CloudFormation, so no IAM client is needed), an unmanaged compute
 * environment, the io and spot-cpu queues, job definitions for Blender 3.6.0
 * and 4.2.0, and the `brender-farm-test` stack whose outputs findFarm reads.
 */
import {
  BatchClient,
  CreateComputeEnvironmentCommand,
  CreateJobQueueCommand,
  RegisterJobDefinitionCommand,
} from "@aws-sdk/client-batch";
import { CloudFormationClient, CreateStackCommand, DescribeStacksCommand } from "@aws-sdk/client-cloudformation";
import { CreateBucketCommand, S3Client } from "@aws-sdk/client-s3";
import type { MotoServer } from "./moto-server.ts";

export type TestFarm = {
  readonly batch: BatchClient;
  readonly cloudFormation: CloudFormationClient;
  readonly arns: { readonly io: string; readonly spotCpu: string; readonly spotGpu: string; readonly blender36: string; readonly blender42: string };
  /** The farm's LogGroup output. */
  readonly logGroup: string;
};

export const TEST_FARM_LOG_GROUP = "/brender/test";

/** Creates the farm "test" in a running moto server. */
export async function createTestFarm(moto: MotoServer): Promise<TestFarm> {
  const config = { endpoint: moto.endpoint, region: moto.region, credentials: moto.credentials };
  const batch = new BatchClient(config);
  const cloudFormation = new CloudFormationClient(config);

  // Batch wants an existing IAM service role; the farm's own stack makes one too, and no IAM client is a dependency.
  await cloudFormation.send(
    new CreateStackCommand({
      StackName: "brender-test-roles",
      TemplateBody: JSON.stringify({
        Resources: {
          BatchServiceRole: {
            Type: "AWS::IAM::Role",
            Properties: {
              AssumeRolePolicyDocument: {
                Version: "2012-10-17",
                Statement: [{ Effect: "Allow", Principal: { Service: "batch.amazonaws.com" }, Action: "sts:AssumeRole" }],
              },
            },
          },
        },
        Outputs: { RoleArn: { Value: { "Fn::GetAtt": ["BatchServiceRole", "Arn"] } } },
      }),
    }),
  );
  const roles = await cloudFormation.send(new DescribeStacksCommand({ StackName: "brender-test-roles" }));
  const serviceRole = roles.Stacks![0]!.Outputs!.find((output) => output.OutputKey === "RoleArn")!.OutputValue!;

  const environment = await batch.send(
    new CreateComputeEnvironmentCommand({ computeEnvironmentName: "brender-test-cpu", type: "UNMANAGED", state: "ENABLED", serviceRole }),
  );
  const queue = async (name: string) =>
    (
      await batch.send(
        new CreateJobQueueCommand({
          jobQueueName: name,
          priority: 1,
          state: "ENABLED",
          computeEnvironmentOrder: [{ order: 1, computeEnvironment: environment.computeEnvironmentArn! }],
        }),
      )
    ).jobQueueArn!;
  const io = await queue("brender-test-io");
  const spotCpu = await queue("brender-test-spot-cpu");
  const spotGpu = await queue("brender-test-spot-gpu");
  const definition = async (version: string) =>
    (
      await batch.send(
        new RegisterJobDefinitionCommand({
          jobDefinitionName: `brender-test-blender-${version.replaceAll(".", "-")}`,
          type: "container",
          containerProperties: {
            image: `123456789012.dkr.ecr.us-east-1.amazonaws.com/brender-worker:${version}`,
            command: ["brender", "worker"],
            resourceRequirements: [
              { type: "VCPU", value: "1" },
              { type: "MEMORY", value: "2048" },
            ],
            environment: [{ name: "EFS_BLENDER_FOLDER_PATH", value: "/mnt/efs" }],
          },
        }),
      )
    ).jobDefinitionArn!;
  const blender36 = await definition("3.6.0");
  const blender42 = await definition("4.2.0");

  await cloudFormation.send(
    new CreateStackCommand({
      StackName: "brender-farm-test",
      TemplateBody: JSON.stringify({
        // CloudFormation needs a resource; a wait-condition handle creates nothing.
        Resources: { Placeholder: { Type: "AWS::CloudFormation::WaitConditionHandle" } },
        Outputs: {
          BucketName: { Value: "brender-test-bucket" },
          IoQueue: { Value: io },
          // A name works as well as an ARN.
          SpotCpuQueue: { Value: "brender-test-spot-cpu" },
          SpotGpuQueue: { Value: spotGpu },
          JobDefinitions: { Value: JSON.stringify({ "3.6.0": blender36, "4.2.0": blender42 }) },
          LogGroup: { Value: TEST_FARM_LOG_GROUP },
          SenderEmail: { Value: "renders@example.com" },
        },
      }),
    }),
  );
  return { batch, cloudFormation, arns: { io, spotCpu, spotGpu, blender36, blender42 }, logGroup: TEST_FARM_LOG_GROUP };
}

/** What a CLI test on moto starts with: moto (Batch without Docker), the test farm, and its bucket. */
export async function startTestFarmOnMoto(): Promise<{ moto: MotoServer; farm: TestFarm; s3: S3Client }> {
  const { startMotoServer } = await import("./moto-server.ts");
  const moto = await startMotoServer();
  await moto.configure({ batch: { use_docker: false } });
  const farm = await createTestFarm(moto);
  const s3 = new S3Client({ endpoint: moto.endpoint, region: moto.region, credentials: moto.credentials, forcePathStyle: true });
  await s3.send(new CreateBucketCommand({ Bucket: "brender-test-bucket" }));
  return { moto, farm, s3 };
}

/** The environment that points `brender` at moto, with its own BRENDER_HOME. */
export function motoCliEnv(moto: MotoServer, home: string): Record<string, string> {
  return {
    BRENDER_HOME: home,
    AWS_ENDPOINT_URL: moto.endpoint,
    AWS_ACCESS_KEY_ID: moto.credentials.accessKeyId,
    AWS_SECRET_ACCESS_KEY: moto.credentials.secretAccessKey,
    AWS_REGION: moto.region,
  };
}
