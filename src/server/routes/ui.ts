import { readFile, stat } from "node:fs/promises";
import { extname, join, resolve, sep } from "node:path";
import type { FastifyInstance } from "fastify";
import { ApiError } from "../http-errors.ts";

/** Where `vite build web` puts the UI; the same relative place from src/server/routes and dist/server/routes. */
export const DEFAULT_UI_DIR = new URL("../../../web/dist/", import.meta.url).pathname;

const UI_TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".ico": "image/x-icon",
  ".json": "application/json",
  ".woff2": "font/woff2",
};

/**
 * The file under `root` a URL path names, or undefined when it names nothing
 * there (or would leave `root`): the caller then serves index.html, so
 * client-side routes load the app.
 */
export async function uiFileFor(root: string, urlPath: string): Promise<string | undefined> {
  let decoded: string;
  try {
    decoded = decodeURIComponent(urlPath.split("?")[0]!);
  } catch {
    return undefined;
  }
  if (decoded.includes("\0")) return undefined;
  const base = resolve(root);
  const file = resolve(base, `.${decoded}`);
  if (file !== base && !file.startsWith(base + sep)) return undefined;
  const info = await stat(file).catch(() => undefined);
  return info?.isFile() ? file : undefined;
}

/** GET of any non-/api path: the built web UI (web/dist), index.html for paths that are not files. */
export function registerUiRoutes(app: FastifyInstance, root: string = DEFAULT_UI_DIR): void {
  app.get("/*", async (request, reply) => {
    const path = request.url.split("?")[0]!;
    if (path === "/api" || path.startsWith("/api/")) throw new ApiError(404, `No route GET ${path}; GET /api/openapi.json lists them.`);
    const file = (await uiFileFor(root, path)) ?? join(root, "index.html");
    const body = await readFile(file).catch(() => undefined);
    if (!body) throw new ApiError(404, `The web UI is not built (no ${join(root, "index.html")}); run 'npm run build'.`);
    // Vite fingerprints assets, so they never change under one name; index.html must always be fresh.
    const immutable = file.includes(`${sep}assets${sep}`);
    return reply
      .type(UI_TYPES[extname(file).toLowerCase()] ?? "application/octet-stream")
      .header("cache-control", immutable ? "public, max-age=31536000, immutable" : "no-cache")
      .send(body);
  });
}
