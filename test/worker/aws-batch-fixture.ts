/**
 * A minimal AWS Batch in moto for the worker's AWS tests: a queue and a job
 * definition, and jobs that end SUCCEEDED or FAILED on demand.
 *
 * moto with `{"batch": {"use_docker": false}}` marks every job SUCCEEDED at
 * submission (array parents included). With use_docker on and no usable
 * Docker daemon, moto's job thread fails the job about half a second later;
 * TerminateJob first gives it the statusReason AWS would report. The switch
 * is moto's runtime config, so one server makes both kinds.
 */
import { BatchClient, CreateComputeEnvironmentCommand, CreateJobQueueCommand, DescribeJobsCommand, RegisterJobDefinitionCommand, SubmitJobCommand, TerminateJobCommand } from "@aws-sdk/client-batch";
import { CloudFormationClient, CreateStackCommand, DescribeStacksCommand } from "@aws-sdk/client-cloudformation";
import type { MotoServer } from "../helpers/moto-server.ts";

export type BatchFixture = {
  readonly batch: BatchClient;
  /** Submits a job that has SUCCEEDED when this returns (an array job when `arraySize` ≥ 2), after `dependsOn` when given. */
  succeeded(name: string, arraySize?: number, dependsOn?: readonly string[]): Promise<string>;
  /** Submits a job that FAILS with `reason` about half a second later; returns at once. */
  failing(name: string, reason: string): Promise<string>;
  /** Submits a job with this environment that waits for `dependsOn` (Batch fails it, unstarted, when one of them fails). */
  dependent(name: string, dependsOn: readonly string[], environment: Record<string, string>): Promise<string>;
  /** Waits until the job is SUCCEEDED or FAILED in moto. */
  settled(jobId: string): Promise<void>;
};

export async function batchFixture(moto: MotoServer): Promise<BatchFixture> {
  const config = { endpoint: moto.endpoint, region: moto.region, credentials: moto.credentials };
  const batch = new BatchClient(config);
  const cloudFormation = new CloudFormationClient(config);
  // Batch wants an existing service role; CloudFormation makes one without an IAM client dependency.
  await cloudFormation.send(
    new CreateStackCommand({
      StackName: "worker-test-roles",
      TemplateBody: JSON.stringify({
        Resources: { Role: { Type: "AWS::IAM::Role", Properties: { AssumeRolePolicyDocument: { Version: "2012-10-17", Statement: [] } } } },
        Outputs: { RoleArn: { Value: { "Fn::GetAtt": ["Role", "Arn"] } } },
      }),
    }),
  );
  const stacks = await cloudFormation.send(new DescribeStacksCommand({ StackName: "worker-test-roles" }));
  cloudFormation.destroy();
  const serviceRole = stacks.Stacks![0]!.Outputs![0]!.OutputValue!;
  const environment = await batch.send(
    new CreateComputeEnvironmentCommand({ computeEnvironmentName: "worker-test-ce", type: "UNMANAGED", state: "ENABLED", serviceRole }),
  );
  const queue = await batch.send(
    new CreateJobQueueCommand({
      jobQueueName: "worker-test-queue",
      priority: 1,
      state: "ENABLED",
      computeEnvironmentOrder: [{ order: 1, computeEnvironment: environment.computeEnvironmentArn! }],
    }),
  );
  const definition = await batch.send(
    new RegisterJobDefinitionCommand({
      jobDefinitionName: "worker-test-definition",
      type: "container",
      containerProperties: {
        image: "brender-worker:test",
        command: ["brender", "worker"],
        resourceRequirements: [{ type: "VCPU", value: "1" }, { type: "MEMORY", value: "512" }],
      },
    }),
  );
  const submit = async (jobName: string, arraySize = 1, dependsOn: readonly string[] = []) =>
    (
      await batch.send(
        new SubmitJobCommand({
          jobName,
          jobQueue: queue.jobQueueArn!,
          jobDefinition: definition.jobDefinitionArn!,
          ...(arraySize >= 2 ? { arrayProperties: { size: arraySize } } : {}),
          ...(dependsOn.length > 0 ? { dependsOn: dependsOn.map((jobId) => ({ jobId })) } : {}),
        }),
      )
    ).jobId!;

  return {
    batch,
    async succeeded(name, arraySize, dependsOn) {
      await moto.configure({ batch: { use_docker: false } });
      return await submit(name, arraySize, dependsOn);
    },
    async failing(name, reason) {
      await moto.configure({ batch: { use_docker: true } });
      try {
        const jobId = await submit(name);
        await batch.send(new TerminateJobCommand({ jobId, reason }));
        return jobId;
      } finally {
        await moto.configure({ batch: { use_docker: false } });
      }
    },
    async dependent(name, dependsOn, environment) {
      await moto.configure({ batch: { use_docker: true } });
      try {
        return (
          await batch.send(
            new SubmitJobCommand({
              jobName: name,
              jobQueue: queue.jobQueueArn!,
              jobDefinition: definition.jobDefinitionArn!,
              dependsOn: dependsOn.map((jobId) => ({ jobId })),
              containerOverrides: { environment: Object.entries(environment).map(([name, value]) => ({ name, value })) },
            }),
          )
        ).jobId!;
      } finally {
        await moto.configure({ batch: { use_docker: false } });
      }
    },
    async settled(jobId) {
      for (let round = 0; round < 100; round++) {
        const status = (await batch.send(new DescribeJobsCommand({ jobs: [jobId] }))).jobs?.[0]?.status;
        if (status === "SUCCEEDED" || status === "FAILED") return;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      throw new Error(`moto job ${jobId} did not end within 10 s`);
    },
  };
}
