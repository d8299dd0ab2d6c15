/**
 * AWS farms as a RenderBackend: the renders recorded in
 * `$BRENDER_HOME/aws-renders/` when they were submitted from this machine.
 * Job states come from DescribeJobs, progress from the events files render
 * children publish to the farm's bucket, outputs and the manifest from the
 * bucket, logs from CloudWatch.
 *
 * AWS is asked through the standard credential chain (AWS_PROFILE,
 * AWS_ACCESS_KEY_ID…, AWS_ENDPOINT_URL) in each record's region and profile.
 * States are cached briefly so that listing renders does not cost a call per
 * render per request; a render that ended is cached for good (only a retry,
 * which records new jobs, changes it).
 */
import type { Readable } from "node:stream";
import { BatchClient, type JobDetail } from "@aws-sdk/client-batch";
import { CloudWatchLogsClient } from "@aws-sdk/client-cloudwatch-logs";
import { GetObjectCommand } from "@aws-sdk/client-s3";
import { cancelRender } from "../backends/aws/control.ts";
import { findFarm, type FarmResources } from "../backends/aws/farm-resources.ts";
import { followLogs, renderLogs, type LogLine } from "../backends/aws/logs.ts";
import { describeJobs, describeRender, renderStatusOf, toJobView, type BatchJobView, type RenderDescription } from "../backends/aws/monitor.ts";
import { findRenderRecord, listRenderRecords, saveRenderRecord, type AwsRenderRecord, type RecordedJob } from "../backends/aws/render-record.ts";
import { submitToBatch } from "../backends/aws/submit.ts";
import { awsPlan } from "../backends/aws/submit-render.ts";
import type { BatchSubmitOptions } from "../backends/aws/batch-submission.ts";
import { UserInputError } from "../domain/errors.ts";
import { frameOfFileName, outputPrefix } from "../domain/layout.ts";
import type { RenderManifest } from "../domain/render-manifest.ts";
import type { RenderJobPayload } from "../domain/render-payload.ts";
import { shownNotifyTargets } from "../domain/stored-webhooks.ts";
import { submitWithStoredWebhooks } from "../backends/aws/stored-webhooks.ts";
import { applyEvent, emptyProgress, progressView, totalFrames, type RenderProgress } from "../domain/render-progress.ts";
import { foldRenderStatus, isEnded, type RenderState } from "../domain/render-status.ts";
import { S3ObjectStore } from "../storage/s3-store.ts";
import type { LiveEvent, LiveFollower, OutputView, RenderBackend, RenderDetail, RenderRow, RenderWatcher } from "./backend.ts";
import { noSuchRender, RenderConflictError } from "./errors.ts";
import { EventReader, storedEvents } from "./event-reader.ts";
import { readRenderManifest } from "./manifest.ts";
import { costView, jobSeconds, outputUrl } from "./views.ts";

/** How long a running render's status is reused before AWS is asked again. */
export const STATUS_TTL_MS = 10_000;

/** How long a farm's stack outputs (log group, queues) are reused. */
const FARM_TTL_MS = 5 * 60_000;

/** What is known of a render at one time; `key` names its submission (a retry records new jobs). */
type Snapshot = {
  readonly key: string;
  readonly at: number;
  readonly state: RenderState;
  readonly described?: RenderDescription;
  readonly manifest?: RenderManifest;
  readonly statusError?: string;
};

type Clients = { readonly batch: BatchClient; readonly logs: CloudWatchLogsClient };

/** Progress folded from a running render's events files, read again only where they grew. */
type ProgressTracker = { readonly key: string; readonly progress: RenderProgress; readonly reader: EventReader };

const submissionKey = (record: AwsRenderRecord) => record.jobs.map((job) => job.jobId).join(",");
const forgotten = (record: AwsRenderRecord) =>
  `AWS Batch no longer knows the jobs of render ${record.renderId}: it forgets jobs some time after they end; the outputs stay in the farm's bucket.`;

