/**
 * CloudFront signed URLs, checked as CloudFront checks them (its documented
 * canned-policy scheme): rebuild the policy from the URL and its Expires,
 * undo CloudFront's URL-safe base64, verify RSA-SHA1 with the public key.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { createVerify } from "node:crypto";
import { makeLinkKeyPair } from "../../src/backends/aws/farm/link-key.ts";
import { cannedPolicy, cloudFrontBase64, distributionUrl, signCloudFrontUrl } from "../../src/storage/cloudfront-link.ts";
import { S3ObjectStore } from "../../src/storage/s3-store.ts";
import { cloudFrontLinks } from "../../src/storage/share-links.ts";

const keys = makeLinkKeyPair();
const other = makeLinkKeyPair();
const SEVEN_DAYS = 604_800;

/** What CloudFront does with a canned-policy URL: true when the signature matches `publicKeyPem`. */
function verifies(signedUrl: string, publicKeyPem: string): boolean {
  const url = new URL(signedUrl);
  const expires = Number(url.searchParams.get("Expires"));
  const signature = Buffer.from(url.searchParams.get("Signature")!.replace(/-/g, "+").replace(/_/g, "=").replace(/~/g, "/"), "base64");
  const resource = signedUrl.slice(0, signedUrl.indexOf("?"));
  return createVerify("RSA-SHA1").update(cannedPolicy(resource, expires)).verify(publicKeyPem, signature);
}

describe("CloudFront signed links", () => {
  it("a link for 7 days verifies with the public key and its policy's DateLessThan is 7 days out", async () => {
    const store = new S3ObjectStore({ bucket: "farm-bucket", prefix: "team", region: "us-east-1", credentials: { accessKeyId: "k", secretAccessKey: "s" } });
    const maker = cloudFrontLinks(store, "d111111abcdef8.cloudfront.net", { keyPairId: "K2JCJMDEHXQW5F", privateKeyPem: keys.privateKeyPem });
    const before = Date.now();
    const link = await maker.link("proj/output/r-1/output zip.zip", SEVEN_DAYS);
    const url = new URL(link.url);
    assert.equal(url.origin + url.pathname, "https://d111111abcdef8.cloudfront.net/team/proj/output/r-1/output%20zip.zip");
    assert.equal(url.searchParams.get("Key-Pair-Id"), "K2JCJMDEHXQW5F");
    assert.ok(verifies(link.url, keys.publicKeyPem), "CloudFront would accept it");
    assert.ok(!verifies(link.url, other.publicKeyPem), "and refuse it with any other key");
    const dateLessThan = Number(url.searchParams.get("Expires"));
    const policy = JSON.parse(cannedPolicy(link.url.slice(0, link.url.indexOf("?")), dateLessThan));
    assert.equal(policy.Statement[0].Condition.DateLessThan["AWS:EpochTime"], dateLessThan);
    const sevenDaysOut = before / 1000 + SEVEN_DAYS;
    assert.ok(Math.abs(dateLessThan - sevenDaysOut) <= 2, `DateLessThan ${dateLessThan}, 7 days out ${sevenDaysOut}`);
    assert.equal(link.expiresAt!.getTime(), dateLessThan * 1000, "the stated expiry is the signed one");
  });

  it("a changed URL or expiry no longer verifies", () => {
    const signed = signCloudFrontUrl(distributionUrl("d.cloudfront.net", "p/output/r/a.png"), new Date(Date.UTC(2030, 0, 1)), { keyPairId: "K1", privateKeyPem: keys.privateKeyPem });
    assert.ok(verifies(signed, keys.publicKeyPem));
    assert.ok(!verifies(signed.replace("a.png", "b.png"), keys.publicKeyPem));
    assert.ok(!verifies(signed.replace(/Expires=\d+/, "Expires=1999999999"), keys.publicKeyPem));
  });

  it("uses CloudFront's URL-safe base64 (+ to -, = to _, / to ~) and its policy JSON without spaces", () => {
    assert.equal(cloudFrontBase64(Buffer.from([0xfb, 0xff, 0xbf])), "-~-~");
    assert.equal(cloudFrontBase64(Buffer.from([0xff])), "~w__");
    assert.equal(
      cannedPolicy("https://d.cloudfront.net/a", 1767225600),
      '{"Statement":[{"Resource":"https://d.cloudfront.net/a","Condition":{"DateLessThan":{"AWS:EpochTime":1767225600}}}]}',
    );
  });

  it("refuses lifetimes outside 5 minutes to 7 days, as presigned links do", async () => {
    const store = new S3ObjectStore({ bucket: "farm-bucket", region: "us-east-1", credentials: { accessKeyId: "k", secretAccessKey: "s" } });
    const maker = cloudFrontLinks(store, "d.cloudfront.net", { keyPairId: "K1", privateKeyPem: keys.privateKeyPem });
    await assert.rejects(maker.link("p/output/r/a.png", SEVEN_DAYS + 1), /5 minutes to 7 days/);
  });
});
