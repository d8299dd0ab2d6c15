import { BatchClient } from "@aws-sdk/client-batch";
import { CloudWatchLogsClient } from "@aws-sdk/client-cloudwatch-logs";
import { cancelRender } from "../../backends/aws/control.ts";
import { findFarm } from "../../backends/aws/farm-resources.ts";
import { followLogs, renderLogs } from "../../backends/aws/logs.ts";
import { describeRender, type RenderDescription } from "../../backends/aws/monitor.ts";
import { saveRenderRecord, type AwsRenderRecord } from "../../backends/aws/render-record.ts";
import { submitToBatch } from "../../backends/aws/submit.ts";
import { awsPlan } from "../../backends/aws/submit-render.ts";
import type { BatchSubmitOptions } from "../../backends/aws/batch-submission.ts";
import { UserInputError } from "../../errors.ts";
import { brenderHome } from "../../config.ts";
import { frameCount, parseFrameSet } from "../../domain/frames.ts";
import { outputPrefix } from "../../domain/layout.ts";
import { parseProgressEventLine } from "../../domain/progress-events.ts";
import { renderManifestSchema, type RenderManifest } from "../../domain/render-manifest.ts";
import type { ProjectUploadSummary } from "../../backends/local/farm.ts";
import type { ObjectStore } from "../../storage/object-store.ts";
import { S3ObjectStore } from "../../storage/s3-store.ts";
import { applyEvent, emptyProgress, formatProgressLine, type RenderProgress } from "../render-watch.ts";
import { printOutcome } from "../render-wait.ts";

const POLL_MS = Number(process.env.BRENDER_AWS_POLL_MS ?? 5000);

/** AWS clients and the object store for a recorded render, in its region and profile. */
export function awsContext(record: AwsRenderRecord) {
  const config = { region: record.region, ...(record.profile ? { profile: record.profile } : {}) };
  const env = { ...process.env, AWS_REGION: record.region, ...(record.profile ? { AWS_PROFILE: record.profile } : {}) };
  return {
    batch: new BatchClient(config),
    logs: new CloudWatchLogsClient(config),
    objects: S3ObjectStore.fromEnvironment(record.storage, env) as ObjectStore,
  };
}

/** Saves the record of a fresh submission, then returns at once (--detach) or follows the render to its end. */
export async function recordAndFollow(
  record: AwsRenderRecord,
  options: { detach?: boolean; json?: boolean },
  started: number,
  upload?: ProjectUploadSummary,
): Promise<number> {
  await saveRenderRecord(brenderHome(), record);
  if (options.detach) {
    process.stdout.write(options.json ? `${JSON.stringify({ renderId: record.renderId, status: "SUBMITTED", farm: record.farm, ...(upload ? { upload } : {}) })}\n` : `${record.renderId}\n`);
    return 0;
  }
  if (!options.json) process.stderr.write(`render ${record.renderId} on AWS farm ${record.farm} (${record.region}): ${record.payload.project.name}, frames ${record.payload.frames}\n`);
  return watchAwsRender(record, { json: options.json === true, started, upload });
}