export type AwsRenderBackendOptions = {
  readonly now?: () => number;
  /** How often a terminal watcher (and a live follower) asks AWS again. */
  readonly pollMs?: number;
  /** A server answers people: an unreachable AWS should fail in seconds, not after the OS's TCP timeout. */
  readonly failFast?: boolean;
  /** Turns an error of AWS into the caller's (the server makes one-line 502s of them); the default keeps it. */
  readonly explain?: (error: unknown) => unknown;
};

export class AwsRenderBackend implements RenderBackend {
  readonly pollMs: number;
  readonly #home: string;
  readonly #env: NodeJS.ProcessEnv;
  readonly #now: () => number;
  readonly #failFast: boolean;
  readonly #explain: (error: unknown) => unknown;
  readonly #clients = new Map<string, Clients>();
  readonly #stores = new Map<string, S3ObjectStore>();
  readonly #farms = new Map<string, { at: number; farm: Promise<FarmResources> }>();
  readonly #snapshots = new Map<string, Snapshot>();
  readonly #trackers = new Map<string, ProgressTracker>();

  constructor(home: string, env: NodeJS.ProcessEnv, options: AwsRenderBackendOptions = {}) {
    this.#home = home;
    this.#env = env;
    this.#now = options.now ?? Date.now;
    this.pollMs = options.pollMs ?? 5000;
    this.#failFast = options.failFast ?? false;
    this.#explain = options.explain ?? ((error) => error);
  }

  async #record(renderId: string): Promise<AwsRenderRecord> {
    const record = await findRenderRecord(this.#home, renderId);
    if (record?.renderId !== renderId) throw noSuchRender(renderId);
    return record;
  }

