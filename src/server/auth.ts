import { createHash, randomBytes, timingSafeEqual } from "node:crypto";
import type { FastifyInstance, FastifyRequest } from "fastify";

/** Addresses only this machine can reach: binding there needs no token. */
export function isLoopback(host: string): boolean {
  const bare = host.replace(/^\[|\]$/g, "").toLowerCase();
  return bare === "localhost" || bare === "::1" || /^127(\.\d{1,3}){3}$/.test(bare);
}

/** A fresh token for a server bound beyond loopback: 32 random bytes, URL-safe. */
export function generateToken(): string {
  return randomBytes(32).toString("base64url");
}

/**
 * The token the server will require: the one given, else a generated one when
 * the address is reachable from other machines, else none (loopback).
 */
export function tokenFor(host: string, given: string | undefined): { token: string | undefined; generated: boolean } {
  if (given !== undefined && given !== "") return { token: given, generated: false };
  return isLoopback(host) ? { token: undefined, generated: false } : { token: generateToken(), generated: true };
}

/** Equal strings, compared in time that does not depend on where they differ. */
function sameSecret(given: string, expected: string): boolean {
  const digest = (text: string) => createHash("sha256").update(text).digest();
  return timingSafeEqual(digest(given), digest(expected));
}

/** The token a request carries: `Authorization: Bearer T`, or `?token=T` on GETs (EventSource and download links cannot set headers). */
export function presentedToken(request: Pick<FastifyRequest, "headers" | "method" | "query">): string | undefined {
  const header = request.headers.authorization;
  const bearer = typeof header === "string" ? /^Bearer\s+(.+)$/i.exec(header.trim())?.[1] : undefined;
  if (bearer) return bearer;
  if (request.method !== "GET" && request.method !== "HEAD") return undefined;
  const query = request.query as Record<string, unknown> | undefined;
  return typeof query?.token === "string" ? query.token : undefined;
}

/** Makes every /api route answer 401 unless the request carries `token`. */
export function requireToken(app: FastifyInstance, token: string): void {
  app.addHook("onRequest", async (request, reply) => {
    if (!request.url.startsWith("/api")) return;
    const presented = presentedToken(request);
    if (presented !== undefined && sameSecret(presented, token)) return;
    await reply
      .code(401)
      .header("www-authenticate", 'Bearer realm="brender"')
      .send({ error: presented === undefined ? "this server needs a token: send 'Authorization: Bearer TOKEN' (or ?token=TOKEN on GET)." : "wrong token; use the one 'brender serve' printed." });
  });
}
