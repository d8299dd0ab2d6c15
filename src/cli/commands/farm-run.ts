import { mkdir } from "node:fs/promises";
import { join, resolve } from "node:path";
import { openLocalFarm, type LocalFarm } from "../../backends/local/farm.ts";
import { costLine } from "../../domain/cost/cost-words.ts";
import { runLocalFarm } from "../../backends/local/runner.ts";
import { JobFailedError, UserInputError } from "../../errors.ts";
import type { ObjectStore } from "../../storage/object-store.ts";
import { withRenders } from "../open-renders.ts";
import { webhookStatusLines } from "../notify-status.ts";
import { watchAndSummarize } from "../render-follow.ts";
import { formatSeconds } from "../render-watch.ts";
import { terminationSignal } from "../run-command.ts";
import { formatDuration } from "../../notify/render-report.ts";

/*
 * Commands that look at and steer renders, on whichever backend each runs:
 * they find the render, then ask its RenderBackend.
 */

async function withFarm<T>(work: (farm: LocalFarm) => Promise<T>): Promise<T> {
  const farm = openLocalFarm();
  try {
    return await work(farm);
  } finally {
    farm.close();
  }
}

export function listRenders(options: { limit: string; json?: boolean }): Promise<number> {
  const limit = Number(options.limit) || 20;
  return withRenders(async (renders) => {
    const rows = (await renders.list()).slice(0, limit).map(({ renderId, backend, project, submittedAt, status }) => ({ renderId, backend, project, submittedAt, status }));
    if (options.json) process.stdout.write(`${JSON.stringify(rows, null, 2)}\n`);
    else if (rows.length === 0) process.stdout.write("No renders yet: 'brender render FILE.blend' starts one.\n");
    else for (const row of rows) process.stdout.write(`${row.renderId}  ${row.status.padEnd(9)}  ${row.backend.padEnd(10)}  ${row.project}  ${row.submittedAt}\n`);
    return 0;
  }, { reading: true });
}

export function showStatus(id: string, options: { watch?: boolean; json?: boolean }): Promise<number> {
  return withRenders(async (renders) => {
    const { backend, renderId } = await renders.find(id);
    if (options.watch) return watchAndSummarize(backend, renderId, { json: options.json === true, started: performance.now(), runJobs: false });
    const detail = await backend.get(renderId);
    if (options.json) {
      const { backend: where, status, reason, statusError, frames, notify, jobs, manifest, cost } = detail;
      // As before the backends were one: AWS renders say "aws" and their farm, local ones nothing.
      const farm = where.startsWith("aws:") ? { backend: "aws", farm: where.slice("aws:".length) } : {};
      process.stdout.write(`${JSON.stringify({ renderId, ...farm, status, reason, ...(statusError ? { statusError } : {}), frames, notify, jobs, ...(cost ? { cost } : {}), manifest }, null, 2)}\n`);
    } else {
      const farm = detail.backend.startsWith("aws:") ? ` on AWS farm ${detail.backend.slice(4)}` : "";
      const why = detail.reason ?? detail.statusError;
      process.stdout.write(`render ${renderId}${farm} (${detail.project}, frames ${detail.frames}): ${detail.status}${why ? ` — ${why}` : ""}\n`);
      for (const job of detail.jobs) {
        const children = job.children ? ` [${Object.entries(job.children).filter(([, n]) => n > 0).map(([s, n]) => `${s} ${n}`).join(", ")}]` : "";
        process.stdout.write(`  ${job.action.padEnd(22)} ${job.status}${children}${job.seconds !== undefined ? ` ${formatSeconds(job.seconds)}` : ""}${job.reason ? ` — ${job.reason}` : ""}\n`);
      }
      if (detail.manifest) {
        const { objects, prefix } = await backend.outputStore(renderId);
        process.stdout.write(`  frames ${detail.manifest.frames.renderedCount}/${detail.manifest.frames.expectedCount}; outputs: ${objects.describe(prefix)}\n`);
      }
      const cost = costLine(detail.cost);
      if (cost) process.stdout.write(`  cost: ${cost}\n`);
      if (detail.notify.length > 0) process.stdout.write(`  notify: ${detail.notify.join(", ")}\n`);
      process.stdout.write(webhookStatusLines(detail.manifest));
    }
    return detail.status === "FAILED" ? 1 : 0;
  }, { reading: true });
}

export function showLogs(id: string, options: { follow?: boolean }): Promise<number> {
  return withRenders(async (renders) => {
    const { backend, renderId } = await renders.find(id);
    for await (const text of backend.logs(renderId, { follow: options.follow === true })) process.stdout.write(text);
    return 0;
  }, { reading: true });
}

export function cancelRender(id: string): Promise<number> {
  return withRenders(async (renders) => {
    const { backend, renderId } = await renders.find(id);
    const { cancelled, terminating } = await backend.cancel(renderId);
    process.stdout.write(`render ${renderId}: ${cancelled} queued job(s) cancelled, ${terminating} running job(s) terminating\n`);
    return 0;
  });
}

/** Where a render's outputs are, on whichever backend it ran. */
function withOutputs<T>(id: string, work: (renderId: string, objects: ObjectStore, prefix: string) => Promise<T>): Promise<T> {
  return withRenders(async (renders) => {
    const { backend, renderId } = await renders.find(id);
    const { objects, prefix } = await backend.outputStore(renderId);
    return work(renderId, objects, prefix);
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
    let expiresAt: Date | undefined;
    for (const name of SHARED_OUTPUTS) {
      if (!(await objects.stat(prefix + name))) continue;
      const link = await objects.linkFor(prefix + name, seconds);
      links[name] = link.url;
      if (link.expiresAt && (expiresAt === undefined || link.expiresAt < expiresAt)) expiresAt = link.expiresAt;
    }
    if (Object.keys(links).length === 0) throw new JobFailedError(`Render ${renderId} has no outputs yet; 'brender status ${renderId}' says where it stands.`);
    // The real lifetime: presigned links end with the credentials that signed them (SSO, a role) when those expire first.
    const lifetime = expiresAt === undefined ? undefined : Math.max(0, Math.round((expiresAt.getTime() - Date.now()) / 1000));
    if (options.json) {
      const expiry = expiresAt === undefined ? {} : { expiresAt: expiresAt.toISOString() };
      process.stdout.write(`${JSON.stringify({ renderId, requestedSeconds: seconds, expiresSeconds: lifetime ?? seconds, ...expiry, links }, null, 2)}\n`);
      return 0;
    }
    for (const [name, url] of Object.entries(links)) process.stdout.write(`${name.padEnd(14)} ${url}\n`);
    if (expiresAt !== undefined) {
      const cut = lifetime! < seconds - 1 ? ` (not the ${options.expires.trim()} asked: the credentials that signed them expire then)` : "";
      process.stdout.write(`These links work until ${expiresAt.toISOString()}, in ${formatDuration(lifetime!)}${cut}.\n`);
    }
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
