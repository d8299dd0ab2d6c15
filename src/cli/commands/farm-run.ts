import { createReadStream } from "node:fs";
import { mkdir } from "node:fs/promises";
import { join, resolve } from "node:path";
import { outputPrefix } from "../../domain/layout.ts";
import { isTerminal } from "../../backends/local/job-state.ts";
import { openLocalFarm, renderJobs, renderObjects, resolveRenderId, type LocalFarm } from "../../backends/local/farm.ts";
import { runLocalFarm } from "../../backends/local/runner.ts";
import { JobFailedError, UserInputError } from "../../errors.ts";
import { formatSeconds, renderOutcome } from "../render-watch.ts";
import { cancelLocalRender, listLocalRenders, renderLogFiles, type RenderListRow } from "../render-control.ts";
import { printOutcome, runAndWatch, submittedPayload } from "../render-wait.ts";
import { terminationSignal } from "../run-command.ts";
import { brenderHome } from "../../config.ts";
import { findRenderRecord, listRenderRecords } from "../../backends/aws/render-record.ts";
import type { ObjectStore } from "../../storage/object-store.ts";

/** `reading`: the command changes nothing, so it keeps working on a full disk. */
async function withFarm<T>(work: (farm: LocalFarm) => Promise<T>, { reading = false } = {}): Promise<T> {
  const farm = openLocalFarm(process.env, { readOnlyWhenFull: reading });
  try {
    return await work(farm);
  } finally {
    farm.close();
  }
}

export async function listRenders(options: { limit: string; json?: boolean }): Promise<number> {
  const limit = Number(options.limit) || 20;
  const local: Array<Omit<RenderListRow, "status"> & { status: string | (() => Promise<string>) }> = await withFarm(async (farm) => listLocalRenders(farm), { reading: true });
  const aws = (await listRenderRecords(brenderHome())).map((record) => ({
    renderId: record.renderId,
    backend: `aws:${record.farm}`,
    project: record.payload.project.name,
    submittedAt: record.submittedAt,
    status: async () => {
      const { awsContext } = await import("./aws-renders.ts");
      const { describeRender } = await import("../../backends/aws/monitor.ts");
      return (await describeRender(awsContext(record).batch, record).catch(() => ({ status: "UNKNOWN" }))).status;
    },
  }));
  const chosen = [...local, ...aws].sort((a, b) => (a.submittedAt < b.submittedAt ? 1 : -1)).slice(0, limit);
  const rows = [];
  // AWS statuses cost a DescribeJobs call each: only for the renders shown.
  for (const { status, ...row } of chosen) rows.push({ ...row, status: typeof status === "string" ? status : await status() });
  if (options.json) process.stdout.write(`${JSON.stringify(rows, null, 2)}\n`);
  else if (rows.length === 0) process.stdout.write("No renders yet: 'brender render FILE.blend' starts one.\n");
  else for (const row of rows) process.stdout.write(`${row.renderId}  ${row.status.padEnd(9)}  ${row.backend.padEnd(10)}  ${row.project}  ${row.submittedAt}\n`);
  return 0;
}

/** A render submitted to AWS from this machine, if `id` names one. */
async function awsRender(id: string) {
  const record = await findRenderRecord(brenderHome(), id);
  return record ? { record, commands: await import("./aws-renders.ts") } : undefined;
}

export async function showStatus(id: string, options: { watch?: boolean; json?: boolean }): Promise<number> {
  const aws = await awsRender(id);
  if (aws) return aws.commands.statusAws(aws.record, options);
  return withFarm(async (farm) => {
    const renderId = resolveRenderId(farm, id);
    const payload = submittedPayload(farm, renderId);
    if (options.watch) {
      const started = performance.now();
      const outcome = await runAndWatch(farm, payload, { quiet: options.json === true, runFarm: false });
      return printOutcome(renderObjects(farm, payload.renderId), payload, outcome, (performance.now() - started) / 1000, options.json === true);
    }
    const outcome = await renderOutcome(farm, payload);
    const jobs = outcome.jobs.map((job) => ({
      name: job.name, action: job.action, status: job.status, ...(job.statusReason ? { reason: job.statusReason } : {}),
      ...(job.arraySize > 1 ? { arraySize: job.arraySize, children: job.statusSummary } : {}),
      ...(job.startedAt && job.stoppedAt ? { seconds: Math.round((job.stoppedAt - job.startedAt) / 100) / 10 } : {}),
    }));
    if (options.json) {
      process.stdout.write(`${JSON.stringify({ renderId, status: outcome.status, reason: outcome.reason, frames: payload.frames, jobs, manifest: outcome.manifest }, null, 2)}\n`);
    } else {
      process.stdout.write(`render ${renderId} (${payload.project.name}, frames ${payload.frames}): ${outcome.status}${outcome.reason ? ` — ${outcome.reason}` : ""}\n`);
      for (const job of jobs) {
        const children = "children" in job ? ` [${Object.entries(job.children!).filter(([, n]) => n > 0).map(([s, n]) => `${s} ${n}`).join(", ")}]` : "";
        process.stdout.write(`  ${job.action.padEnd(22)} ${job.status}${children}${"seconds" in job ? ` ${formatSeconds(job.seconds!)}` : ""}${job.reason ? ` — ${job.reason}` : ""}\n`);
      }
      if (outcome.manifest) process.stdout.write(`  frames ${outcome.manifest.frames.renderedCount}/${outcome.manifest.frames.expectedCount}; outputs: ${renderObjects(farm, renderId).describe(outputPrefix(payload.project.name, renderId))}\n`);
    }
    return outcome.status === "FAILED" ? 1 : 0;
  }, { reading: true });
}