/** Follows a render on AWS Batch: job statuses from DescribeJobs, per-frame progress from the events the children publish. */
export async function watchAwsRender(
  record: AwsRenderRecord,
  options: { json: boolean; started: number; upload?: ProjectUploadSummary },
): Promise<number> {
  const { batch, objects } = awsContext(record);
  const { payload } = record;
  const progress = emptyProgress(payload.type === "python" ? 0 : frameCount(parseFrameSet(payload.frames)));
  const events = new StoredEventReader(objects, `${outputPrefix(payload.project.name, payload.renderId)}events/`);
  let described: RenderDescription;
  let lastLine = "";
  for (;;) {
    described = await describeRender(batch, record);
    await events.poll(progress);
    if (!options.json) {
      const line = formatProgressLine(progress, described.jobs, (performance.now() - options.started) / 1000);
      if (line !== lastLine) process.stderr.write(process.stderr.isTTY ? `\r\x1b[K${line}` : `${line}\n`);
      lastLine = line;
    }
    if (described.status !== "RUNNING") break;
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
  if (!options.json && process.stderr.isTTY) process.stderr.write("\n");
  const manifest = await readManifest(objects, record);
  const succeeded = described.status === "SUCCEEDED" && manifest?.status === "succeeded";
  const reason = succeeded ? undefined : described.reason ?? manifest?.reason ?? "the render did not finish";
  return printOutcome(objects, payload, { status: succeeded ? "SUCCEEDED" : "FAILED", ...(reason ? { reason } : {}), manifest }, (performance.now() - options.started) / 1000, options.json, options.upload);
}

async function readManifest(objects: ObjectStore, record: AwsRenderRecord): Promise<RenderManifest | undefined> {
  const bytes = await objects.getBytes(`${outputPrefix(record.payload.project.name, record.renderId)}manifest.json`).catch(() => undefined);
  return bytes ? renderManifestSchema.parse(JSON.parse(bytes.toString("utf8"))) : undefined;
}

/** Reads the event files render children copy to the bucket (whole objects, re-read as they grow). */
class StoredEventReader {
  private readonly seen = new Map<string, number>();
  private readonly objects: ObjectStore;
  private readonly prefix: string;

  constructor(objects: ObjectStore, prefix: string) {
    this.objects = objects;
    this.prefix = prefix;
  }

  async poll(progress: RenderProgress): Promise<void> {
    for await (const object of this.objects.list(this.prefix)) {
      const match = /render-(\d+)\.jsonl$/.exec(object.key);
      if (!match) continue;
      const text = (await this.objects.getBytes(object.key).catch(() => Buffer.alloc(0))).toString("utf8");
      const lines = text.split("\n").filter((line) => line.length > 0);
      for (const line of lines.slice(this.seen.get(object.key) ?? 0)) {
        const event = parseProgressEventLine(line);
        if (event) applyEvent(progress, Number(match[1]), event);
      }
      this.seen.set(object.key, lines.length);
    }
  }
}

/** `brender status ID` for a render on AWS. */
export async function statusAws(record: AwsRenderRecord, options: { watch?: boolean; json?: boolean }): Promise<number> {
  if (options.watch) return watchAwsRender(record, { json: options.json === true, started: performance.now() });
  const { batch, objects } = awsContext(record);
  const described = await describeRender(batch, record, { children: true });
  const manifest = await readManifest(objects, record);
  const { actualCostOfRender } = await import("../../cost/aws-actual-cost.ts");
  const cost = actualCostOfRender(record, described);
  if (options.json) {
    process.stdout.write(`${JSON.stringify({ renderId: record.renderId, backend: "aws", farm: record.farm, status: described.status, reason: described.reason, frames: record.payload.frames, jobs: described.jobs, manifest, cost }, null, 2)}\n`);
  } else {
    process.stdout.write(`render ${record.renderId} on AWS farm ${record.farm} (${record.payload.project.name}, frames ${record.payload.frames}): ${described.status}${described.reason ? ` — ${described.reason}` : ""}\n`);
    for (const job of described.jobs) {
      const children = job.statusSummary ? ` [${Object.entries(job.statusSummary).filter(([, n]) => n > 0).map(([s, n]) => `${s} ${n}`).join(", ")}]` : "";
      process.stdout.write(`  ${job.action.padEnd(22)} ${job.status}${children}${job.statusReason ? ` — ${job.statusReason}` : ""}\n`);
    }
    if (manifest) process.stdout.write(`  frames ${manifest.frames.renderedCount}/${manifest.frames.expectedCount}; outputs: ${objects.describe(outputPrefix(record.payload.project.name, record.renderId))}\n`);
    const { formatDollars } = await import("../../domain/cost/range.ts");
    process.stdout.write(`  cost so far: about ${formatDollars(cost.usd.expected)} (${formatDollars(cost.usd.low)} to ${formatDollars(cost.usd.high)}) for ${cost.childHours.toFixed(3)} child-hours (Batch's start and stop times)\n`);
  }
  return described.status === "FAILED" ? 1 : 0;
}

/** `brender logs ID [--follow]` for a render on AWS: CloudWatch Logs, job by job, child by child, attempt by attempt. */
export async function logsAws(record: AwsRenderRecord, options: { follow?: boolean }): Promise<number> {
  const { batch, logs } = awsContext(record);
  const farm = await findFarm(record.farm, { region: record.region, ...(record.profile ? { profile: record.profile } : {}) });
  let header = "";
  const lines = options.follow
    ? followLogs(logs, batch, farm.logGroup, record)
    : renderLogs(logs, farm.logGroup, await describeRender(batch, record, { children: true }));
  for await (const line of lines) {
    const source = `==> ${line.job}${line.child === undefined ? "" : ` child ${line.child}`}, attempt ${line.attempt} <==`;
    if (source !== header) process.stdout.write(`${source}\n`);
    header = source;
    process.stdout.write(`${line.line}\n`);
  }
  return 0;
}

/** `brender cancel ID` for a render on AWS: the whole chain except the upload, which publishes what exists and reports. */
export async function cancelAws(record: AwsRenderRecord): Promise<number> {
  const { batch } = awsContext(record);
  const summary = await cancelRender(batch, await describeRender(batch, record), "Cancelled by user");
  process.stdout.write(`render ${record.renderId}: ${summary.cancelled} queued job(s) cancelled, ${summary.terminated} running job(s) terminated\n`);
  return 0;
}

/** `brender retry ID` for a render on AWS: the same plan, submitted the same way; frames already uploaded are restored and kept. */
export async function retryAws(record: AwsRenderRecord, options: { detach?: boolean; json?: boolean }): Promise<number> {
  const started = performance.now();
  const { batch } = awsContext(record);
  const described = await describeRender(batch, record);
  if (described.status === "RUNNING") {
    throw new UserInputError(`Render ${record.renderId} is still running; wait for it, or 'brender cancel ${record.renderId}' first.`);
  }
  if (!record.submitOptions) throw new UserInputError(`Render ${record.renderId} was recorded without its submission settings; render it again with 'brender render'.`);
  const farm = await findFarm(record.farm, { region: record.region, ...(record.profile ? { profile: record.profile } : {}) });
  const { plan } = awsPlan(record.payload, farm, record.bucketKey);
  const submitOptions: BatchSubmitOptions = { ...record.submitOptions, tags: { renderId: record.renderId, project: record.payload.project.name } };
  const submitted = await submitToBatch(plan, farm, submitOptions, { batchClient: batch });
  const jobs = plan.map((job, index) => ({ name: job.name, action: job.action, jobId: submitted[index]!.jobId, arraySize: job.arraySize }));
  return recordAndFollow({ ...record, jobs, submittedAt: new Date().toISOString() }, options, started);
}
