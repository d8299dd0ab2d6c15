/**
 * CloudFront signed URLs with a canned policy (pure, node:crypto): the
 * policy names one URL and a DateLessThan epoch, is signed with RSA-SHA1 by
 * the private half of a key in the distribution's trusted key group, and
 * travels as Expires, Signature (CloudFront's URL-safe base64) and
 * Key-Pair-Id. Such a link works until that date whatever credentials made
 * it, unlike a presigned S3 URL, which dies with the session that signed it.
 */
import { createSign } from "node:crypto";

/** The job environment naming the farm's link distribution (set by the stack's job definitions). */
export const LINK_ENV = {
  domain: "BRENDER_LINK_DOMAIN",
  keyPairId: "BRENDER_LINK_KEY_ID",
  privateKeySecret: "BRENDER_LINK_KEY_SECRET_ARN",
} as const;

export type CloudFrontSigningKey = {
  /** The CloudFront public key's id (the Key-Pair-Id of the URL). */
  readonly keyPairId: string;
  /** The RSA private key, PEM. */
  readonly privateKeyPem: string;
};

/** The canned policy CloudFront rebuilds from a URL and its Expires, byte for byte (no whitespace). */
export function cannedPolicy(url: string, expiresEpochSeconds: number): string {
  return JSON.stringify({ Statement: [{ Resource: url, Condition: { DateLessThan: { "AWS:EpochTime": expiresEpochSeconds } } }] });
}

/** CloudFront's URL-safe base64: + becomes -, = becomes _, / becomes ~. */
export function cloudFrontBase64(bytes: Buffer): string {
  return bytes.toString("base64").replace(/\+/g, "-").replace(/=/g, "_").replace(/\//g, "~");
}

/** `url` signed to work until `expiresAt` (whole seconds, rounded down so the link never outlives what was promised). */
export function signCloudFrontUrl(url: string, expiresAt: Date, key: CloudFrontSigningKey): string {
  const expires = Math.floor(expiresAt.getTime() / 1000);
  const signature = createSign("RSA-SHA1").update(cannedPolicy(url, expires)).sign(key.privateKeyPem);
  // Written by hand: URLSearchParams would percent-encode the signature's "~", which CloudFront's examples keep as is.
  const query = `Expires=${expires}&Signature=${cloudFrontBase64(signature)}&Key-Pair-Id=${encodeURIComponent(key.keyPairId)}`;
  return `${url}${url.includes("?") ? "&" : "?"}${query}`;
}

/** The https URL of a bucket key behind a distribution: each path segment percent-encoded, as CloudFront compares it. */
export function distributionUrl(domain: string, bucketKey: string): string {
  return `https://${domain}/${bucketKey.split("/").map(encodeURIComponent).join("/")}`;
}