  /**
   * Every recorded render with its status: cached ones as they are, the
   * others with one DescribeJobs per region and profile (100 jobs a call).
   * Never throws for AWS: when it cannot be asked, UNKNOWN and why.
   */
  async list(): Promise<RenderRow[]> {
    const records = await listRenderRecords(this.#home).catch(() => []);
    const stale = records.filter((record) => this.#cached(record) === undefined);
    const groups = new Map<string, AwsRenderRecord[]>();
    for (const record of stale) {
      const key = clientKey(record);
      groups.set(key, [...(groups.get(key) ?? []), record]);
    }
    await Promise.all([...groups.values()].map((group) => this.#refreshGroup(group)));
    return records.map((record) => {
      const snapshot = this.#cached(record) ?? this.#snapshots.get(record.renderId);
      return {
        renderId: record.renderId,
        backend: `aws:${record.farm}`,
        project: record.payload.project.name,
        submittedAt: record.submittedAt,
        ...(snapshot
          ? { status: snapshot.state.status, ...(snapshot.statusError ? { statusError: snapshot.statusError } : {}) }
          : { status: "UNKNOWN" as const, statusError: "not asked yet" }),
      };
    });
  }

  async #refreshGroup(records: readonly AwsRenderRecord[]): Promise<void> {
    let details: Map<string, JobDetail>;
    try {
      details = await describeJobs(this.#clientsFor(records[0]!).batch, records.flatMap((record) => record.jobs.map((job) => job.jobId)));
    } catch (error) {
      const statusError = oneLine(this.#explain(error));
      for (const record of records) this.#remember(record, { state: { status: "UNKNOWN", terminal: false }, statusError });
      return;
    }
    await Promise.all(
      records.map(async (record) => {
        const described = describeFromDetails(record.jobs, details);
        try {
          const manifest = described === undefined || described.status !== "RUNNING" ? await this.#manifestOf(record) : undefined;
          this.#remember(record, snapshotOf(record, described, manifest));
        } catch (error) {
          this.#remember(record, { state: { status: "UNKNOWN", terminal: false }, statusError: oneLine(this.#explain(error)) });
        }
      }),
    );
  }

  async find(idOrPrefix: string): Promise<string | undefined> {
    return (await findRenderRecord(this.#home, idOrPrefix))?.renderId;
  }

  async where(renderId: string) {
    const record = await this.#record(renderId);
    return { backend: `aws:${record.farm}`, words: ` on AWS farm ${record.farm} (${record.region})` };
  }

  async payload(renderId: string): Promise<RenderJobPayload> {
    return (await this.#record(renderId)).payload;
  }

  /** The record of a render (farm, region, jobs), for the CLI's headings. */
  record(renderId: string): Promise<AwsRenderRecord> {
    return this.#record(renderId);
  }

  async get(renderId: string): Promise<RenderDetail> {
    const record = await this.#record(renderId);
    const snapshot = await this.#describe(record);
    const { payload } = record;
    const progress = snapshot.state.terminal || snapshot.described === undefined ? emptyProgress(totalFrames(payload)) : await this.#progressOf(record);
    return {
      renderId: record.renderId,
      backend: `aws:${record.farm}`,
      project: payload.project.name,
      frames: payload.frames,
      type: payload.type,
      notify: shownNotifyTargets(payload.notify),
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
        ...jobSeconds(job),
      })),
      progress: progressView(progress, snapshot.manifest),
      warnings: snapshot.manifest?.warnings ?? [...progress.warnings],
      manifest: snapshot.manifest ?? null,
      ...costView(payload.estimate, snapshot.manifest),
      outputs: await this.#outputs(record),
    };
  }

  /** The render now (a cached final state is final), remembered for the list. Fails only when AWS cannot be asked. */
  async #describe(record: AwsRenderRecord): Promise<Snapshot> {
    const cached = this.#snapshots.get(record.renderId);
    if (cached && cached.key === submissionKey(record) && cached.state.terminal) return cached;
    try {
      let described: RenderDescription | undefined;
      try {
        described = await describeRender(this.#clientsFor(record).batch, record);
      } catch (error) {
        // Only "AWS Batch no longer knows job …" is a UserInputError here: the outputs still tell how it ended.
        if (!(error instanceof UserInputError) || error.cause !== undefined) throw error;
      }
      const manifest = described === undefined || described.status !== "RUNNING" ? await this.#manifestOf(record) : undefined;
      return this.#remember(record, snapshotOf(record, described, manifest));
    } catch (error) {
      throw this.#explain(error);
    }
  }

  async watcher(renderId: string): Promise<RenderWatcher> {
    const record = await this.#record(renderId);
    const progress = emptyProgress(totalFrames(record.payload));
    const reader = new EventReader(storedEvents(this.#storeFor(record), record.payload.project.name, record.renderId));
    const batch = this.#clientsFor(record).batch;
    return {
      poll: async () => {
        // A terminal asks AWS itself: a render Batch forgot is an error here (the outputs stay: 'brender download').
        const described = await describeRender(batch, record);
        await reader.poll((child, event) => applyEvent(progress, child, event));
        const manifest = described.status === "RUNNING" ? undefined : await this.#manifestOf(record);
        const state = foldRenderStatus(described.jobs, manifest, described.reason);
        return { state, jobs: described.jobs, progress, ...(manifest ? { manifest } : {}) };
      },
    };
  }

  follow(renderId?: string): LiveFollower {
    return renderId === undefined ? new AwsStatusFollower(this) : new AwsRenderFollower(this, renderId);
  }

  /** TerminateJob along the chain; the upload still publishes what exists and reports. */
  async cancel(renderId: string): Promise<{ cancelled: number; terminating: number }> {
    const record = await this.#record(renderId);
    const batch = this.#clientsFor(record).batch;
    try {
      const summary = await cancelRender(batch, await describeRender(batch, record), "Cancelled by user");
      this.#snapshots.delete(record.renderId);
      if (summary.steps.length === 0) {
        throw new RenderConflictError(`Render ${record.renderId} has no job left to cancel (it has ended, or only its upload is left).`);
      }
      return { cancelled: summary.cancelled + summary.children.cancelled, terminating: summary.terminated + summary.children.terminated };
    } catch (error) {
      throw this.#explain(error);
    }
  }

  /** The same plan and settings submitted again, the new jobs recorded; frames already uploaded are kept. */
  async retry(renderId: string): Promise<void> {
    const record = await this.#record(renderId);
    try {
      const batch = this.#clientsFor(record).batch;
      const described = await describeRender(batch, record);
      if (described.status === "RUNNING") {
        throw new RenderConflictError(`Render ${record.renderId} is still running; wait for it, or 'brender cancel ${record.renderId}' first.`);
      }
      if (!record.submitOptions) {
        throw new RenderConflictError(`Render ${record.renderId} was recorded without its submission settings; submit it again as a new render.`);
      }
      const farm = await this.#farmOf(record);
      // The record keeps the URLs themselves: the first upload deleted the stored copy, so it is stored again.
      const { plan, storedWebhooks } = awsPlan(record.payload, farm, record.bucketKey);
      const options: BatchSubmitOptions = { ...record.submitOptions, tags: { renderId: record.renderId, project: record.payload.project.name } };
      const submitted = await submitWithStoredWebhooks(this.#storeFor(record), storedWebhooks, () => submitToBatch(plan, farm, options, { batchClient: batch }));
      const jobs = plan.map((job, index) => ({ name: job.name, action: job.action, jobId: submitted[index]!.jobId, arraySize: job.arraySize }));
      await saveRenderRecord(this.#home, { ...record, jobs, submittedAt: new Date().toISOString() });
      this.#snapshots.delete(record.renderId);
    } catch (error) {
      throw this.#explain(error);
    }
  }

  /** CloudWatch Logs, job by job, child by child, attempt by attempt; with `follow`, until the render ends. */
  async *logs(renderId: string, options: { follow?: boolean } = {}): AsyncIterable<string> {
    const record = await this.#record(renderId);
    let lines: AsyncIterable<LogLine>;
    try {
      const clients = this.#clientsFor(record);
      const farm = await this.#farmOf(record);
      lines = options.follow
        ? followLogs(clients.logs, clients.batch, farm.logGroup, record)
        : renderLogs(clients.logs, farm.logGroup, await describeRender(clients.batch, record, { children: true }));
    } catch (error) {
      throw this.#explain(error);
    }
    let header = "";
    try {
      for await (const line of lines) {
        const source = `==> ${line.job}${line.child === undefined ? "" : ` child ${line.child}`}, attempt ${line.attempt} <==`;
        if (source !== header) yield `${source}\n`;
        header = source;
        yield `${line.line}\n`;
      }
    } catch (error) {
      throw this.#explain(error);
    }
  }

  async outputs(renderId: string): Promise<OutputView[]> {
    return this.#outputs(await this.#record(renderId));
  }

  /** The outputs in the farm's bucket (the events files children publish are plumbing, not outputs). */
  async #outputs(record: AwsRenderRecord): Promise<OutputView[]> {
    const prefix = outputPrefix(record.payload.project.name, record.renderId);
    const outputs: OutputView[] = [];
    try {
      for await (const object of this.#storeFor(record).list(prefix)) {
        const name = object.key.slice(prefix.length);
        if (!name.startsWith("events/")) outputs.push({ name, size: object.size, url: outputUrl(record.renderId, name) });
      }
    } catch (error) {
      throw this.#explain(error);
    }
    return outputs.sort((a, b) => (a.name < b.name ? -1 : 1));
  }

  /** One output as a preview source (HEAD only, no body): its size, and how to download it when the preview is not cached yet. */
  async previewSource(renderId: string, segments: readonly string[]) {
    const record = await this.#record(renderId);
    const store = this.#storeFor(record);
    const key = outputPrefix(record.payload.project.name, record.renderId) + segments.join("/");
    try {
      const object = await store.stat(key);
      return object && { kind: "download" as const, size: object.size, download: (destination: string) => store.getFile(key, destination) };
    } catch (error) {
      throw this.#explain(error);
    }
  }

  /** One output streamed from the farm's bucket, or undefined when there is none. */
  async openOutput(renderId: string, segments: readonly string[]) {
    const record = await this.#record(renderId);
    const store = this.#storeFor(record);
    const key = outputPrefix(record.payload.project.name, record.renderId) + segments.join("/");
    try {
      const answer = await store.client.send(new GetObjectCommand({ Bucket: store.bucket, Key: store.prefix === "" ? key : `${store.prefix}/${key}` }));
      return { kind: "stream" as const, body: answer.Body as Readable, size: answer.ContentLength ?? 0 };
    } catch (error) {
      const name = (error as { name?: string }).name;
      if (name === "NoSuchKey" || name === "NotFound") return undefined;
      throw this.#explain(error);
    }
  }

  async outputStore(renderId: string) {
    const record = await this.#record(renderId);
    return { objects: this.#storeFor(record), prefix: outputPrefix(record.payload.project.name, record.renderId) };
  }

  close(): void {
    for (const { batch, logs } of this.#clients.values()) {
      batch.destroy();
      logs.destroy();
    }
    for (const store of this.#stores.values()) store.client.destroy();
    this.#clients.clear();
    this.#stores.clear();
  }

  #cached(record: AwsRenderRecord): Snapshot | undefined {
    const snapshot = this.#snapshots.get(record.renderId);
    if (snapshot === undefined || snapshot.key !== submissionKey(record)) return undefined;
    return snapshot.state.terminal || this.#now() - snapshot.at < STATUS_TTL_MS ? snapshot : undefined;
  }

  #remember(record: AwsRenderRecord, fields: Omit<Snapshot, "key" | "at">): Snapshot {
    const snapshot = { ...fields, key: submissionKey(record), at: this.#now() };
    this.#snapshots.set(record.renderId, snapshot);
    return snapshot;
  }

  #manifestOf(record: AwsRenderRecord): Promise<RenderManifest | undefined> {
    return readRenderManifest(this.#storeFor(record), record.payload.project.name, record.renderId);
  }

  /** Folds the events files render children copy to the bucket (every 5 s), reading only what was added. */
  async #progressOf(record: AwsRenderRecord): Promise<RenderProgress> {
    const key = submissionKey(record);
    let tracker = this.#trackers.get(record.renderId);
    if (tracker === undefined || tracker.key !== key) {
      tracker = { key, progress: emptyProgress(totalFrames(record.payload)), reader: new EventReader(storedEvents(this.#storeFor(record), record.payload.project.name, record.renderId)) };
      this.#trackers.set(record.renderId, tracker);
    }
    const { progress } = tracker;
    try {
      await tracker.reader.poll((child, event) => applyEvent(progress, child, event));
    } catch (error) {
      throw this.#explain(error);
    }
    return progress;
  }

  #clientsFor(record: AwsRenderRecord): Clients {
    const key = clientKey(record);
    let clients = this.#clients.get(key);
    if (clients === undefined) {
      const config = {
        region: record.region,
        ...(record.profile ? { profile: record.profile } : {}),
        ...(this.#failFast ? { maxAttempts: 2, requestHandler: { connectionTimeout: 3_000, requestTimeout: 20_000 } } : {}),
      };
      clients = { batch: new BatchClient(config), logs: new CloudWatchLogsClient(config) };
      this.#clients.set(key, clients);
    }
    return clients;
  }

  #storeFor(record: AwsRenderRecord): S3ObjectStore {
    const key = `${clientKey(record)}\n${record.storage}`;
    let store = this.#stores.get(key);
    if (store === undefined) {
      const env = { ...this.#env, AWS_REGION: record.region, ...(record.profile ? { AWS_PROFILE: record.profile } : {}) };
      store = S3ObjectStore.fromEnvironment(record.storage, env);
      this.#stores.set(key, store);
    }
    return store;
  }

  #farmOf(record: AwsRenderRecord): Promise<FarmResources> {
    const key = `${clientKey(record)}\n${record.farm}`;
    const cached = this.#farms.get(key);
    if (cached && this.#now() - cached.at < FARM_TTL_MS) return cached.farm;
    const farm = findFarm(record.farm, { region: record.region, ...(record.profile ? { profile: record.profile } : {}) });
    this.#farms.set(key, { at: this.#now(), farm });
    // A failed lookup is not kept: the next request asks again.
    farm.catch(() => this.#farms.delete(key));
    return farm;
  }
}

function clientKey(record: AwsRenderRecord): string {
  return `${record.region}\n${record.profile ?? ""}`;
}

function snapshotOf(record: AwsRenderRecord, described: RenderDescription | undefined, manifest: RenderManifest | undefined): Omit<Snapshot, "key" | "at"> {
  return {
    state: foldRenderStatus(described?.jobs, manifest, described?.reason),
    ...(described ? { described } : { statusError: forgotten(record) }),
    ...(manifest ? { manifest } : {}),
  };
}

/** A render's jobs as DescribeJobs answered, without the calls (pure); undefined when AWS Batch no longer knows one of them. */
export function describeFromDetails(jobs: readonly RecordedJob[], details: ReadonlyMap<string, JobDetail>): RenderDescription | undefined {
  const views: BatchJobView[] = [];
  for (const job of jobs) {
    const detail = details.get(job.jobId);
    if (detail === undefined) return undefined;
    views.push(toJobView(job, detail));
  }
  return { ...renderStatusOf(views), jobs: views };
}

/** A failure as the list's one-line statusError. */
function oneLine(error: unknown): string {
  return (error instanceof Error ? error.message : String(error)).split("\n")[0]!.trim();
}

/**
 * One AWS render's events: its detail every poll (AWS itself is asked at
 * most every 10 s, through the status cache), and what changed, the same
 * events as for a local render. It has ended once told SUCCEEDED or FAILED.
 */
class AwsRenderFollower implements LiveFollower {
  readonly #backend: AwsRenderBackend;
  readonly #renderId: string;
  readonly #framesSent = new Set<number>();
  #lastState = "";
  #lastProgress = "";
  #ended = false;

  constructor(backend: AwsRenderBackend, renderId: string) {
    this.#backend = backend;
    this.#renderId = renderId;
  }

  get ended(): boolean {
    return this.#ended;
  }

  async poll(): Promise<LiveEvent[]> {
    const renderId = this.#renderId;
    const detail = await this.#backend.get(renderId);
    const events: LiveEvent[] = [];
    for (const output of detail.outputs) {
      const frame = output.name.startsWith("frames/") ? frameOfFileName(output.name.slice("frames/".length)) : undefined;
      if (frame === undefined || this.#framesSent.has(frame)) continue;
      this.#framesSent.add(frame);
      events.push({ event: "frame", data: { renderId, frame, url: output.url } });
    }
    const progress = { renderId, ...detail.progress };
    if (JSON.stringify(progress) !== this.#lastProgress) events.push({ event: "progress", data: progress });
    this.#lastProgress = JSON.stringify(progress);
    const state = { renderId, project: detail.project, status: detail.status, ...(detail.stage ? { stage: detail.stage } : {}), ...(detail.reason ? { reason: detail.reason } : {}) };
    if (JSON.stringify(state) !== this.#lastState) events.push({ event: "render", data: state });
    this.#lastState = JSON.stringify(state);
    this.#ended = isEnded(detail.status);
    return events;
  }
}

/**
 * For the stream of every render: AWS renders' status changes, from the
 * list's status cache at most every pollMs. Renders already ended when the
 * client came are not replayed; with no AWS render, AWS is never asked.
 */
class AwsStatusFollower implements LiveFollower {
  readonly ended = false;
  readonly #backend: AwsRenderBackend;
  readonly #told = new Map<string, string>();
  #next = 0;
  #first = true;

  constructor(backend: AwsRenderBackend) {
    this.#backend = backend;
  }

  async poll(): Promise<LiveEvent[]> {
    if (Date.now() < this.#next) return [];
    this.#next = Date.now() + this.#backend.pollMs;
    const rows = await this.#backend.list();
    const events: LiveEvent[] = [];
    for (const row of rows) {
      const before = this.#told.get(row.renderId);
      this.#told.set(row.renderId, row.status);
      if (row.status === before || (before === undefined && this.#first && isEnded(row.status))) continue;
      events.push({ event: "render", data: { renderId: row.renderId, project: row.project, status: row.status } });
    }
    this.#first = false;
    return events;
  }
}
