import { createHmac, timingSafeEqual } from "node:crypto";

/** The header carrying the body's signature: `sha256=<hex HMAC-SHA256 of the raw body with the farm's secret>`. */
export const SIGNATURE_HEADER = "X-Brender-Signature";

/** `sha256=<hex>`: HMAC-SHA256 of the exact bytes sent, keyed with the secret. */
export function signBody(secret: string, body: string | Buffer): string {
  return `sha256=${createHmac("sha256", secret).update(body).digest("hex")}`;
}

/**
 * Whether `header` is the signature of `body` under `secret`, compared in
 * constant time. What a receiver does (in any language: HMAC-SHA256 of the raw
 * body, hex, prefixed "sha256=").
 */
export function verifySignature(secret: string, body: string | Buffer, header: string | undefined): boolean {
  if (header === undefined) return false;
  const expected = Buffer.from(signBody(secret, body));
  const given = Buffer.from(header.trim());
  return given.length === expected.length && timingSafeEqual(given, expected);
}
