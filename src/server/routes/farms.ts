import { availableParallelism } from "node:os";
import type { FastifyInstance } from "fastify";
import { QUEUE_KINDS, type QueueKind } from "../../backends/aws/farm-resources.ts";
import { listRenderRecords } from "../../backends/aws/render-record.ts";
import { isTerminal } from "../../domain/job-status.ts";
import type { ServerContext } from "../context.ts";
import { awsConfigured, FarmDiscovery } from "../farm-discovery.ts";
import { newestSubmissions } from "../../renders/local.ts";

type AwsFarmEntry = { farm: string; region: string; renders: number; lastSubmittedAt?: string; stackStatus?: string; queues: QueueKind[] };

/**
 * GET /api/farms: this machine's farm, and the AWS farms: those renders were
 * submitted to (from local records) and, when AWS is configured, those
 * deployed in the account (see farm-discovery.ts), each with the queue kinds
 * a render may ask for.
 */
export function registerFarmRoutes(app: FastifyInstance, context: ServerContext, discovery = new FarmDiscovery({ enabled: awsConfigured(context.env) })): void {
  app.get("/api/farms", async () => {
    const jobs = context.farm.jobs.listJobs({ limit: 100_000 });
    const renders = newestSubmissions(jobs);
    const local = {
      cores: context.farm.jobs.getComputeEnvironment()?.maxVcpus ?? availableParallelism(),
      queue: {
        queued: jobs.filter((job) => job.status === "SUBMITTED" || job.status === "PENDING" || job.status === "RUNNABLE").length,
        running: jobs.filter((job) => job.status === "STARTING" || job.status === "RUNNING").length,
      },
      renders: { active: [...renders.values()].filter((group) => group.some((job) => !isTerminal(job.status))).length, total: renders.size },
    };
    const farms = new Map<string, AwsFarmEntry>();
    const entryFor = (farm: string, region: string) => {
      const key = `${farm}\n${region}`;
      const entry = farms.get(key) ?? { farm, region, renders: 0, queues: [...QUEUE_KINDS] };
      farms.set(key, entry);
      return entry;
    };
    for (const record of await listRenderRecords(context.home).catch(() => [])) {
      const entry = entryFor(record.farm, record.region);
      entry.renders += 1;
      if (entry.lastSubmittedAt === undefined || record.submittedAt > entry.lastSubmittedAt) entry.lastSubmittedAt = record.submittedAt;
    }
    const discovered = await discovery.discover();
    for (const { farm, region, status } of discovered.farms) entryFor(farm, region).stackStatus = status;
    const aws = [...farms.values()].sort((a, b) => a.farm.localeCompare(b.farm) || a.region.localeCompare(b.region));
    return { local, aws, ...(discovered.error ? { discoveryError: discovered.error } : {}) };
  });
}
