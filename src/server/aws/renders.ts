/**
 * Renders on AWS farms in the HTTP API: showing, steering and serving the
 * renders recorded in `$BRENDER_HOME/aws-renders/` (as `brender
 * status/cancel/retry/logs/download` do); submit.ts submits them.
 *
 * AWS is asked through the standard credential chain of the server's process
 * (AWS_PROFILE, AWS_ACCESS_KEY_ID…, AWS_ENDPOINT_URL), like the CLI. Job
 * states come from DescribeJobs, cached briefly so that listing renders does
 * not cost a call per render per request; a render that ended is cached for
 * good (only a retry, which records new jobs, changes it).
 */
import type { Readable } from "node:stream";
import { BatchClient, type JobDetail } from "@aws-sdk/client-batch";
import { CloudWatchLogsClient } from "@aws-sdk/client-cloudwatch-logs";
import { GetObjectCommand } from "@aws-sdk/client-s3";
import { cancelRender } from "../../backends/aws/control.ts";
import { findFarm, type FarmResources } from "../../backends/aws/farm-resources.ts";
import { renderLogs } from "../../backends/aws/logs.ts";
import { describeJobs, describeRender, type RenderDescription } from "../../backends/aws/monitor.ts";
import { saveRenderRecord, type AwsRenderRecord } from "../../backends/aws/render-record.ts";
import { submitToBatch } from "../../backends/aws/submit.ts";
import { awsPlan } from "../../backends/aws/submit-render.ts";
import type { BatchSubmitOptions } from "../../backends/aws/batch-submission.ts";
import { outputPrefix } from "../../domain/layout.ts";
import { parseProgressEventLine } from "../../domain/progress-events.ts";
import { renderManifestSchema, type RenderManifest } from "../../domain/render-manifest.ts";
import { UserInputError } from "../../errors.ts";
import { applyEvent, emptyProgress, type RenderProgress } from "../../cli/render-watch.ts";
import { RenderConflictError } from "../../cli/render-control.ts";
import { ObjectNotFoundError } from "../../storage/s3-errors.ts";
import { S3ObjectStore } from "../../storage/s3-store.ts";
import { outputUrl, progressView, totalFrames, type OutputView } from "../render-view.ts";
import { conflictOrAws, explainAwsError, oneLine } from "./errors.ts";
import { awsRenderState, describeFromDetails, type AwsRenderState } from "./render-state.ts";

/** How long a running render's status is reused before AWS is asked again. */
export const STATUS_TTL_MS = 10_000;

/** How long a farm's stack outputs (log group, queues) are reused. */
const FARM_TTL_MS = 5 * 60_000;

/** One row of GET /api/renders for an AWS render. */
export type AwsListStatus = { readonly status: string; readonly statusError?: string };

/** What is known of a render at one time; `key` names its submission (a retry records new jobs). */
type Snapshot = {
  readonly key: string;
  readonly at: number;
  readonly state: AwsRenderState;
  readonly described?: RenderDescription;
  readonly manifest?: RenderManifest;
  readonly statusError?: string;
};

type Clients = { readonly batch: BatchClient; readonly logs: CloudWatchLogsClient };

/** Progress folded from a running render's event files, read again only when they grew. */
type ProgressTracker = { readonly key: string; readonly progress: RenderProgress; readonly seen: Map<string, { size: number; lines: number }> };

const submissionKey = (record: AwsRenderRecord) => record.jobs.map((job) => job.jobId).join(",");
const forgotten = (record: AwsRenderRecord) =>
  `AWS Batch no longer knows the jobs of render ${record.renderId}: it forgets jobs some time after they end; the outputs stay in the farm's bucket.`;

/**
 * The AWS side of the render routes, for one server: clients per region and
 * profile, farms, the status cache and progress trackers. close() releases
 * the clients.
 */
export class AwsRenders {
  private readonly env: NodeJS.ProcessEnv;
  private readonly now: () => number;
  private readonly clients = new Map<string, Clients>();
  private readonly stores = new Map<string, S3ObjectStore>();
  private readonly farms = new Map<string, { at: number; farm: Promise<FarmResources> }>();
  private readonly snapshots = new Map<string, Snapshot>();
  private readonly trackers = new Map<string, ProgressTracker>();

  constructor(env: NodeJS.ProcessEnv, options: { now?: () => number } = {}) {
    this.env = env;
    this.now = options.now ?? Date.now;
  }

