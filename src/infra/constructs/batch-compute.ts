/**
 * The farm's AWS Batch capacity: managed EC2 compute environments for spot
 * and on-demand × CPU and GPU (all scale to zero), a small on-demand one for
 * the copy and upload jobs, one job queue per compute environment, and a
 * fair-share policy on the render queues so one big project cannot starve
 * the others.
 */
import { Stack } from "aws-cdk-lib";
import * as batch from "aws-cdk-lib/aws-batch";
import * as iam from "aws-cdk-lib/aws-iam";
import type * as ec2 from "aws-cdk-lib/aws-ec2";
import { Construct } from "constructs";
import type { QueueKind } from "../../backends/aws/farm-resources.ts";
import { IO_INSTANCE_TYPES } from "../farm-props.ts";
import { GPU_AMI_IMAGE_TYPE } from "./gpu-driver.ts";

/** How a render compute environment buys capacity. */
export type RenderEnvironment = {
  readonly kind: QueueKind;
  readonly spot: boolean;
  readonly gpu: boolean;
};

export const RENDER_ENVIRONMENTS: readonly RenderEnvironment[] = [
  { kind: "spot-cpu", spot: true, gpu: false },
  { kind: "on-demand-cpu", spot: false, gpu: false },
  { kind: "spot-gpu", spot: true, gpu: true },
  { kind: "on-demand-gpu", spot: false, gpu: true },
];

/**
 * Amazon Linux 2023 ECS AMIs Batch picks for the hosts: the GPU one carries the NVIDIA driver and container
 * toolkit (gpu-driver.ts checks that driver against the image's CUDA). Amazon Linux 2 is out of support.
 */
export const CPU_IMAGE_TYPE = "ECS_AL2023";
export const GPU_IMAGE_TYPE = GPU_AMI_IMAGE_TYPE;
export const SPOT_ALLOCATION_STRATEGY = "SPOT_PRICE_CAPACITY_OPTIMIZED";
export const ON_DEMAND_ALLOCATION_STRATEGY = "BEST_FIT_PROGRESSIVE";

export type BatchComputeProps = {
  /** Used in queue and scheduling policy names. */
  readonly farmName: string;
  /** Subnets the hosts start in. */
  readonly subnets: readonly ec2.ISubnet[];
  /** Security group of every host. */
  readonly securityGroup: ec2.ISecurityGroup;
  /** vCPU ceiling of each render compute environment. @default 256 */
  readonly maxVcpus?: number;
  /** Spot price ceiling as a percentage of on-demand. @default 100 */
  readonly spotBidPercentage?: number;
  /** Instance families or types for CPU renders; empty: no CPU render queues. */
  readonly cpuInstanceTypes: readonly string[];
  /** Instance families or types for GPU renders; empty: no GPU render queues. */
  readonly gpuInstanceTypes: readonly string[];
  /** Instance types of the copy/upload environment (1 vCPU / 2 GiB jobs). @default ["c6i.large","m6i.large","c7i.large","m7i.large"] */
  readonly ioInstanceTypes?: readonly string[];
  /** vCPU ceiling of the copy/upload environment. @default 16 */
  readonly ioMaxVcpus?: number;
  /** Tags put on the hosts (Batch does not copy stack tags onto the instances it starts). @default none */
  readonly hostTags?: Readonly<Record<string, string>>;
};

export class BatchCompute extends Construct {
  /** The render queue of each kind the farm has. */
  readonly renderQueues: ReadonlyMap<QueueKind, batch.CfnJobQueue>;
  readonly ioQueue: batch.CfnJobQueue;
  readonly schedulingPolicy: batch.CfnSchedulingPolicy;
  /** The role the hosts run as (ECS agent: image pulls, log delivery); distinct from the jobs' role. */
  readonly instanceRole: iam.Role;

