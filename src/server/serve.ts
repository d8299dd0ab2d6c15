import type { FastifyInstance } from "fastify";
import { UserInputError } from "../errors.ts";
import { buildApp, type AppOptions } from "./app.ts";
import { tokenFor } from "./auth.ts";

export const DEFAULT_HOST = "127.0.0.1";
export const DEFAULT_PORT = 4600;

export type RunningServer = { readonly app: FastifyInstance; readonly url: string; readonly token: string | undefined; readonly tokenGenerated: boolean };

/**
 * Starts the API on `host:port` (port 0: any free port). Beyond loopback a
 * token is required: the one given, else a generated one (returned, to print).
 */
export async function startServer(options: { host?: string; port?: number; token?: string } & Omit<AppOptions, "token">): Promise<RunningServer> {
  const host = options.host ?? DEFAULT_HOST;
  const { token, generated } = tokenFor(host, options.token);
  const app = await buildApp({ ...options, host, token });
  try {
    await app.listen({ host, port: options.port ?? DEFAULT_PORT });
  } catch (error) {
    await app.close();
    throw error;
  }
  const address = app.server.address();
  const port = typeof address === "object" && address ? address.port : options.port ?? DEFAULT_PORT;
  const shownHost = host.includes(":") ? `[${host}]` : host;
  return { app, url: `http://${shownHost}:${port}/`, token, tokenGenerated: generated };
}

/** `brender serve`. Serves until SIGINT/SIGTERM, then stops the farm's runner (running renders go back to the queue) and exits 0. */
export async function runServe(options: { host: string; port: string; token?: string }): Promise<number> {
  const port = Number(options.port);
  if (!/^\d+$/.test(options.port) || port > 65_535) throw new UserInputError(`--port "${options.port}" must be a whole number from 0 to 65535.`);
  let server;
  try {
    server = await startServer({ host: options.host, port, ...(options.token ? { token: options.token } : {}) });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "EADDRINUSE") throw new UserInputError(`Port ${port} on ${options.host} is in use; pick another with --port (0 picks a free one).`);
    if (code === "EADDRNOTAVAIL" || code === "ENOTFOUND") throw new UserInputError(`--host "${options.host}" is not an address of this machine; use 127.0.0.1, 0.0.0.0 or one of its addresses.`);
    throw error;
  }
  process.stdout.write(`brender serving on ${server.url}\n`);
  if (server.token) {
    process.stdout.write(`token: ${server.token}${server.tokenGenerated ? " (generated; pass --token to choose one)" : ""}\n`);
    process.stdout.write(`send 'Authorization: Bearer ${server.token}', or add ?token=${server.token} to GET links\n`);
  }
  await new Promise<void>((resolve) => {
    process.once("SIGINT", resolve);
    process.once("SIGTERM", resolve);
  });
  await server.app.close();
  return 0;
}
