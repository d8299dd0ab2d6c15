/**
 * `brender farm destroy`: empty the bucket and the image repository
 * (CloudFormation cannot delete either while it holds anything, and the
 * stack carries no custom-resource Lambda to do it), delete the SES identity
 * deploy created, then delete the stack and wait.
 */
import { DeleteStackCommand } from "@aws-sdk/client-cloudformation";
import { DeleteObjectsCommand, ListObjectVersionsCommand, type ObjectIdentifier, type S3Client } from "@aws-sdk/client-s3";
import { BatchDeleteImageCommand, ListImagesCommand, type ECRClient } from "@aws-sdk/client-ecr";
import { JobFailedError, UserInputError } from "../../../errors.ts";
import { FARM_OUTPUTS, farmStackName } from "../farm-resources.ts";
import { isMissingRepository, isNotFound } from "./aws-errors.ts";
import { DEFAULT_PACING, type FarmClients, type Pacing, type Report } from "./clients.ts";
import { deleteOwnEmailIdentity } from "./email-identity.ts";
import { repositoryName } from "./image-build.ts";
import { BUILD_OUTPUTS, checkFarmName } from "./settings.ts";
import { describeStack, firstFailure, isInProgress, newestEventId, stackOutputs, watchStack } from "./stack.ts";

export type DestroyDeps = {
  readonly clients: FarmClients;
  readonly report: Report;
  readonly pacing?: Pacing;
};

export type DestroyResult = {
  readonly stackName: string;
  readonly region: string;
  /** Object versions and delete markers removed from the bucket. */
  readonly objectsDeleted: number;
  readonly imagesDeleted: number;
  /** The SES identity deleted, when deploy had created it for this farm. */
  readonly emailIdentityDeleted?: string;
};

/** DeleteObjects takes at most 1000 keys per call. */
export const DELETE_OBJECTS_BATCH = 1000;
/** BatchDeleteImage takes at most 100 image ids per call. */
export const DELETE_IMAGES_BATCH = 100;

/** Throws UserInputError unless the user confirmed (--yes): destroy is not interactive, and the renders go too. */
export function confirmDestroy(name: string, yes: boolean): void {
  checkFarmName(name);
  if (!yes) throw new UserInputError(`Not deleting anything: add --yes to delete farm ${name} and all its renders.`);
}

/**
 * Deletes farm `name` and everything in it. Refuses (UserInputError, no AWS
 * call) unless `yes`: the renders in the bucket go too.
 */
export async function destroyFarm(request: { readonly name: string; readonly yes: boolean }, deps: DestroyDeps): Promise<DestroyResult> {
  const { name } = request;
  confirmDestroy(name, request.yes);
  const { clients, report } = deps;
  const pacing = deps.pacing ?? DEFAULT_PACING;
  const cfn = clients.cloudFormation;
  const region = await cfn.config.region();
  const stackName = farmStackName(name);
  const stack = await describeStack(cfn, stackName);
  if (stack === undefined) {
    throw new UserInputError(`No Brender farm "${name}" in ${region}: list the farms with 'brender farm list', or check --region/--profile.`);
  }
  if (isInProgress(stack.StackStatus) && stack.StackStatus !== "DELETE_IN_PROGRESS") {
    throw new UserInputError(`Farm "${name}" is busy (stack status ${stack.StackStatus}): wait until it completes, then destroy it.`);
  }
  const outputs = stackOutputs(stack);
  const stackId = stack.StackId ?? stackName;

  let objectsDeleted = 0;
  const bucket = outputs[FARM_OUTPUTS.bucket];
  if (bucket) {
    report(`==> Emptying s3://${bucket}`);
    objectsDeleted = await emptyBucket(clients.s3, bucket, report);
    report(`  ${objectsDeleted} object versions deleted`);
  }
  let imagesDeleted = 0;
  const repositoryUri = outputs[BUILD_OUTPUTS.imageRepository];
  if (repositoryUri) {
    const repository = repositoryName(repositoryUri);
    report(`==> Deleting the images in ${repository}`);
    imagesDeleted = await deleteAllImages(clients.ecr, repository);
    report(`  ${imagesDeleted} images deleted`);
  }
  const emailIdentityDeleted = await deleteOwnEmailIdentity(clients.ses, outputs[FARM_OUTPUTS.senderEmail], name, report);

  report(`==> Deleting stack ${stackName}`);
  const since = await newestEventId(cfn, stackId);
  await cfn.send(new DeleteStackCommand({ StackName: stackId }));
  const outcome = await watchStack(cfn, stackId, since, report, pacing);
  if (outcome.status !== "DELETE_COMPLETE") {
    throw new JobFailedError(
      `Deleting farm "${name}" failed (${firstFailure(outcome.events, "DELETE", outcome.stack)}): fix the cause and run 'brender farm destroy ${name} --yes' again.`,
    );
  }
  const removed = [
    `stack ${stackName}`,
    `${objectsDeleted} object versions`,
    `${imagesDeleted} images`,
    ...(emailIdentityDeleted ? [`SES identity ${emailIdentityDeleted}`] : []),
  ];
  report(`==> Farm "${name}" destroyed in ${region}: removed ${removed.join(", ")}`);
  return { stackName, region, objectsDeleted, imagesDeleted, ...(emailIdentityDeleted ? { emailIdentityDeleted } : {}) };
}