  /**
   * The status of each render, for the list: cached ones as they are, the
   * others with one DescribeJobs per region and profile (100 jobs a call).
   * Never throws: when AWS cannot be asked, UNKNOWN and why.
   */
  async listStatuses(records: readonly AwsRenderRecord[]): Promise<Map<string, AwsListStatus>> {
    const stale = records.filter((record) => this.cached(record) === undefined);
    const groups = new Map<string, AwsRenderRecord[]>();
    for (const record of stale) {
      const key = clientKey(record);
      groups.set(key, [...(groups.get(key) ?? []), record]);
    }
    await Promise.all([...groups.values()].map((group) => this.refreshGroup(group)));
    return new Map(
      records.map((record) => {
        const snapshot = this.cached(record) ?? this.snapshots.get(record.renderId);
        const status: AwsListStatus = snapshot
          ? { status: snapshot.state.status, ...(snapshot.statusError ? { statusError: snapshot.statusError } : {}) }
          : { status: "UNKNOWN", statusError: "not asked yet" };
        return [record.renderId, status];
      }),
    );
  }

  private async refreshGroup(records: readonly AwsRenderRecord[]): Promise<void> {
    let details: Map<string, JobDetail>;
    try {
      details = await describeJobs(this.clientsFor(records[0]!).batch, records.flatMap((record) => record.jobs.map((job) => job.jobId)));
    } catch (error) {
      const statusError = oneLine(error);
      for (const record of records) this.remember(record, { state: { status: "UNKNOWN", terminal: false }, statusError });
      return;
    }
    await Promise.all(
      records.map(async (record) => {
        const described = describeFromDetails(record.jobs, details);
        try {
          const manifest = described === undefined || described.status !== "RUNNING" ? await this.manifestOf(record) : undefined;
          this.remember(record, snapshotOf(record, described, manifest));
        } catch (error) {
          this.remember(record, { state: { status: "UNKNOWN", terminal: false }, statusError: oneLine(error) });
        }
      }),
    );
  }

  /** Every field of GET /api/renders/:id for an AWS render (the shape of a local one, backend "aws:<farm>"). */
  async detail(record: AwsRenderRecord) {
    const snapshot = await this.describe(record);
    const { payload } = record;
    const progress = snapshot.state.terminal || snapshot.described === undefined ? emptyProgress(totalFrames(payload)) : await this.progressOf(record);
    return {
      renderId: record.renderId,
      backend: `aws:${record.farm}`,
      project: payload.project.name,
      frames: payload.frames,
      type: payload.type,
      status: snapshot.state.status,
      ...(snapshot.state.stage ? { stage: snapshot.state.stage } : {}),
      ...(snapshot.state.reason ? { reason: snapshot.state.reason } : {}),
      ...(snapshot.statusError ? { statusError: snapshot.statusError } : {}),
      jobs: (snapshot.described?.jobs ?? []).map((job) => ({
        name: job.name,
        action: job.action,
        status: job.status,
        ...(job.statusReason ? { reason: job.statusReason } : {}),
        arraySize: job.arraySize,
        ...(job.arraySize > 1 && job.statusSummary ? { children: job.statusSummary } : {}),
        ...(job.startedAt && job.stoppedAt ? { seconds: Math.round((job.stoppedAt - job.startedAt) / 100) / 10 } : {}),
      })),
      progress: progressView(progress, snapshot.manifest),
      warnings: snapshot.manifest?.warnings ?? [...progress.warnings],
      manifest: snapshot.manifest ?? null,
      outputs: await this.outputs(record),
    };
  }

  /** The render now (a cached final state is final), remembered for the list. Fails only when AWS cannot be asked. */
  private async describe(record: AwsRenderRecord): Promise<Snapshot> {
    const cached = this.snapshots.get(record.renderId);
    if (cached && cached.key === submissionKey(record) && cached.state.terminal) return cached;
    try {
      let described: RenderDescription | undefined;
      try {
        described = await describeRender(this.clientsFor(record).batch, record);
      } catch (error) {
        // Only "AWS Batch no longer knows job …" is a UserInputError here: the outputs still tell how it ended.
        if (!(error instanceof UserInputError) || error.cause !== undefined) throw error;
      }
      const manifest = described === undefined || described.status !== "RUNNING" ? await this.manifestOf(record) : undefined;
      return this.remember(record, snapshotOf(record, described, manifest));
    } catch (error) {
      throw explainAwsError(error);
    }
  }

  /** The outputs in the farm's bucket (the event files children publish are plumbing, not outputs). */
  async outputs(record: AwsRenderRecord): Promise<OutputView[]> {
    const prefix = outputPrefix(record.payload.project.name, record.renderId);
    const outputs: OutputView[] = [];
    try {
      for await (const object of this.storeFor(record).list(prefix)) {
        const name = object.key.slice(prefix.length);
        if (!name.startsWith("events/")) outputs.push({ name, size: object.size, url: outputUrl(record.renderId, name) });
      }
    } catch (error) {
      throw explainAwsError(error);
    }
    return outputs.sort((a, b) => (a.name < b.name ? -1 : 1));
  }

