/**
 * Where CloudFormation reads a farm's template from: inline when it fits
 * TemplateBody, else from a per-account deploy bucket this creates once.
 */
import { createHash } from "node:crypto";
import { CreateBucketCommand, HeadBucketCommand, PutObjectCommand, type S3Client } from "@aws-sdk/client-s3";
import { GetCallerIdentityCommand } from "@aws-sdk/client-sts";
import { isNotFound } from "./aws-errors.ts";
import type { FarmClients, Report } from "./clients.ts";
import { MAX_TEMPLATE_BODY_BYTES } from "./settings.ts";

/** Where CloudFormation reads the template from: inline, or an S3 URL for large ones. */
export type TemplateSource = { TemplateBody: string } | { TemplateURL: string };

/** The template inline, or uploaded to the deploy bucket (over MAX_TEMPLATE_BODY_BYTES) and named by URL. */
export async function templateSource(
  clients: FarmClients,
  stackName: string,
  templateJson: string,
  region: string,
  report: Report,
): Promise<TemplateSource> {
  const bytes = Buffer.byteLength(templateJson);
  if (bytes <= MAX_TEMPLATE_BODY_BYTES) return { TemplateBody: templateJson };
  const identity = await clients.sts.send(new GetCallerIdentityCommand({}));
  const bucket = `brender-deploy-${identity.Account ?? "account"}-${region}`;
  await ensureBucket(clients.s3, bucket, region, report);
  const key = `templates/${stackName}/${createHash("sha256").update(templateJson).digest("hex")}.json`;
  await clients.s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: templateJson, ContentType: "application/json" }));
  report(`  template (${bytes} bytes, over CloudFormation's ${MAX_TEMPLATE_BODY_BYTES}) uploaded to s3://${bucket}/${key}`);
  return { TemplateURL: `https://${bucket}.s3.${region}.amazonaws.com/${key}` };
}

/** Creates the deploy bucket unless it exists. */
async function ensureBucket(s3: S3Client, bucket: string, region: string, report: Report): Promise<void> {
  try {
    await s3.send(new HeadBucketCommand({ Bucket: bucket }));
    return;
  } catch (error) {
    if (!isNotFound(error)) throw error;
  }
  // us-east-1 is the one region that refuses an explicit LocationConstraint.
  await s3.send(
    new CreateBucketCommand({
      Bucket: bucket,
      ...(region === "us-east-1" ? {} : { CreateBucketConfiguration: { LocationConstraint: region as never } }),
    }),
  );
  report(`  created the deploy bucket ${bucket}`);
}
