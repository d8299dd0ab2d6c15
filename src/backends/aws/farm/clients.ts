/**
 * What every farm command runs with: the SDK clients of the farm's region,
 * how it paces its polls, and where its progress lines go. Injected, so
 * tests drive the commands with mocks and no time passes between polls.
 */
import { setTimeout as delay } from "node:timers/promises";
import type { CloudFormationClient } from "@aws-sdk/client-cloudformation";
import type { S3Client } from "@aws-sdk/client-s3";
import type { CodeBuildClient } from "@aws-sdk/client-codebuild";
import type { ECRClient } from "@aws-sdk/client-ecr";
import type { SESv2Client } from "@aws-sdk/client-sesv2";
import type { STSClient } from "@aws-sdk/client-sts";
import type { BatchClient } from "@aws-sdk/client-batch";
import type { EC2Client } from "@aws-sdk/client-ec2";
import type { SecretsManagerClient } from "@aws-sdk/client-secrets-manager";

/** The SDK clients a farm command talks to, all in the farm's region. */
export type FarmClients = {
  readonly cloudFormation: CloudFormationClient;
  readonly s3: S3Client;
  readonly codeBuild: CodeBuildClient;
  readonly ecr: ECRClient;
  readonly ses: SESv2Client;
  readonly sts: STSClient;
  readonly batch: BatchClient;
  readonly ec2: EC2Client;
  readonly secretsManager: SecretsManagerClient;
};

/** How often to poll and how to wait; tests pass a sleep that returns at once. */
export type Pacing = {
  readonly stackPollMs: number;
  readonly buildPollMs: number;
  readonly sleep: (ms: number) => Promise<void>;
};

export const DEFAULT_PACING: Pacing = { stackPollMs: 5_000, buildPollMs: 10_000, sleep: (ms) => delay(ms) };

/** Progress lines for the user (stdout in the CLI). */
export type Report = (line: string) => void;
