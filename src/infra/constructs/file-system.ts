/**
 * The shared work folder: an encrypted EFS file system with a mount target
 * in each host subnet, reached by the jobs through one access point (its own
 * root folder and POSIX user) with IAM authorization, so only the farm's job
 * role can mount it and only over TLS.
 */
import { RemovalPolicy } from "aws-cdk-lib";
import type * as ec2 from "aws-cdk-lib/aws-ec2";
import * as efs from "aws-cdk-lib/aws-efs";
import * as iam from "aws-cdk-lib/aws-iam";
import { Construct } from "constructs";

/** The NFS client actions a mount uses; a file system policy names them instead of `elasticfilesystem:*`. */
export const EFS_CLIENT_ACTIONS = [
  "elasticfilesystem:ClientMount",
  "elasticfilesystem:ClientWrite",
  "elasticfilesystem:ClientRootAccess",
] as const;

export type FarmFileSystemProps = {
  /** The farm's VPC. */
  readonly vpc: ec2.IVpc;
  /** Subnets that get a mount target (those of the Batch hosts). */
  readonly subnets: ec2.SubnetSelection;
  /** Security group of the hosts that mount it (NFS is allowed from it). */
  readonly clientSecurityGroup: ec2.ISecurityGroup;
  /** Folder the access point exposes as the jobs' root. @default "/brender" */
  readonly rootPath?: string;
  /** POSIX user and group every job's file operations run as. @default 1000 */
  readonly posixId?: number;
};

export class FarmFileSystem extends Construct {
  readonly fileSystem: efs.FileSystem;
  readonly accessPoint: efs.AccessPoint;

  constructor(scope: Construct, id: string, props: FarmFileSystemProps) {
    super(scope, id);
    this.fileSystem = new efs.FileSystem(this, "FileSystem", {
      vpc: props.vpc,
      vpcSubnets: props.subnets,
      encrypted: true,
      performanceMode: efs.PerformanceMode.GENERAL_PURPOSE,
      // Renders read a project in bursts; elastic throughput follows them without burst credits.
      throughputMode: efs.ThroughputMode.ELASTIC,
      removalPolicy: RemovalPolicy.DESTROY,
      fileSystemPolicy: new iam.PolicyDocument({
        statements: [
          new iam.PolicyStatement({
            sid: "DenyUnencryptedTransport",
            effect: iam.Effect.DENY,
            principals: [new iam.AnyPrincipal()],
            actions: [...EFS_CLIENT_ACTIONS],
            conditions: { Bool: { "aws:SecureTransport": "false" } },
          }),
        ],
      }),
      // false would make CDK add "Allow any IAM principal to write"; the policy above allows nobody, so
      // anonymous (non-IAM) clients are refused and only identities granted ClientMount (the job role) get in.
      allowAnonymousAccess: true,
    });
    this.fileSystem.connections.allowDefaultPortFrom(props.clientSecurityGroup, "NFS from the Batch hosts");

    const posixId = String(props.posixId ?? 1000);
    this.accessPoint = this.fileSystem.addAccessPoint("Work", {
      path: props.rootPath ?? "/brender",
      createAcl: { ownerUid: posixId, ownerGid: posixId, permissions: "750" },
      posixUser: { uid: posixId, gid: posixId },
    });
  }
}