  constructor(scope: Construct, id: string, props: BatchComputeProps) {
    super(scope, id);
    const partition = Stack.of(this).partition;
    this.instanceRole = new iam.Role(this, "InstanceRole", {
      assumedBy: new iam.ServicePrincipal("ec2.amazonaws.com"),
      description: "Brender Batch hosts: ECS agent only (jobs use the job role)",
      managedPolicies: [
        iam.ManagedPolicy.fromManagedPolicyArn(
          this,
          "EcsForEc2",
          `arn:${partition}:iam::aws:policy/service-role/AmazonEC2ContainerServiceforEC2Role`,
        ),
      ],
    });
    const instanceProfile = new iam.CfnInstanceProfile(this, "InstanceProfile", { roles: [this.instanceRole.roleName] });

    const base = {
      subnets: props.subnets.map((subnet) => subnet.subnetId),
      securityGroupIds: [props.securityGroup.securityGroupId],
      instanceRole: instanceProfile.attrArn,
      minvCpus: 0,
      ...(props.hostTags ? { tags: { ...props.hostTags } } : {}),
      updateToLatestImageVersion: true,
    };
    const environment = (id: string, env: RenderEnvironment, instanceTypes: readonly string[], maxvCpus: number) =>
      new batch.CfnComputeEnvironment(this, id, {
        type: "MANAGED",
        state: "ENABLED",
        computeResources: {
          ...base,
          type: env.spot ? "SPOT" : "EC2",
          allocationStrategy: env.spot ? SPOT_ALLOCATION_STRATEGY : ON_DEMAND_ALLOCATION_STRATEGY,
          ...(env.spot ? { bidPercentage: props.spotBidPercentage ?? 100 } : {}),
          maxvCpus,
          instanceTypes: [...instanceTypes],
          ec2Configuration: [{ imageType: env.gpu ? GPU_IMAGE_TYPE : CPU_IMAGE_TYPE }],
        },
        // Lets CloudFormation update instance types and limits in place instead of replacing the environment.
        replaceComputeEnvironment: false,
      });

    this.schedulingPolicy = new batch.CfnSchedulingPolicy(this, "FairShare", {
      name: `brender-${props.farmName}-fair-share`,
      // Usage older than an hour stops counting against a project's share.
      fairsharePolicy: { shareDecaySeconds: 3600, computeReservation: 0 },
    });

    const queue = (id: string, name: string, computeEnvironment: batch.CfnComputeEnvironment, fairShare: boolean) =>
      new batch.CfnJobQueue(this, id, {
        jobQueueName: `brender-${props.farmName}-${name}`,
        priority: 1,
        state: "ENABLED",
        computeEnvironmentOrder: [{ order: 1, computeEnvironment: computeEnvironment.ref }],
        ...(fairShare ? { schedulingPolicyArn: this.schedulingPolicy.ref } : {}),
      });

    const renderQueues = new Map<QueueKind, batch.CfnJobQueue>();
    for (const env of RENDER_ENVIRONMENTS) {
      const instanceTypes = env.gpu ? props.gpuInstanceTypes : props.cpuInstanceTypes;
      if (instanceTypes.length === 0) continue;
      const id = pascalCase(env.kind);
      const computeEnvironment = environment(`${id}Environment`, env, instanceTypes, props.maxVcpus ?? 256);
      renderQueues.set(env.kind, queue(`${id}Queue`, env.kind, computeEnvironment, true));
    }
    this.renderQueues = renderQueues;

    const ioEnvironment = environment(
      "IoEnvironment",
      { kind: "on-demand-cpu", spot: false, gpu: false },
      props.ioInstanceTypes ?? IO_INSTANCE_TYPES,
      props.ioMaxVcpus ?? 16,
    );
    // Plain FIFO: copy and upload jobs are short and must not wait behind another project's share.
    this.ioQueue = queue("IoQueue", "io", ioEnvironment, false);
  }
}

function pascalCase(kind: string): string {
  return kind
    .split("-")
    .map((part) => part.charAt(0).toUpperCase() + part.slice(1))
    .join("");
}
