/**
 * Links that outlive the job that made them: a CloudFront distribution in
 * front of the farm's bucket that serves render outputs only, and only to
 * URLs signed with the farm's own key.
 *
 * - Origin Access Control signs CloudFront's requests to S3; the bucket
 *   policy lets this distribution (AWS:SourceArn) read `<project>/output/…`
 *   keys and nothing else. The bucket stays private and blocks public access.
 * - The key group trusts one public key, made by `farm deploy` (node:crypto,
 *   RSA 2048). Its private half goes into a Secrets Manager secret that
 *   `farm deploy` writes after the stack exists (a template must never hold
 *   it); the job role alone may read it.
 * - Jobs get the domain, key id and the secret's ARN, never the key.
 *
 * See docs/decisions.md ("E-mail links that last").
 */
import { createHash } from "node:crypto";
import { RemovalPolicy, Stack } from "aws-cdk-lib";
import * as cloudfront from "aws-cdk-lib/aws-cloudfront";
import * as origins from "aws-cdk-lib/aws-cloudfront-origins";
import * as iam from "aws-cdk-lib/aws-iam";
import type * as s3 from "aws-cdk-lib/aws-s3";
import * as secretsmanager from "aws-cdk-lib/aws-secretsmanager";
import { Construct } from "constructs";

/** Keys the distribution serves: render outputs (src/domain/layout.ts's outputPrefix), never projects or build sources. */
export const LINKED_KEYS = "*/output/*";

export type LinkDistributionProps = {
  /** The farm's bucket. */
  readonly bucket: s3.IBucket;
  /** The public key URLs are verified with (PEM, SPKI), made at `farm deploy`. */
  readonly publicKeyPem: string;
  /** The role that signs links (the jobs'): the only reader of the private key. */
  readonly signer: iam.IRole;
  /** The farm's name, part of the public key's name. */
  readonly farmName: string;
};

export class LinkDistribution extends Construct {
  readonly distribution: cloudfront.Distribution;
  readonly publicKey: cloudfront.PublicKey;
  /** Where `farm deploy` puts the private key. */
  readonly privateKey: secretsmanager.Secret;

  constructor(scope: Construct, id: string, props: LinkDistributionProps) {
    super(scope, id);
    // The key's digest in its id and name: CloudFront cannot change a public key's bytes, so a new key (lost
    // settings) is a new resource that replaces the old one instead of an update CloudFront would refuse.
    const digest = createHash("sha256").update(props.publicKeyPem.trim()).digest("hex").slice(0, 10);
    this.publicKey = new cloudfront.PublicKey(this, `PublicKey${digest}`, {
      encodedKey: props.publicKeyPem.trim(),
      publicKeyName: `brender-${props.farmName}-links-${digest}`,
      comment: "verifies the farm's signed output links",
    });
    const keyGroup = new cloudfront.KeyGroup(this, "KeyGroup", { items: [this.publicKey], comment: "signers of the farm's output links" });
    const accessControl = new cloudfront.S3OriginAccessControl(this, "OriginAccess", {
      description: "CloudFront reads the farm's render outputs",
      signing: cloudfront.Signing.SIGV4_ALWAYS,
    });
    this.distribution = new cloudfront.Distribution(this, "Distribution", {
      comment: "Brender: signed links to render outputs",
      defaultBehavior: {
        origin: origins.S3BucketOrigin.withBucketDefaults(props.bucket, { originAccessControlId: accessControl.originAccessControlId }),
        trustedKeyGroups: [keyGroup],
        viewerProtocolPolicy: cloudfront.ViewerProtocolPolicy.HTTPS_ONLY,
        allowedMethods: cloudfront.AllowedMethods.ALLOW_GET_HEAD,
        cachePolicy: cloudfront.CachePolicy.CACHING_OPTIMIZED,
      },
      // North America and Europe: the cheapest class; other viewers are served too, from farther away.
      priceClass: cloudfront.PriceClass.PRICE_CLASS_100,
      httpVersion: cloudfront.HttpVersion.HTTP2_AND_3,
    });
    const stack = Stack.of(this);
    props.bucket.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: "SignedLinksReadOutputs",
        principals: [new iam.ServicePrincipal("cloudfront.amazonaws.com")],
        actions: ["s3:GetObject"],
        resources: [props.bucket.arnForObjects(LINKED_KEYS)],
        conditions: {
          StringEquals: {
            "AWS:SourceArn": stack.formatArn({ service: "cloudfront", region: "", resource: "distribution", resourceName: this.distribution.distributionId }),
          },
        },
      }),
    );
    this.privateKey = new secretsmanager.Secret(this, "PrivateKey", {
      description: "RSA private key (PEM) that signs the farm's CloudFront output links; written by brender farm deploy",
      // A random placeholder until deploy writes the key: the worker sees it is no PEM and falls back to presigned S3.
      generateSecretString: { passwordLength: 32, excludePunctuation: true, includeSpace: false },
      removalPolicy: RemovalPolicy.DESTROY,
    });
    this.privateKey.grantRead(props.signer);
  }
}
