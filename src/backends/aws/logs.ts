/**
 * A render's logs from CloudWatch Logs: every job's, child's and attempt's
 * log stream (the stream names come from DescribeJobs), in plan order, each
 * stream from its start. A stream that does not exist yet (the job or child
 * has not started, or its container has not written) is skipped, not an
 * error; a missing log group is (the farm is misconfigured).
 */
import {
  DescribeLogGroupsCommand,
  GetLogEventsCommand,
  type CloudWatchLogsClient,
  type OutputLogEvent,
} from "@aws-sdk/client-cloudwatch-logs";
import type { BatchClient } from "@aws-sdk/client-batch";
import { UserInputError } from "../../errors.ts";
import { describeRender, type RenderDescription } from "./monitor.ts";
import type { RecordedJob } from "./render-record.ts";

export type LogLine = {
  /** The job's name, e.g. "r-…-render". */
  readonly job: string;
  /** The array child's index; absent for single jobs. */
  readonly child?: number;
  /** 1 for the first attempt. */
  readonly attempt: number;
  readonly line: string;
  /** Epoch milliseconds of the event. */
  readonly timestamp: number;
};

/** One attempt's log stream. */
export type LogSource = {
  readonly job: string;
  readonly child?: number;
  readonly attempt: number;
  readonly logStreamName: string;
};

/**
 * The log streams of a described render, in the order people read them: job
 * by job in plan order, an array job child by child, attempts in order (pure).
 * Array jobs need their children described (describeRender with
 * { children: true }); without them this throws, as logs would silently go
 * missing.
 */
export function logSources(described: RenderDescription): LogSource[] {
  const sources: LogSource[] = [];
  for (const job of described.jobs) {
    if (job.arraySize >= 2) {
      if (job.children === undefined) throw new Error(`describe the render with { children: true } to read the logs of array job ${job.name}`);
      for (const child of job.children) {
        child.attempts.forEach((attempt, index) => {
          if (attempt.logStreamName) sources.push({ job: job.name, child: child.index, attempt: index + 1, logStreamName: attempt.logStreamName });
        });
      }
    } else {
      job.attempts.forEach((attempt, index) => {
        if (attempt.logStreamName) sources.push({ job: job.name, attempt: index + 1, logStreamName: attempt.logStreamName });
      });
    }
  }
  return sources;
}

/** Every line of every attempt's log stream of a described render (see logSources for the order). */
export async function* renderLogs(logs: CloudWatchLogsClient, logGroup: string, described: RenderDescription): AsyncGenerator<LogLine> {
  const reader = new StreamReader(logs, logGroup);
  for (const source of logSources(described)) {
    yield* reader.read(source);
  }
}

export type FollowOptions = {
  /** Time between rounds (DescribeJobs and GetLogEvents); default 5 s. */
  readonly intervalMs?: number;
  /** Stops following; the generator then returns. */
  readonly signal?: AbortSignal;
  /** Called with each round's description (a status line, the final outcome). */
  readonly onDescribe?: (described: RenderDescription) => void;
};

/**
 * Follows a render's logs: every line so far, then the new ones as they are
 * written, until the render is final (one last read after that, so the end
 * of every stream is included) or the signal aborts.
 */
export async function* followLogs(
  logs: CloudWatchLogsClient,
  batch: BatchClient,
  logGroup: string,
  record: { readonly renderId?: string; readonly jobs: readonly RecordedJob[] },
  options: FollowOptions = {},
): AsyncGenerator<LogLine> {
  const reader = new StreamReader(logs, logGroup);
  const intervalMs = options.intervalMs ?? 5000;
  while (!options.signal?.aborted) {
    const described = await describeRender(batch, record, { children: true });
    options.onDescribe?.(described);
    for (const source of logSources(described)) {
      if (options.signal?.aborted) return;
      yield* reader.read(source);
    }
    if (described.status !== "RUNNING") return;
    await sleep(intervalMs, options.signal);
  }
}

/** Reads streams page by page and remembers where each ended, so following reads only what is new. */
class StreamReader {
  readonly #logs: CloudWatchLogsClient;
  readonly #logGroup: string;
  /** Stream name -> the nextForwardToken of its last page. */
  readonly #tokens = new Map<string, string>();
  #groupChecked = false;

  constructor(logs: CloudWatchLogsClient, logGroup: string) {
    this.#logs = logs;
    this.#logGroup = logGroup;
  }

  /**
   * GetLogEvents from the head (or from where the last read ended), following
   * nextForwardToken until CloudWatch gives back the token it was sent: its
   * documented end of stream (pages may be empty before that).
   */
  async *read(source: LogSource): AsyncGenerator<LogLine> {
    let token = this.#tokens.get(source.logStreamName);
    for (;;) {
      let events: OutputLogEvent[];
      let next: string | undefined;
      try {
        const answer = await this.#logs.send(
          new GetLogEventsCommand({
            logGroupName: this.#logGroup,
            logStreamName: source.logStreamName,
            startFromHead: true,
            ...(token !== undefined ? { nextToken: token } : {}),
          }),
        );
        events = answer.events ?? [];
        next = answer.nextForwardToken;
      } catch (error) {
        if (!(error instanceof Error) || error.name !== "ResourceNotFoundException") throw error;
        await this.#checkGroup();
        return; // the stream does not exist yet
      }
      for (const event of events) {
        yield {
          job: source.job,
          ...(source.child !== undefined ? { child: source.child } : {}),
          attempt: source.attempt,
          line: (event.message ?? "").replace(/\r?\n$/, ""),
          timestamp: event.timestamp ?? 0,
        };
      }
      if (next === undefined || next === token) return;
      token = next;
      this.#tokens.set(source.logStreamName, next);
    }
  }

  /** A missing stream is normal; a missing group is not, and CloudWatch answers both with the same exception name. */
  async #checkGroup(): Promise<void> {
    if (this.#groupChecked) return;
    let found = false;
    let nextToken: string | undefined;
    do {
      const answer = await this.#logs.send(new DescribeLogGroupsCommand({ logGroupNamePrefix: this.#logGroup, ...(nextToken ? { nextToken } : {}) }));
      found = (answer.logGroups ?? []).some((group) => group.logGroupName === this.#logGroup);
      nextToken = answer.nextToken;
    } while (!found && nextToken);
    if (!found) {
      throw new UserInputError(
        `The log group "${this.#logGroup}" the farm's jobs write to does not exist: redeploy the farm ('brender farm deploy NAME') or check --region/--profile.`,
      );
    }
    this.#groupChecked = true;
  }
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener("abort", done);
      resolve();
    }
    signal?.addEventListener("abort", done, { once: true });
  });
}