/** Deletes every object version and delete marker, page by page; returns how many. */
async function emptyBucket(s3: S3Client, bucket: string, report: Report): Promise<number> {
  let deleted = 0;
  let batch: ObjectIdentifier[] = [];
  const flush = async () => {
    if (batch.length === 0) return;
    const keys = batch;
    batch = [];
    const answer = await s3.send(new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: keys, Quiet: true } }));
    const failure = answer?.Errors?.[0];
    if (failure) {
      throw new JobFailedError(
        `Could not delete s3://${bucket}/${failure.Key ?? ""} (${failure.Code ?? "error"}: ${failure.Message ?? ""}): check your permissions, then run destroy again.`,
      );
    }
    deleted += keys.length;
    report(`  ${deleted} deleted…`);
  };
  let keyMarker: string | undefined;
  let versionMarker: string | undefined;
  try {
    for (;;) {
      const page = await s3.send(
        new ListObjectVersionsCommand({ Bucket: bucket, KeyMarker: keyMarker, VersionIdMarker: versionMarker }),
      );
      for (const entry of [...(page.Versions ?? []), ...(page.DeleteMarkers ?? [])]) {
        if (entry.Key === undefined) continue;
        batch.push({ Key: entry.Key, ...(entry.VersionId !== undefined ? { VersionId: entry.VersionId } : {}) });
        if (batch.length === DELETE_OBJECTS_BATCH) await flush();
      }
      if (!page.IsTruncated) break;
      keyMarker = page.NextKeyMarker;
      versionMarker = page.NextVersionIdMarker;
    }
    await flush();
  } catch (error) {
    if (isNotFound(error)) return deleted; // the bucket is already gone
    throw error;
  }
  return deleted;
}

/** Deletes every image of a repository (by digest, which removes all its tags); returns how many. */
async function deleteAllImages(ecr: ECRClient, repository: string): Promise<number> {
  const digests = new Set<string>();
  let token: string | undefined;
  try {
    do {
      const page = await ecr.send(new ListImagesCommand({ repositoryName: repository, nextToken: token }));
      for (const id of page?.imageIds ?? []) if (id.imageDigest) digests.add(id.imageDigest);
      token = page?.nextToken;
    } while (token);
  } catch (error) {
    if (isMissingRepository(error)) return 0;
    throw error;
  }
  const all = [...digests];
  for (let start = 0; start < all.length; start += DELETE_IMAGES_BATCH) {
    const imageIds = all.slice(start, start + DELETE_IMAGES_BATCH).map((imageDigest) => ({ imageDigest }));
    const answer = await ecr.send(new BatchDeleteImageCommand({ repositoryName: repository, imageIds }));
    const failure = answer?.failures?.find((entry) => entry.failureCode !== "ImageNotFound");
    if (failure) {
      throw new JobFailedError(
        `Could not delete image ${failure.imageId?.imageDigest ?? ""} from ${repository} (${failure.failureCode ?? "error"}: ${failure.failureReason ?? ""}): run destroy again.`,
      );
    }
  }
  return all.length;
}
