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

/** Methods that change state; only these are held to the Origin rule (a page may still link or embed GETs). */
const STATE_CHANGING = new Set(["POST", "PUT", "PATCH", "DELETE"]);

/**
 * Why a server bound to loopback refuses this Host header, or undefined when
 * it names this machine (localhost, 127.x.x.x, [::1]) and the port the
 * request came in on. Any other name is a DNS-rebinding page: a foreign
 * domain pointed at 127.0.0.1 makes the browser treat this server as that
 * domain's own. No Host at all (HTTP/1.0 tools) is not a browser, so it passes.
 */
export function loopbackHostProblem(host: string | undefined, localPort: number | undefined): string | undefined {
  if (host === undefined || host === "") return undefined;
  let url: URL | undefined;
  try {
    url = new URL(`http://${host}`);
  } catch {
    url = undefined;
  }
  const port = url ? Number(url.port || 80) : undefined;
  if (url && url.username === "" && url.pathname === "/" && isLoopback(url.hostname) && (localPort === undefined || port === localPort)) return undefined;
  const own = `127.0.0.1${localPort === undefined ? "" : `:${localPort}`}`;
  return `Host "${host}" is not this server: bound to loopback it answers only to localhost, 127.x.x.x or [::1] with its port (a foreign name is how DNS rebinding reaches it); open http://${own}/ instead.`;
}

/**
 * Why a state-changing request from a web page is refused, or undefined when
 * it may go on. The page that sent it is its Origin (without one, its
 * Referer); it must be this server's own origin, as the Host header names it.
 * Requests carrying neither (curl, the CLI, scripts) are not from a page and pass.
 */
export function foreignOriginProblem(method: string, headers: { origin?: string | undefined; referer?: string | undefined; host?: string | undefined }): string | undefined {
  if (!STATE_CHANGING.has(method.toUpperCase())) return undefined;
  const origin = headers.origin;
  const referer = headers.referer;
  const [header, value] = origin !== undefined ? ["Origin", origin] : referer !== undefined ? ["Referer", referer] : [undefined, undefined];
  if (header === undefined) return undefined;
  const refuse = `${header} "${value}" is not this server's own page; a ${method.toUpperCase()} from another site is refused (cross-site request forgery). Use the web UI this server serves, or a client that sends no Origin (curl, the CLI).`;
  let page: URL;
  try {
    page = new URL(value);
  } catch {
    return refuse; // "null" (sandboxed frames, file: pages) and anything else unparsable
  }
  if ((page.protocol !== "http:" && page.protocol !== "https:") || !headers.host) return refuse;
  let own: URL;
  try {
    // The page's own scheme, so a TLS proxy in front (https page, plain http here) still matches.
    own = new URL(`${page.protocol}//${headers.host}`);
  } catch {
    return refuse;
  }
  return page.origin === own.origin ? undefined : refuse;
}

/**
 * Guards against web pages driving the API from the user's browser: on
 * loopback (`loopback`), requests must name this machine in Host (421
 * otherwise); everywhere, state-changing requests from another page's origin
 * are refused (403) before their body is read, so nothing is uploaded or submitted.
 */
export function guardBrowserRequests(app: FastifyInstance, options: { loopback: boolean }): void {
  app.addHook("onRequest", async (request, reply) => {
    if (options.loopback) {
      const problem = loopbackHostProblem(request.headers.host, request.socket.localPort);
      if (problem) return reply.code(421).send({ error: problem });
    }
    const problem = foreignOriginProblem(request.method, request.headers);
    if (problem) return reply.code(403).send({ error: problem });
  });
}
