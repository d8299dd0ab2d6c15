/**
 * The farm's network: a two-AZ VPC whose render hosts sit either in public
 * subnets (no NAT cost) or in private ones behind a single NAT gateway, an S3
 * gateway endpoint so project and render transfers skip the NAT, rejected
 * traffic flow logs, and the security group every Batch host uses.
 */
import { RemovalPolicy } from "aws-cdk-lib";
import * as ec2 from "aws-cdk-lib/aws-ec2";
import * as logs from "aws-cdk-lib/aws-logs";
import { Construct } from "constructs";

export type FarmNetworkProps = {
  /** Put the hosts in private subnets behind one NAT gateway. @default false (public subnets, no NAT gateway) */
  readonly private?: boolean;
  /** Days the VPC flow log keeps rejected-traffic records. @default 30 */
  readonly flowLogRetention?: logs.RetentionDays;
};

export class FarmNetwork extends Construct {
  readonly vpc: ec2.Vpc;
  /** Where the Batch hosts and the EFS mount targets live. */
  readonly hostSubnets: ec2.SubnetSelection;
  /** Attached to every Batch host: outbound only. */
  readonly hostSecurityGroup: ec2.SecurityGroup;

  constructor(scope: Construct, id: string, props: FarmNetworkProps = {}) {
    super(scope, id);
    const isPrivate = props.private ?? false;
    this.vpc = new ec2.Vpc(this, "Vpc", {
      maxAzs: 2,
      natGateways: isPrivate ? 1 : 0,
      subnetConfiguration: isPrivate
        ? [
            { name: "Public", subnetType: ec2.SubnetType.PUBLIC, cidrMask: 24 },
            { name: "Hosts", subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS, cidrMask: 20 },
          ]
        : [{ name: "Hosts", subnetType: ec2.SubnetType.PUBLIC, cidrMask: 20 }],
      // true would add a custom-resource Lambda, i.e. an asset and a bootstrapped account.
      restrictDefaultSecurityGroup: false,
      gatewayEndpoints: { S3: { service: ec2.GatewayVpcEndpointAwsService.S3 } },
    });
    this.hostSubnets = { subnetType: isPrivate ? ec2.SubnetType.PRIVATE_WITH_EGRESS : ec2.SubnetType.PUBLIC };

    const flowLogGroup = new logs.LogGroup(this, "FlowLogGroup", {
      retention: props.flowLogRetention ?? logs.RetentionDays.ONE_MONTH,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    this.vpc.addFlowLog("RejectedTraffic", {
      destination: ec2.FlowLogDestination.toCloudWatchLogs(flowLogGroup),
      trafficType: ec2.FlowLogTrafficType.REJECT,
      maxAggregationInterval: ec2.FlowLogMaxAggregationInterval.TEN_MINUTES,
    });

    this.hostSecurityGroup = new ec2.SecurityGroup(this, "HostSecurityGroup", {
      vpc: this.vpc,
      description: "Brender Batch hosts: outbound only (ECR, S3, EFS, SES, Batch)",
      allowAllOutbound: true,
    });
  }
}
