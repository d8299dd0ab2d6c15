/**
 * Which links a job hands out: CloudFront signed URLs when the farm has a
 * link distribution (they last as long as asked, up to 7 days, whatever
 * credentials signed them), else the store's own links (presigned S3, whose
 * real expiry is the signing credentials' when that comes first).
 */
import { createPrivateKey } from "node:crypto";
import { readSecretString } from "../backends/aws/secret-string.ts";
import { distributionUrl, LINK_ENV, signCloudFrontUrl, type CloudFrontSigningKey } from "./cloudfront-link.ts";

export { LINK_ENV };
import type { ObjectStore, ShareLink } from "./object-store.ts";
import { checkLinkSeconds, S3ObjectStore } from "./s3-store.ts";

export type LinkMaker = {
  /** "cloudfront" (links outlive the credentials) or "store" (presigned S3, or file:// locally). */
  readonly via: "cloudfront" | "store";
  link(key: string, expiresSeconds: number): Promise<ShareLink>;
};

/** The store's own links. */
export function storeLinks(store: ObjectStore): LinkMaker {
  return { via: "store", link: (key, seconds) => store.linkFor(key, seconds) };
}

/** Signed CloudFront URLs of `store`'s keys behind the distribution at `domain`. */
export function cloudFrontLinks(store: S3ObjectStore, domain: string, key: CloudFrontSigningKey): LinkMaker {
  return {
    via: "cloudfront",
    async link(storeKey, seconds) {
      checkLinkSeconds(seconds);
      // Whole seconds, as the policy holds them: the stated expiry is exactly the signed one.
      const expiresAt = new Date(Math.floor(Date.now() / 1000 + seconds) * 1000);
      return { url: signCloudFrontUrl(distributionUrl(domain, store.bucketKey(storeKey)), expiresAt, key), expiresAt };
    },
  };
}

/**
 * The links `env` configures for `store`: CloudFront when the three LINK_ENV
 * variables are set and the private key can be read and parsed; otherwise the
 * store's links, with a warning saying why when a distribution was named.
 */
export async function linkMakerFromEnv(store: ObjectStore, env: NodeJS.ProcessEnv): Promise<{ maker: LinkMaker; warning?: string }> {
  const domain = env[LINK_ENV.domain]?.trim();
  const keyPairId = env[LINK_ENV.keyPairId]?.trim();
  const secretId = env[LINK_ENV.privateKeySecret]?.trim();
  if (!domain || !keyPairId || !secretId || !(store instanceof S3ObjectStore)) return { maker: storeLinks(store) };
  const fallback = (why: string) => ({
    maker: storeLinks(store),
    warning: `Links are presigned S3 URLs, which end with the job's credentials, not CloudFront links: ${why}`,
  });
  let privateKeyPem: string | undefined;
  try {
    privateKeyPem = await readSecretString(secretId, env);
  } catch (error) {
    return fallback(`the signing key ${secretId} could not be read (${(error as Error).message})`);
  }
  try {
    if (!privateKeyPem) throw new Error("it is empty");
    createPrivateKey(privateKeyPem);
  } catch {
    // `farm deploy` writes the key right after the stack; a render in between finds the placeholder.
    return fallback(`the signing key ${secretId} holds no PEM private key yet; run 'brender farm deploy' again to write it`);
  }
  return { maker: cloudFrontLinks(store, domain, { keyPairId, privateKeyPem }) };
}