  /** One output streamed from the farm's bucket, or undefined when there is none. */
  /**
   * One output as a preview source (HEAD only, no body): its size, and how
   * to download it when the preview is not cached yet.
   */
  async outputForPreview(record: AwsRenderRecord, segments: readonly string[]): Promise<{ size: number; download: (destination: string) => Promise<void> } | undefined> {
    const store = this.storeFor(record);
    const key = outputPrefix(record.payload.project.name, record.renderId) + segments.join("/");
    try {
      const object = await store.stat(key);
      return object && { size: object.size, download: (destination) => store.getFile(key, destination) };
    } catch (error) {
      throw explainAwsError(error);
    }
  }

  async openOutput(record: AwsRenderRecord, segments: readonly string[]): Promise<{ body: Readable; size: number } | undefined> {
    const store = this.storeFor(record);
    const key = outputPrefix(record.payload.project.name, record.renderId) + segments.join("/");
    try {
      const answer = await store.client.send(new GetObjectCommand({ Bucket: store.bucket, Key: store.prefix === "" ? key : `${store.prefix}/${key}` }));
      return { body: answer.Body as Readable, size: answer.ContentLength ?? 0 };
    } catch (error) {
      const name = (error as { name?: string }).name;
      if (name === "NoSuchKey" || name === "NotFound") return undefined;
      throw explainAwsError(error);
    }
  }

  /** `brender cancel ID` for an AWS render: TerminateJob along the chain; the upload still publishes what exists and reports. */
  async cancel(record: AwsRenderRecord): Promise<{ cancelled: number; terminating: number }> {
    const batch = this.clientsFor(record).batch;
    try {
      const summary = await cancelRender(batch, await describeRender(batch, record), "Cancelled by user");
      this.snapshots.delete(record.renderId);
      if (summary.steps.length === 0) {
        throw new RenderConflictError(`Render ${record.renderId} has no job left to cancel (it has ended, or only its upload is left).`);
      }
      return { cancelled: summary.cancelled + summary.children.cancelled, terminating: summary.terminated + summary.children.terminated };
    } catch (error) {
      throw conflictOrAws(error);
    }
  }

  /** `brender retry ID` for an AWS render: the same plan and settings submitted again; frames already uploaded are kept. */
  async retry(record: AwsRenderRecord, home: string): Promise<void> {
    try {
      const batch = this.clientsFor(record).batch;
      const described = await describeRender(batch, record);
      if (described.status === "RUNNING") {
        throw new RenderConflictError(`Render ${record.renderId} is still running; wait for it, or 'brender cancel ${record.renderId}' first.`);
      }
      if (!record.submitOptions) {
        throw new RenderConflictError(`Render ${record.renderId} was recorded without its submission settings; submit it again as a new render.`);
      }
      const farm = await this.farmOf(record);
      const { plan } = awsPlan(record.payload, farm, record.bucketKey);
      const options: BatchSubmitOptions = { ...record.submitOptions, tags: { renderId: record.renderId, project: record.payload.project.name } };
      const submitted = await submitToBatch(plan, farm, options, { batchClient: batch });
      const jobs = plan.map((job, index) => ({ name: job.name, action: job.action, jobId: submitted[index]!.jobId, arraySize: job.arraySize }));
      await saveRenderRecord(home, { ...record, jobs, submittedAt: new Date().toISOString() });
      this.snapshots.delete(record.renderId);
    } catch (error) {
      throw conflictOrAws(error);
    }
  }

  /** `brender logs ID` for an AWS render: CloudWatch Logs, job by job, child by child, attempt by attempt. */
  async logs(record: AwsRenderRecord): Promise<string> {
    try {
      const clients = this.clientsFor(record);
      const farm = await this.farmOf(record);
      const parts: string[] = [];
      let header = "";
      for await (const line of renderLogs(clients.logs, farm.logGroup, await describeRender(clients.batch, record, { children: true }))) {
        const source = `==> ${line.job}${line.child === undefined ? "" : ` child ${line.child}`}, attempt ${line.attempt} <==`;
        if (source !== header) parts.push(`${source}\n`);
        header = source;
        parts.push(`${line.line}\n`);
      }
      return parts.join("");
    } catch (error) {
      throw conflictOrAws(error);
    }
  }

  close(): void {
    for (const { batch, logs } of this.clients.values()) {
      batch.destroy();
      logs.destroy();
    }
    for (const store of this.stores.values()) store.client.destroy();
    this.clients.clear();
    this.stores.clear();
  }

