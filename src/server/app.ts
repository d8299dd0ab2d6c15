/**
 * The HTTP API of `brender serve`: a fastify instance over the local farm,
 * which it also runs (one runner loop for the server's lifetime), so renders
 * submitted here progress without any other process.
 */
import multipart from "@fastify/multipart";
import Fastify, { type FastifyInstance } from "fastify";
import { openLocalFarm } from "../backends/local/farm.ts";
import { runLocalFarm, type WorkerCommand } from "../backends/local/runner.ts";
import { AwsRenderBackend } from "../renders/aws.ts";
import { LocalRenderBackend } from "../renders/local.ts";
import { Renders } from "../renders/renders.ts";
import { guardBrowserRequests, isLoopback, requireToken } from "./auth.ts";
import { conflictOrAws } from "./aws/errors.ts";
import { uploadsDirOf, type ServerContext } from "./context.ts";
import { httpErrorOf } from "./http-errors.ts";
import { scheduleUploadCleanup, sizeErrorOf, uploadLimitsOf } from "./uploads.ts";
import { blobsDirOf, registerBlobRoutes } from "./routes/blobs.ts";
import { registerEstimateRoutes } from "./routes/estimate.ts";
import { registerEventRoutes, type LiveStreams } from "./routes/events.ts";
import { registerFarmRoutes } from "./routes/farms.ts";
import { registerInspectRoutes } from "./routes/inspect.ts";
import { registerJobRoutes } from "./routes/jobs.ts";
import { registerLogRoutes } from "./routes/logs.ts";
import { registerOpenApiRoutes } from "./routes/openapi.ts";
import { registerUiRoutes } from "./routes/ui.ts";
import { registerUploadRoutes } from "./routes/uploads.ts";

export type AppOptions = {
  /** BRENDER_HOME, BRENDER_STORAGE, BLENDER_EXECUTABLE… (default process.env); also the base environment of the farm's workers. */
  readonly env?: NodeJS.ProcessEnv;
  /** The address it will listen on (default 127.0.0.1). On loopback only this machine's names are answered in Host (DNS rebinding). */
  readonly host?: string;
  /** When set, every /api route needs it (Bearer header, or ?token= on GET). */
  readonly token?: string;
  /** Run the local farm in this process (default true). */
  readonly runFarm?: boolean;
  readonly workerCommand?: WorkerCommand;
  /** How often event streams look for changes (default 500 ms). */
  readonly pollMs?: number;
  /** Heartbeat comment interval of event streams (default 15 s). */
  readonly heartbeatMs?: number;
  /** How often event streams of AWS renders ask AWS (default 5 s; AWS statuses are cached 10 s anyway). */
  readonly awsPollMs?: number;
  readonly logger?: boolean;
};

/** Builds the API (not listening yet). Closing it stops the farm's runner, ends event streams and closes the job store. */
export async function buildApp(options: AppOptions = {}): Promise<FastifyInstance> {
  const env = options.env ?? process.env;
  // Read once, before anything opens: a bad BRENDER_MAX_UNPACK_* stops the server at start, not each upload.
  const uploadLimits = uploadLimitsOf(env);
  const farm = openLocalFarm(env);
  const context: ServerContext = {
    farm,
    env,
    home: farm.paths.home,
    uploadsDir: uploadsDirOf(farm.paths.home),
    uploadLimits,
    pollMs: options.pollMs ?? 500,
    heartbeatMs: options.heartbeatMs ?? 15_000,
    renders: new Renders([
      new LocalRenderBackend(farm, { pollMs: options.pollMs ?? 500 }),
      new AwsRenderBackend(farm.paths.home, env, { pollMs: options.awsPollMs ?? 5_000, failFast: true, explain: conflictOrAws }),
    ]),
  };
  // Event streams never go idle: without this, close() would wait for every client to leave.
  const app = Fastify({ logger: options.logger ?? false, forceCloseConnections: true });
  const live: LiveStreams = new Set();
  const stopFarm = new AbortController();
  const runner =
    options.runFarm === false
      ? Promise.resolve()
      : runLocalFarm({
          store: farm.jobs,
          logDir: farm.logDir,
          baseEnv: env,
          // Cancelling from a browser should stop Blender within a second, not at the runner's default 5 s heartbeat.
          heartbeatMs: 1000,
          signal: stopFarm.signal,
          ...(options.workerCommand ? { workerCommand: options.workerCommand } : {}) }).catch(
          (error: unknown) => app.log.error(error, "the local farm's runner stopped"),
        );

  app.addHook("onClose", async () => {
    for (const { stream } of live) stream.close();
    await Promise.all([...live].map(({ loop }) => loop));
    stopFarm.abort();
    await runner;
    context.renders.close();
    farm.close();
  });
  // Before the token: a page from another site is refused for what it is, token or not.
  guardBrowserRequests(app, { loopback: isLoopback(options.host ?? "127.0.0.1") });
  if (options.token) requireToken(app, options.token);
  app.setErrorHandler((error, request, reply) => {
    const { statusCode, body } = httpErrorOf(sizeErrorOf(error, uploadLimits));
    if (statusCode >= 500) request.log.error(error);
    return reply.code(statusCode).send(body);
  });
  app.setNotFoundHandler((request, reply) => reply.code(404).send({ error: `No route ${request.method} ${request.url.split("?")[0]}; GET /api/openapi.json lists them.` }));
  // No file taken is larger than what an upload may unpack to.
  await app.register(multipart, { limits: { fileSize: uploadLimits.maxTotalBytes, files: 1, fields: 10 } });

  registerInspectRoutes(app, context);
  registerEstimateRoutes(app, context);
  registerJobRoutes(app, context);
  registerLogRoutes(app, context);
  registerUploadRoutes(app, context);
  registerBlobRoutes(app, context);
  scheduleUploadCleanup(app, context.uploadsDir, blobsDirOf(context));
  registerFarmRoutes(app, context);
  registerEventRoutes(app, context, live);
  registerOpenApiRoutes(app);
  registerUiRoutes(app);
  return app;
}
