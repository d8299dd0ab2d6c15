/**
 * One render backend behind the CLI and the API: the local farm and AWS
 * farms answer the same questions about their renders, so front ends never
 * ask which one a render runs on. Submitting stays with each front end's
 * submit path (the farm is the user's choice there); everything after it is here.
 */
import type { Readable } from "node:stream";
import type { RenderCostRecord } from "../domain/cost/cost-record.ts";
import type { JobActionType } from "../domain/job-actions.ts";
import type { StatusSummary } from "../domain/job-status.ts";
import type { RenderEvent } from "../domain/render-event.ts";
import type { RenderManifest } from "../domain/render-manifest.ts";
import type { RenderJobPayload } from "../domain/render-payload.ts";
import type { FrameProgressView, RenderProgress } from "../domain/render-progress.ts";
import type { RenderState, RenderStatus } from "../domain/render-status.ts";
import type { ObjectStore } from "../storage/object-store.ts";

/** One row of the render list (`brender jobs --json`, GET /api/renders). */
export type RenderRow = {
  readonly renderId: string;
  /** "local", or "aws:<farm>". */
  readonly backend: string;
  readonly project: string;
  readonly submittedAt: string;
  readonly status: RenderStatus;
  /** Set when the backend could not be asked (the status is then UNKNOWN or the last one known). */
  readonly statusError?: string;
  /** Ended renders, when the backend has them at hand (from the manifest). */
  readonly framesDone?: number;
  readonly framesTotal?: number;
};

/** One job of a render's newest submission, as the API and `brender status` show it. */
export type RenderJobView = {
  readonly name: string;
  readonly action: JobActionType;
  readonly status: RenderStatus;
  readonly reason?: string;
  readonly arraySize: number;
  readonly children?: StatusSummary;
  readonly seconds?: number;
};

export type OutputView = { name: string; size: number; url: string };

/** Every field of GET /api/renders/:id. */
export type RenderDetail = {
  readonly renderId: string;
  readonly backend: string;
  readonly project: string;
  readonly frames: string;
  readonly type: RenderJobPayload["type"];
  /** Who is told the result: the e-mail address and each webhook's scheme and host only (shownNotifyTargets). */
  readonly notify: string[];
  readonly status: RenderStatus;
  readonly stage?: JobActionType;
  readonly reason?: string;
  readonly statusError?: string;
  readonly jobs: RenderJobView[];
  readonly progress: FrameProgressView;
  readonly warnings: string[];
  readonly manifest: RenderManifest | null;
  /** The estimate it was submitted with and (once ended) the actual cost or CPU time. */
  readonly cost?: RenderCostRecord;
  readonly outputs: OutputView[];
};

/** One change a live client is told about (the `event:` and `data:` of a Server-Sent Event). */
export type LiveEvent =
  | { readonly event: "render"; readonly data: { renderId: string; project: string; status: RenderStatus; stage?: string; reason?: string } }
  | { readonly event: RenderEvent["type"]; readonly data: RenderEvent & { renderId: string } }
  | { readonly event: "progress"; readonly data: FrameProgressView & { renderId: string } }
  | { readonly event: "frame"; readonly data: { renderId: string; frame: number; url: string } };

/** Follows renders for a live client: each poll returns what changed since the last one. */
export type LiveFollower = { poll(): Promise<LiveEvent[]>; readonly ended: boolean };

/** A render as a watcher in the terminal sees it: progress, jobs and (once ended) the outcome. */
export type WatchSnapshot = {
  readonly state: RenderState;
  readonly jobs: readonly { readonly action: JobActionType; readonly status: RenderStatus }[];
  readonly progress: RenderProgress;
  readonly manifest?: RenderManifest;
};

export type RenderWatcher = { poll(): Promise<WatchSnapshot> };

/** One output found: a file on this machine, an object in a store, or a stream. */
export type FoundOutput =
  | { readonly kind: "file"; readonly path: string; readonly size: number }
  | { readonly kind: "object"; readonly objects: ObjectStore; readonly key: string; readonly size: number }
  | { readonly kind: "stream"; readonly body: Readable; readonly size: number };

/** An output as a preview source: its size, and where its bytes come from when the preview is not cached. */
export type PreviewableOutput =
  | { readonly kind: "file"; readonly path: string; readonly size: number }
  | { readonly kind: "download"; readonly size: number; readonly download: (destination: string) => Promise<void> };

/** One attempt's log of a render, as GET /api/renders/:id/log-files lists it. */
export type LogFileView = {
  id: string;
  action: string;
  /** The array child, or null for a job that is not an array. */
  child: number | null;
  attempt: number;
  status?: string;
  reason?: string;
  size: number;
  url: string;
};

export interface RenderBackend {
  /** Every render this backend knows, unsorted. */
  list(): Promise<RenderRow[]>;
  /** The id of the render `idOrPrefix` names (exact, or an unambiguous start); undefined when none; throws UserInputError when ambiguous. */
  find(idOrPrefix: string): Promise<string | undefined>;
  /** Where a render runs: "local" or "aws:<farm>", and words for a heading ("" or " on AWS farm F (region)"). */
  where(renderId: string): Promise<{ backend: string; words: string }>;
  /** The payload a render was submitted with. */
  payload(renderId: string): Promise<RenderJobPayload>;
  /** Status, progress, jobs, outputs. */
  get(renderId: string): Promise<RenderDetail>;
  /**
   * Who runs the jobs, when it is this process's job (the local farm): runs
   * them until `stop` aborts (jobs still running are released, see
   * runLocalFarm) or `signal` aborts (they are killed). `onJobEnded` is told
   * each time a job's attempt ends, so a watcher can look at once.
   */
  runJobs?(options: { stop: AbortSignal; signal: AbortSignal; onJobEnded?: () => void }): Promise<void>;
  /** Stops a render at once (Ctrl-C while watching it in the terminal). */
  interrupt?(renderId: string): void;
  /** Follows one render for a terminal: each poll folds what was added since the last (events, job statuses). */
  watcher(renderId: string): Promise<RenderWatcher>;
  /** How often a terminal watcher asks again. */
  readonly pollMs: number;
  /** A live follower of one render, or (no id) of every render's changes. */
  follow(renderId?: string): LiveFollower;
  /** Cancels queued jobs and terminates running ones; the upload still runs and reports. RenderConflictError when nothing is left. */
  cancel(renderId: string): Promise<{ cancelled: number; terminating: number }>;
  /** Submits an ended render's plan again with its settings; frames already uploaded are kept. RenderConflictError while it runs. */
  retry(renderId: string): Promise<void>;
  /** Every job's, child's and attempt's log, headed `==> job child N, attempt A <==`; with `follow`, until the render ends. */
  logs(renderId: string, options?: { follow?: boolean }): AsyncIterable<string>;
  /** One log per attempt (local farm only: AWS keeps its logs in CloudWatch; undefined there). */
  logFiles?(renderId: string): Promise<(LogFileView & { path: string })[]>;
  /** The outputs (frames, zip, preview, manifest), also finished frames of a running render when the backend has them. */
  outputs(renderId: string): Promise<OutputView[]>;
  /** One output to send, or undefined. */
  openOutput(renderId: string, segments: readonly string[]): Promise<FoundOutput | undefined>;
  /** One output as a preview source (no body read), or undefined. */
  previewSource(renderId: string, segments: readonly string[]): Promise<PreviewableOutput | undefined>;
  /** The store and prefix of the outputs (download, link, the CLI's summary). */
  outputStore(renderId: string): Promise<{ objects: ObjectStore; prefix: string }>;
  close(): void;
}
