import { availableParallelism } from "node:os";
import type { FastifyInstance } from "fastify";
import { QUEUE_KINDS, type QueueKind } from "../../backends/aws/farm-resources.ts";
import { listRenderRecords } from "../../backends/aws/render-record.ts";
import { isTerminal } from "../../backends/local/job-state.ts";
import type { ServerContext } from "../context.ts";
import { newestSubmissions } from "../render-view.ts";

/**
 * GET /api/farms: this machine's farm, and the AWS farms renders were
 * submitted to (from local records, no AWS calls), each with the queue kinds
 * a render may ask for.
 */
export function registerFarmRoutes(app: FastifyInstance, context: ServerContext): void {
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
    const farms = new Map<string, { farm: string; region: string; renders: number; lastSubmittedAt: string; queues: QueueKind[] }>();
    for (const record of await listRenderRecords(context.home).catch(() => [])) {
      const key = `${record.farm}\n${record.region}`;
      const entry = farms.get(key) ?? { farm: record.farm, region: record.region, renders: 0, lastSubmittedAt: record.submittedAt, queues: [...QUEUE_KINDS] };
      entry.renders += 1;
      if (record.submittedAt > entry.lastSubmittedAt) entry.lastSubmittedAt = record.submittedAt;
      farms.set(key, entry);
    }
    return { local, aws: [...farms.values()].sort((a, b) => a.farm.localeCompare(b.farm)) };
  });
}