  private cached(record: AwsRenderRecord): Snapshot | undefined {
    const snapshot = this.snapshots.get(record.renderId);
    if (snapshot === undefined || snapshot.key !== submissionKey(record)) return undefined;
    return snapshot.state.terminal || this.now() - snapshot.at < STATUS_TTL_MS ? snapshot : undefined;
  }

  private remember(record: AwsRenderRecord, fields: Omit<Snapshot, "key" | "at">): Snapshot {
    const snapshot = { ...fields, key: submissionKey(record), at: this.now() };
    this.snapshots.set(record.renderId, snapshot);
    return snapshot;
  }

  /** The manifest, or undefined while there is none; S3 failures throw. */
  private async manifestOf(record: AwsRenderRecord): Promise<RenderManifest | undefined> {
    const key = `${outputPrefix(record.payload.project.name, record.renderId)}manifest.json`;
    try {
      return renderManifestSchema.parse(JSON.parse((await this.storeFor(record).getBytes(key)).toString("utf8")));
    } catch (error) {
      if (error instanceof ObjectNotFoundError) return undefined;
      throw error;
    }
  }

  /** Folds the event files render children copy to the bucket (every 5 s), reading only those that grew. */
  private async progressOf(record: AwsRenderRecord): Promise<RenderProgress> {
    const key = submissionKey(record);
    let tracker = this.trackers.get(record.renderId);
    if (tracker === undefined || tracker.key !== key) {
      tracker = { key, progress: emptyProgress(totalFrames(record.payload)), seen: new Map() };
      this.trackers.set(record.renderId, tracker);
    }
    const store = this.storeFor(record);
    try {
      for await (const object of store.list(`${outputPrefix(record.payload.project.name, record.renderId)}events/`)) {
        const child = /render-(\d+)\.jsonl$/.exec(object.key)?.[1];
        const seen = tracker.seen.get(object.key);
        if (child === undefined || seen?.size === object.size) continue;
        const lines = (await store.getBytes(object.key)).toString("utf8").split("\n").filter((line) => line.length > 0);
        for (const line of lines.slice(seen?.lines ?? 0)) {
          const event = parseProgressEventLine(line);
          if (event) applyEvent(tracker.progress, Number(child), event);
        }
        tracker.seen.set(object.key, { size: object.size, lines: lines.length });
      }
    } catch (error) {
      throw explainAwsError(error);
    }
    return tracker.progress;
  }

  private clientsFor(record: AwsRenderRecord): Clients {
    const key = clientKey(record);
    let clients = this.clients.get(key);
    if (clients === undefined) {
      const config = {
        region: record.region,
        ...(record.profile ? { profile: record.profile } : {}),
        // A server answers people: an unreachable AWS should fail in seconds, not after the OS's TCP timeout.
        maxAttempts: 2,
        requestHandler: { connectionTimeout: 3_000, requestTimeout: 20_000 },
      };
      clients = { batch: new BatchClient(config), logs: new CloudWatchLogsClient(config) };
      this.clients.set(key, clients);
    }
    return clients;
  }

  private storeFor(record: AwsRenderRecord): S3ObjectStore {
    const key = `${clientKey(record)}\n${record.storage}`;
    let store = this.stores.get(key);
    if (store === undefined) {
      const env = { ...this.env, AWS_REGION: record.region, ...(record.profile ? { AWS_PROFILE: record.profile } : {}) };
      store = S3ObjectStore.fromEnvironment(record.storage, env);
      this.stores.set(key, store);
    }
    return store;
  }

  private farmOf(record: AwsRenderRecord): Promise<FarmResources> {
    const key = `${clientKey(record)}\n${record.farm}`;
    const cached = this.farms.get(key);
    if (cached && this.now() - cached.at < FARM_TTL_MS) return cached.farm;
    const farm = findFarm(record.farm, { region: record.region, ...(record.profile ? { profile: record.profile } : {}) });
    this.farms.set(key, { at: this.now(), farm });
    // A failed lookup is not kept: the next request asks again.
    farm.catch(() => this.farms.delete(key));
    return farm;
  }
}

function clientKey(record: AwsRenderRecord): string {
  return `${record.region}\n${record.profile ?? ""}`;
}

function snapshotOf(record: AwsRenderRecord, described: RenderDescription | undefined, manifest: RenderManifest | undefined): Omit<Snapshot, "key" | "at"> {
  return {
    state: awsRenderState(described, manifest),
    ...(described ? { described } : { statusError: forgotten(record) }),
    ...(manifest ? { manifest } : {}),
  };
}
