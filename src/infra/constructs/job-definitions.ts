/**
 * One AWS Batch job definition per Blender version, all running the worker
 * image tagged for that version with the work folder mounted at /mnt/efs, and
 * the log group they write to. Submissions override resources, retries and
 * the environment per job; these are the defaults and the fixed parts.
 */
import { Duration, RemovalPolicy, Stack } from "aws-cdk-lib";
import * as batch from "aws-cdk-lib/aws-batch";
import type * as ecr from "aws-cdk-lib/aws-ecr";
import type * as efs from "aws-cdk-lib/aws-efs";
import type * as iam from "aws-cdk-lib/aws-iam";
import * as logs from "aws-cdk-lib/aws-logs";
import { Construct } from "constructs";
import { PUBLISHER_PARAMETER } from "./failed-render-publisher.ts";
import { imageTag } from "./image-build.ts";

/** Where the work folder is mounted in every job's container. */
export const EFS_MOUNT_PATH = "/mnt/efs";
/** Where the worker image installs Blender. */
export const BLENDER_EXECUTABLE = "/opt/blender/blender";
export const JOB_ATTEMPTS = 3;
export const JOB_TIMEOUT = Duration.days(1);
const VOLUME_NAME = "work";
/** The publisher retries lost hosts and image pulls like every job (batch-submission's RETRY_RULES), nothing else. */
const PUBLISHER_RETRY_RULES = [
  { onStatusReason: "Host EC2*", action: "RETRY" },
  { onReason: "CannotPullContainerError*", action: "RETRY" },
  { onExitCode: "*", action: "EXIT" },
] as const;

export type JobDefinitionsProps = {
  /** Used in the job definition and log group names. */
  readonly farmName: string;
  /** One job definition each. */
  readonly blenderVersions: readonly string[];
  /** Holds the worker images, tagged `blender-<version>`. */
  readonly repository: ecr.IRepository;
  /** The work folder, mounted at EFS_MOUNT_PATH through `accessPoint`. */
  readonly fileSystem: efs.IFileSystem;
  readonly accessPoint: efs.IAccessPoint;
  /** The role the jobs run as (and mount the work folder with). */
  readonly jobRole: iam.IRole;
  /** The ARN (never the value) of the webhook signing secret the upload job reads. @default none */
  readonly webhookSecretArn?: string;
  /** Where the upload job signs output links (LINK_ENV of src/storage/share-links.ts): names and ARNs, never the key. @default none (presigned S3) */
  readonly linkEnvironment?: Readonly<Record<string, string>>;
  /** Days CloudWatch keeps the jobs' logs. @default 30 */
  readonly logRetention?: logs.RetentionDays;
  /** vCPUs of a job that does not ask (submissions override it). @default 1 */
  readonly defaultVcpus?: number;
  /** Memory of a job that does not ask (submissions override it). @default 2048 */
  readonly defaultMemoryMiB?: number;
};

export class JobDefinitions extends Construct {
  readonly logGroup: logs.LogGroup;
  /** Blender version -> job definition (whose Ref is its ARN). */
  readonly byVersion: ReadonlyMap<string, batch.CfnJobDefinition>;
  /** The job the farm's event rule submits to publish a render whose upload job failed. */
  readonly publisher: batch.CfnJobDefinition;

  constructor(scope: Construct, id: string, props: JobDefinitionsProps) {
    super(scope, id);
    this.logGroup = new logs.LogGroup(this, "Logs", {
      logGroupName: `/brender/${props.farmName}/jobs`,
      retention: props.logRetention ?? logs.RetentionDays.ONE_MONTH,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    const containerProperties = (version: string, extra: { command?: string[]; environment?: { name: string; value: string }[] } = {}) => ({
      image: `${props.repository.repositoryUri}:${imageTag(version)}`,
      jobRoleArn: props.jobRole.roleArn,
      ...(extra.command ? { command: extra.command } : {}),
      resourceRequirements: [
        { type: "VCPU", value: String(props.defaultVcpus ?? 1) },
        { type: "MEMORY", value: String(props.defaultMemoryMiB ?? 2048) },
      ],
      environment: [
        { name: "EFS_BLENDER_FOLDER_PATH", value: EFS_MOUNT_PATH },
        { name: "BLENDER_EXECUTABLE", value: BLENDER_EXECUTABLE },
        ...(props.webhookSecretArn !== undefined ? [{ name: "BRENDER_WEBHOOK_SECRET_ARN", value: props.webhookSecretArn }] : []),
        ...Object.entries(props.linkEnvironment ?? {}).map(([name, value]) => ({ name, value })),
        ...(extra.environment ?? []),
      ],
      volumes: [
        {
          name: VOLUME_NAME,
          efsVolumeConfiguration: {
            fileSystemId: props.fileSystem.fileSystemId,
            transitEncryption: "ENABLED",
            // Mount with the job role's credentials: the file system lets only it in, through this access point.
            authorizationConfig: { accessPointId: props.accessPoint.accessPointId, iam: "ENABLED" },
          },
        },
      ],
      mountPoints: [{ sourceVolume: VOLUME_NAME, containerPath: EFS_MOUNT_PATH, readOnly: false }],
      logConfiguration: {
        logDriver: "awslogs",
        options: {
          "awslogs-group": this.logGroup.logGroupName,
          "awslogs-region": Stack.of(this).region,
          "awslogs-stream-prefix": "brender",
        },
      },
    });
    const byVersion = new Map<string, batch.CfnJobDefinition>();
    for (const version of props.blenderVersions) {
      byVersion.set(
        version,
        new batch.CfnJobDefinition(this, `Blender${version.replace(/\./g, "_")}`, {
          type: "container",
          jobDefinitionName: jobDefinitionName(props.farmName, version),
          platformCapabilities: ["EC2"],
          propagateTags: true,
          retryStrategy: { attempts: JOB_ATTEMPTS },
          timeout: { attemptDurationSeconds: JOB_TIMEOUT.toSeconds() },
          containerProperties: containerProperties(version),
        }),
      );
    }
    // The publisher (failed-render-publisher.ts) runs the upload action for a render whose upload Batch
    // failed; any version's image has it, the newest is taken. EventBridge passes the failed upload's id.
    const newest = props.blenderVersions.at(-1)!;
    this.publisher = new batch.CfnJobDefinition(this, "Publisher", {
      type: "container",
      jobDefinitionName: `brender-${props.farmName}-publish-failed`,
      platformCapabilities: ["EC2"],
      propagateTags: true,
      retryStrategy: { attempts: JOB_ATTEMPTS, evaluateOnExit: [...PUBLISHER_RETRY_RULES] },
      timeout: { attemptDurationSeconds: JOB_TIMEOUT.toSeconds() },
      parameters: { [PUBLISHER_PARAMETER]: "none" },
      containerProperties: containerProperties(newest, {
        command: ["--after-failed-upload", `Ref::${PUBLISHER_PARAMETER}`],
        // Batch sets no region in the container; the worker reads the failed job from this region's Batch.
        environment: [{ name: "AWS_REGION", value: Stack.of(this).region }],
      }),
    });
    this.byVersion = byVersion;
  }
}

/** Batch job definition names take letters, digits, - and _ only: dots become _. */
export function jobDefinitionName(farmName: string, blenderVersion: string): string {
  return `brender-${farmName}-blender-${blenderVersion.replace(/\./g, "_")}`;
}
