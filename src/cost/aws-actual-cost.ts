/**
 * The actual cost of an AWS render from Batch's own start and stop times per
 * child and attempt, each attempt priced on the host its worker reported
 * (instance type, spot or on-demand) when it did, else at the queue's range.
 */
import type { RenderDescription } from "../backends/aws/monitor.ts";
import type { AwsRenderRecord } from "../backends/aws/render-record.ts";
import { DEFAULT_SERVER_PRESET, SERVER_PRESETS } from "../backends/aws/server-sizes.ts";
import { actualCost, hostKey, type ActualCost, type BilledAttempt } from "../domain/cost/actual-cost.ts";
import type { ActualCostRecord } from "../domain/cost/cost-record.ts";
import { roundRange } from "../domain/cost/range.ts";
import type { ChildResources } from "../domain/cost/render-time.ts";
import { QUEUE_KINDS, type QueueKind } from "../backends/aws/farm-resources.ts";
import { billedAttemptsOf, type DescribedRun } from "../domain/cost/running-cap.ts";
import { queueOffer } from "./queue-price.ts";

/** The host each child's attempt reported, keyed by hostKey(child, attempt). */
export type AttemptHosts = ReadonlyMap<string, NonNullable<BilledAttempt["host"]>>;

export { hostKey };

/** Batch's times of one job or child: its listed attempts, and its own start when the running attempt is not listed yet. */
export type TimedJob = DescribedRun;

export type PricedRender = {
  readonly queue: QueueKind;
  readonly child: ChildResources;
  readonly region: string;
  /** Render children by index (a job that is not an array is child 0). */
  readonly renderChildren: readonly TimedJob[];
  /** Copy and upload jobs. */
  readonly ioJobs: readonly TimedJob[];
  readonly hosts?: AttemptHosts;
  readonly now?: number;
};

/** Prices every attempt of the render children and of the io jobs (pure). */
export function actualCostOfJobs(render: PricedRender): ActualCost {
  const renderAttempts = render.renderChildren.flatMap((child, index) =>
    billedAttemptsOf(child).map((attempt, number) => {
      const host = render.hosts?.get(hostKey(index, number + 1));
      return host ? { ...attempt, host } : attempt;
    }),
  );
  return actualCost({
    renderAttempts,
    ioAttempts: render.ioJobs.flatMap((job) => billedAttemptsOf(job)),
    queue: queueOffer(render.queue),
    child: render.child,
    prices: { region: render.region },
    now: render.now ?? Date.now(),
  });
}

/** For `status` on a render still running: its jobs as described with children. */
export function actualCostOfRender(record: AwsRenderRecord, described: RenderDescription, now = Date.now(), hosts?: AttemptHosts): ActualCost {
  const resources = record.submitOptions?.resources ?? SERVER_PRESETS[DEFAULT_SERVER_PRESET];
  const isRender = (action: string) => action === "render" || action === "custom_render_python";
  return actualCostOfJobs({
    queue: record.submitOptions?.queue ?? "spot-cpu",
    child: { vcpus: resources.vcpus, gpus: resources.gpus },
    region: record.region,
    renderChildren: described.jobs.filter((job) => isRender(job.action)).flatMap((job): TimedJob[] => (job.children ? byIndex(job.children) : [job])),
    ioJobs: described.jobs.filter((job) => !isRender(job.action)),
    ...(hosts ? { hosts } : {}),
    now,
  });
}

/** The queue kind a queue name or ARN ends in ("…/brender-farm-spot-cpu"); undefined for another queue. */
export function queueKindOf(queue: string): QueueKind | undefined {
  return QUEUE_KINDS.find((kind) => queue === kind || queue.endsWith(`-${kind}`));
}

/** Children placed at their index (a child not described is an empty job). */
export function byIndex(children: readonly (TimedJob & { readonly index: number })[]): TimedJob[] {
  const placed: TimedJob[] = Array.from({ length: Math.max(0, ...children.map((child) => child.index + 1)) }, () => ({}));
  for (const child of children) placed[child.index] = child;
  return placed;
}

/** The record stored in the manifest: rounded, with its hosts and method in words. */
export function awsActualRecord(cost: ActualCost, hosts: AttemptHosts | undefined): ActualCostRecord {
  const seen = [...new Set([...(hosts?.values() ?? [])].flatMap((host) => (host.instanceType ? [`${host.instanceType}${host.spot === undefined ? "" : host.spot ? " spot" : " on-demand"}`] : [])))];
  return {
    kind: "aws",
    usd: roundRange(cost.usd, 4),
    childHours: Math.round(cost.childHours * 10_000) / 10_000,
    ioHours: Math.round(cost.ioHours * 10_000) / 10_000,
    attempts: cost.attempts,
    attemptsWithHost: cost.attemptsWithHost,
    ...(seen.length ? { hosts: seen } : {}),
    method:
      "every attempt of every render child and of the copy and upload jobs billed from AWS Batch's startedAt to stoppedAt (the upload up to now), " +
      "at its host's price (instance type and spot or on-demand as the worker read them from the instance metadata) times the child's share of the host; " +
      "attempts without a reported host at the queue's price range; on-demand prices from the bundled dated table, spot at an assumed discount",
  };
}
