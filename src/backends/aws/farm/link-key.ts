/**
 * The key pair of a farm's signed output links, made by `farm deploy`:
 * RSA 2048 (what CloudFront key groups take), the public half PEM (SPKI) for
 * the stack, the private half PEM (PKCS#8) for the farm's Secrets Manager
 * secret only.
 */
import { generateKeyPairSync } from "node:crypto";

export type LinkKeyPair = { readonly publicKeyPem: string; readonly privateKeyPem: string };

export function makeLinkKeyPair(): LinkKeyPair {
  const { publicKey, privateKey } = generateKeyPairSync("rsa", {
    modulusLength: 2048,
    publicKeyEncoding: { type: "spki", format: "pem" },
    privateKeyEncoding: { type: "pkcs8", format: "pem" },
  });
  return { publicKeyPem: publicKey, privateKeyPem: privateKey };
}
