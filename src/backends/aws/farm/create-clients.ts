import { BatchClient } from "@aws-sdk/client-batch";
import { CloudFormationClient } from "@aws-sdk/client-cloudformation";
import { CodeBuildClient } from "@aws-sdk/client-codebuild";
import { EC2Client } from "@aws-sdk/client-ec2";
import { ECRClient } from "@aws-sdk/client-ecr";
import { S3Client } from "@aws-sdk/client-s3";
import { SESv2Client } from "@aws-sdk/client-sesv2";
import { SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { STSClient } from "@aws-sdk/client-sts";
import type { FarmClients } from "./clients.ts";

/** The settings every client of a farm shares: region, profile, credentials (as the SDK takes them). */
export type FarmClientConfig = {
  readonly region?: string;
  readonly profile?: string;
  readonly credentials?: { readonly accessKeyId: string; readonly secretAccessKey: string };
};

/**
 * One client per service, all from the same settings; AWS_ENDPOINT_URL*
 * apply as the SDK reads them. Kept apart from clients.ts so that modules
 * needing only its types do not load every SDK client.
 */
export function createFarmClients(config: FarmClientConfig): FarmClients {
  return {
    cloudFormation: new CloudFormationClient(config),
    s3: new S3Client(config),
    codeBuild: new CodeBuildClient(config),
    ecr: new ECRClient(config),
    ses: new SESv2Client(config),
    sts: new STSClient(config),
    batch: new BatchClient(config),
    ec2: new EC2Client(config),
    secretsManager: new SecretsManagerClient(config),
  };
}
