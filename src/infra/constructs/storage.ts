/**
 * The farm's bucket: projects, render outputs and the image build's source.
 * Private, encrypted, TLS only, unversioned (renders are re-creatable and
 * versions would double the bill), with lifecycle rules for old renders and
 * abandoned multipart uploads.
 */
import { Duration, RemovalPolicy } from "aws-cdk-lib";
import * as s3 from "aws-cdk-lib/aws-s3";
import { Construct } from "constructs";

/**
 * The object tag that marks a render's outputs (`<project>/output/<render>/…`)
 * for expiry. S3 lifecycle filters take a key prefix, not a pattern that
 * could match "any project's output folder", so the worker must tag what it
 * uploads there and the rule filters on the tag.
 */
import { RENDER_OUTPUT_TAG } from "../../domain/layout.ts";

export { RENDER_OUTPUT_TAG };

export type FarmStorageProps = {
  /** Days after which tagged render outputs expire. @default 90 */
  readonly renderRetentionDays?: number;
  /** Days after which unfinished multipart uploads are aborted. @default 7 */
  readonly abortIncompleteUploadDays?: number;
};

export class FarmStorage extends Construct {
  readonly bucket: s3.Bucket;

  constructor(scope: Construct, id: string, props: FarmStorageProps = {}) {
    super(scope, id);
    this.bucket = new s3.Bucket(this, "Bucket", {
      encryption: s3.BucketEncryption.S3_MANAGED,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      enforceSSL: true,
      versioned: false,
      // No autoDeleteObjects: it needs a Lambda asset; `farm destroy` empties the bucket itself.
      removalPolicy: RemovalPolicy.DESTROY,
      lifecycleRules: [
        {
          id: "ExpireOldRenders",
          tagFilters: { [RENDER_OUTPUT_TAG.key]: RENDER_OUTPUT_TAG.value },
          expiration: Duration.days(props.renderRetentionDays ?? 90),
        },
        {
          id: "AbortIncompleteUploads",
          abortIncompleteMultipartUploadAfter: Duration.days(props.abortIncompleteUploadDays ?? 7),
        },
      ],
    });
  }
}