export async function showLogs(id: string, options: { follow?: boolean }): Promise<number> {
  const aws = await awsRender(id);
  if (aws) return aws.commands.logsAws(aws.record, options);
  return withFarm(async (farm) => {
    const renderId = resolveRenderId(farm, id);
    const printed = new Map<string, number>();
    for (;;) {
      // Read before printing, so a render that ends meanwhile still gets its last lines printed.
      const ended = renderJobs(farm, renderId).every((job) => isTerminal(job.status));
      for (const { heading, logFile } of renderLogFiles(farm, renderId)) {
        const from = printed.get(logFile) ?? 0;
        if (from === 0) process.stdout.write(`${heading}\n`);
        printed.set(logFile, from + (await copyFrom(logFile, from)));
      }
      if (!options.follow || ended) return 0;
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
  }, { reading: true });
}

async function copyFrom(file: string, start: number): Promise<number> {
  let bytes = 0;
  try {
    for await (const chunk of createReadStream(file, { start })) {
      process.stdout.write(chunk as Buffer);
      bytes += (chunk as Buffer).length;
    }
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
  }
  return bytes;
}

export async function cancelRender(id: string): Promise<number> {
  const aws = await awsRender(id);
  if (aws) return aws.commands.cancelAws(aws.record);
  return withFarm(async (farm) => {
    const renderId = resolveRenderId(farm, id);
    const { cancelled, terminating } = cancelLocalRender(farm, renderId);
    process.stdout.write(`render ${renderId}: ${cancelled} queued job(s) cancelled, ${terminating} running job(s) terminating\n`);
    return 0;
  });
}

/** Where a render's outputs are, on whichever backend it ran. */
async function withOutputs<T>(id: string, work: (renderId: string, objects: ObjectStore, prefix: string) => Promise<T>): Promise<T> {
  const record = await findRenderRecord(brenderHome(), id);
  if (record) {
    const { awsContext } = await import("./aws-renders.ts");
    return work(record.renderId, awsContext(record).objects, outputPrefix(record.payload.project.name, record.renderId));
  }
  return withFarm(async (farm) => {
    const renderId = resolveRenderId(farm, id);
    return work(renderId, renderObjects(farm, renderId), outputPrefix(submittedPayload(farm, renderId).project.name, renderId));
  }, { reading: true });
}

export function downloadRender(id: string, dir: string): Promise<number> {
  return withOutputs(id, async (renderId, objects, prefix) => {
    const target = resolve(dir);
    await mkdir(target, { recursive: true });
    let files = 0;
    for await (const object of objects.list(prefix)) {
      await objects.getFile(object.key, join(target, ...object.key.slice(prefix.length).split("/")));
      files += 1;
    }
    if (files === 0) throw new JobFailedError(`Render ${renderId} has no outputs yet; 'brender status ${renderId}' says where it stands.`);
    process.stdout.write(`${files} files from ${objects.describe(prefix)} into ${target}\n`);
    return 0;
  });
}

/** The outputs worth sharing: zip, preview, thumbnail and manifest (frames stay in the zip). */
const SHARED_OUTPUTS = ["output.zip", "preview.mp4", "preview.mov", "preview.mkv", "preview.avi", "thumbnail.jpg", "manifest.json"];

export function linkRender(id: string, options: { expires: string; json?: boolean }): Promise<number> {
  const seconds = parseExpiry(options.expires);
  return withOutputs(id, async (renderId, objects, prefix) => {
    const links: Record<string, string> = {};
    for (const name of SHARED_OUTPUTS) {
      if (await objects.stat(prefix + name)) links[name] = await objects.linkFor(prefix + name, seconds);
    }
    if (Object.keys(links).length === 0) throw new JobFailedError(`Render ${renderId} has no outputs yet; 'brender status ${renderId}' says where it stands.`);
    if (options.json) process.stdout.write(`${JSON.stringify({ renderId, expiresSeconds: seconds, links }, null, 2)}\n`);
    else for (const [name, url] of Object.entries(links)) process.stdout.write(`${name.padEnd(14)} ${url}\n`);
    return 0;
  });
}

/** 5 minutes to 7 days, written like 300, 30m, 12h or 7d. */
export function parseExpiry(text: string): number {
  const match = /^(\d+)\s*(s|m|h|d)?$/i.exec(text.trim());
  const seconds = match ? Number(match[1]) * { s: 1, m: 60, h: 3600, d: 86400 }[(match[2] ?? "s").toLowerCase() as "s" | "m" | "h" | "d"] : Number.NaN;
  if (!(seconds >= 300 && seconds <= 604_800)) {
    throw new UserInputError(`--expires "${text}" must be between 5 minutes and 7 days, like 30m, 12h or 7d.`);
  }
  return seconds;
}

export function runFarmProcess(options: { untilIdle?: boolean }): Promise<number> {
  return withFarm(async (farm) => {
    await runLocalFarm({ store: farm.jobs, logDir: farm.logDir, untilIdle: options.untilIdle === true, signal: terminationSignal() });
    return 0;
  });
}
