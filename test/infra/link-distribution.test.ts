import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { makeLinkKeyPair } from "../../src/backends/aws/farm/link-key.ts";
import { FARM_INFRA_OUTPUTS } from "../../src/infra/farm-stack.ts";
import { synthFarmTemplate } from "../../src/infra/synth.ts";
import { LINK_ENV } from "../../src/storage/cloudfront-link.ts";

type Json = Record<string, any>;

const key = makeLinkKeyPair();

function resourcesOf(template: Json): [string, Json][] {
  return Object.entries(template.Resources as Record<string, Json>);
}

function only(resources: [string, Json][], type: string): [string, Json] {
  const found = resources.filter(([, r]) => r.Type === type);
  assert.equal(found.length, 1, `one ${type}`);
  return found[0]!;
}

describe("farm stack: signed output links (CloudFront)", () => {
  const { template } = synthFarmTemplate({ farmName: "links", blenderVersions: ["4.2.0"], linkPublicKey: key.publicKeyPem });
  const resources = resourcesOf(template);
  const [distributionId, distribution] = only(resources, "AWS::CloudFront::Distribution");
  const [oacId, oac] = only(resources, "AWS::CloudFront::OriginAccessControl");
  const [keyGroupId, keyGroup] = only(resources, "AWS::CloudFront::KeyGroup");
  const [publicKeyId, publicKey] = only(resources, "AWS::CloudFront::PublicKey");
  const [bucketId] = only(resources, "AWS::S3::Bucket");
  const [, bucketPolicy] = only(resources, "AWS::S3::BucketPolicy");
  const [secretId, secret] = resources.find(([id, r]) => r.Type === "AWS::SecretsManager::Secret" && id.startsWith("LinksPrivateKey"))!;

  it("puts a distribution with Origin Access Control in front of the bucket, serving only signed URLs over HTTPS", () => {
    const config = distribution.Properties.DistributionConfig;
    assert.equal(config.Origins.length, 1);
    assert.deepEqual(config.Origins[0].DomainName, { "Fn::GetAtt": [bucketId, "RegionalDomainName"] });
    assert.deepEqual(config.Origins[0].OriginAccessControlId, { "Fn::GetAtt": [oacId, "Id"] });
    assert.equal(oac.Properties.OriginAccessControlConfig.OriginAccessControlOriginType, "s3");
    assert.equal(oac.Properties.OriginAccessControlConfig.SigningBehavior, "always");
    assert.deepEqual(config.DefaultCacheBehavior.TrustedKeyGroups, [{ Ref: keyGroupId }]);
    assert.equal(config.DefaultCacheBehavior.ViewerProtocolPolicy, "https-only");
    assert.deepEqual(config.DefaultCacheBehavior.AllowedMethods, ["GET", "HEAD"]);
    assert.equal(config.CacheBehaviors, undefined, "no other behaviour serves unsigned requests");
  });

  it("trusts exactly the public key deploy made", () => {
    assert.deepEqual(keyGroup.Properties.KeyGroupConfig.Items, [{ Ref: publicKeyId }]);
    assert.equal(publicKey.Properties.PublicKeyConfig.EncodedKey, key.publicKeyPem.trim());
    assert.doesNotMatch(JSON.stringify(template), /PRIVATE KEY/, "the private key is never in the template");
  });

  it("lets only this distribution read, and only render outputs (bucket policy with AWS:SourceArn)", () => {
    const statements = bucketPolicy.Properties.PolicyDocument.Statement as Json[];
    const allows = statements.filter((s) => s.Effect === "Allow");
    assert.equal(allows.length, 1);
    const [allow] = allows;
    assert.deepEqual(allow!.Principal, { Service: "cloudfront.amazonaws.com" });
    assert.equal(allow!.Action, "s3:GetObject");
    assert.deepEqual(allow!.Resource, { "Fn::Join": ["", [{ "Fn::GetAtt": [bucketId, "Arn"] }, "/*/output/*"]] });
    const sourceArn = JSON.stringify(allow!.Condition.StringEquals["AWS:SourceArn"]);
    assert.ok(sourceArn.includes(`:distribution/`) && sourceArn.includes(`{"Ref":"${distributionId}"}`), sourceArn);
    assert.ok(statements.some((s) => s.Effect === "Deny" && s.Condition?.Bool?.["aws:SecureTransport"] === "false"), "TLS is still enforced");
  });

  it("keeps the private key in a secret readable by the job role alone, and gives jobs its ARN, the domain and key id", () => {
    assert.equal(secret.Properties.SecretString, undefined, "deploy writes the value; the template holds none");
    const readers = resources.filter(([, r]) => r.Type === "AWS::IAM::Policy" && JSON.stringify(r.Properties.PolicyDocument).includes(`"Ref":"${secretId}"`));
    assert.equal(readers.length, 1);
    assert.deepEqual(readers[0]![1].Properties.Roles.map((role: Json) => role.Ref.replace(/[0-9A-F]{8}$/, "")), ["JobRole"]);
    for (const [, definition] of resources.filter(([, r]) => r.Type === "AWS::Batch::JobDefinition")) {
      const env = Object.fromEntries((definition.Properties.ContainerProperties.Environment as Json[]).map((e) => [e.Name, e.Value]));
      assert.deepEqual(env[LINK_ENV.domain], { "Fn::GetAtt": [distributionId, "DomainName"] });
      assert.deepEqual(env[LINK_ENV.keyPairId], { Ref: publicKeyId });
      assert.deepEqual(env[LINK_ENV.privateKeySecret], { Ref: secretId });
    }
    const outputs = template.Outputs as Json;
    assert.deepEqual(outputs[FARM_INFRA_OUTPUTS.linkKeySecret].Value, { Ref: secretId });
    assert.deepEqual(outputs[FARM_INFRA_OUTPUTS.linkDomain].Value, { "Fn::GetAtt": [distributionId, "DomainName"] });
  });

  it("a farm synthesized without a key has no distribution and its jobs fall back to presigned links", () => {
    const plain = synthFarmTemplate({ farmName: "links", blenderVersions: ["4.2.0"] });
    assert.ok(!JSON.stringify(plain.template).includes("AWS::CloudFront::"));
    assert.ok(!JSON.stringify(plain.template).includes(LINK_ENV.domain));
  });

  it("refuses a key that is not a PEM public key", () => {
    assert.throws(
      () => synthFarmTemplate({ farmName: "links", blenderVersions: ["4.2.0"], linkPublicKey: key.privateKeyPem }),
      /not a PEM public key/,
    );
  });
});
