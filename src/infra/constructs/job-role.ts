/**
 * The role every Brender job runs as, kept apart from the hosts' instance
 * role and limited to what the worker does: read and write the farm's
 * bucket, mount the work folder through its access point, read a failed
 * render's jobs (DescribeJobs, for the publisher job and the cost cap),
 * stop the farm's own jobs (TerminateJob, for a render passing its cost
 * cap) and send the notification e-mail.
 * Every action is named; none is a wildcard.
 */
import * as iam from "aws-cdk-lib/aws-iam";
import type * as efs from "aws-cdk-lib/aws-efs";
import type * as s3 from "aws-cdk-lib/aws-s3";
import { Stack } from "aws-cdk-lib";
import { Construct } from "constructs";
import { TAG_KEYS } from "../../backends/aws/batch-submission.ts";

/** The tag on every job Brender submits naming its farm (batch-submission.ts's TAG_KEYS.farm). */
const FARM_JOB_TAG = TAG_KEYS.farm;

/** Object-level S3 actions of the worker: downloads, uploads (multipart too), presigned links, EFS clean-up of outputs. */
export const JOB_OBJECT_ACTIONS = [
  "s3:GetObject",
  "s3:PutObject",
  "s3:PutObjectTagging",
  "s3:DeleteObject",
  "s3:AbortMultipartUpload",
  "s3:ListMultipartUploadParts",
] as const;
/** Bucket-level S3 actions: listing a prefix and HeadBucket. */
export const JOB_BUCKET_ACTIONS = ["s3:ListBucket"] as const;

export type FarmJobRoleProps = {
  /** The farm's name: jobs may terminate only jobs tagged with it (every job Brender submits is). */
  readonly farmName: string;
  /** The farm's bucket: the only one the jobs may touch. */
  readonly bucket: s3.IBucket;
  /** The work folder. */
  readonly fileSystem: efs.IFileSystem;
  /** The only way in: mounts through other access points (or none) are refused. */
  readonly accessPoint: efs.IAccessPoint;
  /** SES identity and template ARNs the jobs may send with. @default none (no SES permission) */
  readonly sesResources?: readonly string[];
  /** Condition on sending (Notifications' sendCondition: the farm's sender only). @default none */
  readonly sesCondition?: Record<string, Record<string, string>>;
};

export class FarmJobRole extends Construct {
  readonly role: iam.Role;

  constructor(scope: Construct, id: string, props: FarmJobRoleProps) {
    super(scope, id);
    this.role = new iam.Role(this, "Role", {
      assumedBy: new iam.ServicePrincipal("ecs-tasks.amazonaws.com"),
      description: "Brender jobs: the farm's bucket, work folder, DescribeJobs, TerminateJob of its own jobs and notification e-mail",
    });
    const allow = (statement: iam.PolicyStatementProps) => this.role.addToPolicy(new iam.PolicyStatement(statement));

    allow({ sid: "FarmBucketObjects", actions: [...JOB_OBJECT_ACTIONS], resources: [props.bucket.arnForObjects("*")] });
    allow({ sid: "FarmBucket", actions: [...JOB_BUCKET_ACTIONS], resources: [props.bucket.bucketArn] });
    allow({
      sid: "WorkFolder",
      actions: ["elasticfilesystem:ClientMount", "elasticfilesystem:ClientWrite"],
      resources: [props.fileSystem.fileSystemArn],
      conditions: { StringEquals: { "elasticfilesystem:AccessPointArn": props.accessPoint.accessPointArn } },
    });
    // The publisher job reads the failed upload and its upstream jobs. DescribeJobs supports no resource-level permissions: "*" is the only resource it accepts.
    allow({ sid: "ReadRenderJobs", actions: ["batch:DescribeJobs"], resources: ["*"] });
    // A render child that passes the render's cost cap terminates the render. Job ids are not known in advance,
    // so the job ARNs of this account and region are narrowed by the farm tag every submitted job carries.
    allow({
      sid: "StopRendersAtCostCap",
      actions: ["batch:TerminateJob"],
      resources: [Stack.of(this).formatArn({ service: "batch", resource: "job", resourceName: "*" })],
      conditions: { StringEquals: { [`aws:ResourceTag/${FARM_JOB_TAG}`]: props.farmName } },
    });
    if (props.sesResources !== undefined && props.sesResources.length > 0) {
      allow({
        sid: "SendNotifications",
        actions: ["ses:SendEmail", "ses:SendTemplatedEmail"],
        resources: [...props.sesResources],
        ...(props.sesCondition ? { conditions: props.sesCondition } : {}),
      });
    }
  }
}
