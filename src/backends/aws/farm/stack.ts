/**
 * A farm's CloudFormation stack: reading it and its outputs, following its
 * events until an operation ends, and the create, update and
 * clear-a-failed-create operations deploy runs, each failing with the
 * first real reason CloudFormation gave.
 */
import {
  CreateStackCommand,
  DeleteStackCommand,
  DescribeStackEventsCommand,
  DescribeStacksCommand,
  UpdateStackCommand,
  type CloudFormationClient,
  type Stack,
  type StackEvent,
} from "@aws-sdk/client-cloudformation";
import { JobFailedError, UserInputError } from "../../../errors.ts";
import { farmStackName } from "../farm-resources.ts";
import { isMissingStack, isNoUpdate } from "./aws-errors.ts";
import type { Pacing, Report } from "./clients.ts";
import { FARM_TAG } from "./settings.ts";
import type { TemplateSource } from "./template-source.ts";

const STACK_CAPABILITIES = ["CAPABILITY_IAM", "CAPABILITY_NAMED_IAM"] as const;

/** The stack, or undefined when it does not exist. */
export async function describeStack(cfn: CloudFormationClient, stackNameOrId: string): Promise<Stack | undefined> {
  try {
    const answer = await cfn.send(new DescribeStacksCommand({ StackName: stackNameOrId }));
    return answer.Stacks?.[0];
  } catch (error) {
    if (isMissingStack(error)) return undefined;
    throw error;
  }
}

/** A stack's outputs as a plain record (pure). */
export function stackOutputs(stack: Stack): Record<string, string> {
  const outputs: Record<string, string> = {};
  for (const output of stack.Outputs ?? []) {
    if (output.OutputKey !== undefined && output.OutputValue !== undefined) outputs[output.OutputKey] = output.OutputValue;
  }
  return outputs;
}

/** True while CloudFormation is still working on the stack. */
export function isInProgress(status: string | undefined): boolean {
  return status !== undefined && status.endsWith("_IN_PROGRESS");
}

/** Time of day of an event, as the user's clock shows it. */
function clock(date: Date | undefined): string {
  return (date ?? new Date()).toTimeString().slice(0, 8);
}

/** One line per stack event: time, resource, status, reason (pure). */
export function formatStackEvent(event: StackEvent): string {
  const resource = event.LogicalResourceId ?? "?";
  const type = event.ResourceType ? ` (${event.ResourceType})` : "";
  const reason = event.ResourceStatusReason ? `: ${event.ResourceStatusReason}` : "";
  return `  ${clock(event.Timestamp)}  ${resource}${type}  ${event.ResourceStatus ?? ""}${reason}`;
}

/** Follows a stack's events newest-first until one already seen; returns the new ones oldest first. */
class StackEventTail {
  private readonly seen = new Set<string>();
  private readonly cfn: CloudFormationClient;
  private readonly stackId: string;
  /** The newest event before the operation began: it and older ones are history. */
  private readonly since: string | undefined;

  constructor(cfn: CloudFormationClient, stackId: string, since: string | undefined) {
    this.cfn = cfn;
    this.stackId = stackId;
    this.since = since;
  }

  async next(): Promise<StackEvent[]> {
    const fresh: StackEvent[] = [];
    let token: string | undefined;
    do {
      const page = await this.cfn.send(new DescribeStackEventsCommand({ StackName: this.stackId, NextToken: token }));
      for (const event of page.StackEvents ?? []) {
        const id = event.EventId ?? "";
        if (id === this.since || this.seen.has(id)) return this.remember(fresh);
        fresh.push(event);
      }
      token = page.NextToken;
    } while (token);
    return this.remember(fresh);
  }

  private remember(newestFirst: StackEvent[]): StackEvent[] {
    for (const event of newestFirst) this.seen.add(event.EventId ?? "");
    return newestFirst.reverse();
  }
}

/** The stack's newest event now: watchStack shows only what comes after it. */
export async function newestEventId(cfn: CloudFormationClient, stackId: string): Promise<string | undefined> {
  const page = await cfn.send(new DescribeStackEventsCommand({ StackName: stackId }));
  return page.StackEvents?.[0]?.EventId;
}

/** How an operation ended: the final status, the stack (gone after a delete) and the events it printed. */
export type StackOutcome = { readonly status: string; readonly stack: Stack | undefined; readonly events: readonly StackEvent[] };

/** Prints the stack's new events until its status stops being *_IN_PROGRESS. */
export async function watchStack(
  cfn: CloudFormationClient,
  stackId: string,
  since: string | undefined,
  report: Report,
  pacing: Pacing,
): Promise<StackOutcome> {
  const tail = new StackEventTail(cfn, stackId, since);
  const events: StackEvent[] = [];
  for (;;) {
    // Status first, then events: the events of a stack that just finished are all printed.
    const stack = await describeStack(cfn, stackId);
    const status = stack?.StackStatus ?? "DELETE_COMPLETE";
    const fresh = await tail.next();
    for (const event of fresh) report(formatStackEvent(event));
    events.push(...fresh);
    if (!isInProgress(status)) return { status, stack, events };
    await pacing.sleep(pacing.stackPollMs);
  }
}

/**
 * Why an operation failed: the first `<operation>_FAILED` event's reason
 * (later ones are mostly "Resource creation cancelled"), else the stack's.
 */
export function firstFailure(events: readonly StackEvent[], operation: "CREATE" | "UPDATE" | "DELETE", stack?: Stack): string {
  const failed = events.find(
    (event) => event.ResourceStatus === `${operation}_FAILED` && !/cancelled/i.test(event.ResourceStatusReason ?? ""),
  );
  if (failed) return `${failed.LogicalResourceId ?? "a resource"}: ${failed.ResourceStatusReason ?? "no reason given"}`;
  return stack?.StackStatusReason ?? "CloudFormation gave no reason";
}

/** A stack stuck after a failed first create cannot be updated; deletes it so deploy starts afresh. */
export async function clearFailedCreate(
  stack: Stack,
  name: string,
  cfn: CloudFormationClient,
  report: Report,
  pacing: Pacing,
): Promise<Stack | undefined> {
  const status = stack.StackStatus ?? "";
  if (isInProgress(status)) {
    throw new UserInputError(
      `Farm "${name}" is busy (stack status ${status}): wait until 'brender farm status ${name}' shows it complete, then deploy again.`,
    );
  }
  if (status === "UPDATE_ROLLBACK_FAILED") {
    throw new UserInputError(
      `Farm "${name}" is stuck in UPDATE_ROLLBACK_FAILED: continue the rollback in the CloudFormation console (or 'aws cloudformation continue-update-rollback'), then deploy again.`,
    );
  }
  if (status !== "ROLLBACK_COMPLETE" && status !== "ROLLBACK_FAILED" && status !== "DELETE_FAILED") return stack;
  const stackId = stack.StackId ?? stack.StackName ?? "";
  report(`==> Removing what the last failed deploy left (stack status ${status})`);
  const since = await newestEventId(cfn, stackId);
  await cfn.send(new DeleteStackCommand({ StackName: stackId }));
  const outcome = await watchStack(cfn, stackId, since, report, pacing);
  if (outcome.status !== "DELETE_COMPLETE") {
    throw new JobFailedError(
      `Could not remove the failed stack of farm "${name}" (${firstFailure(outcome.events, "DELETE", outcome.stack)}): run 'brender farm destroy ${name} --yes', then deploy again.`,
    );
  }
  return undefined;
}

/** What deploy did to the stack. */
export type StackChange = "created" | "updated" | "unchanged";

export type StackResult = { readonly kind: StackChange; readonly stack: Stack };

/** Creates the farm's stack and waits; a failed create says why and whether anything is left. */
export async function createStack(
  stackName: string,
  template: TemplateSource,
  name: string,
  cfn: CloudFormationClient,
  report: Report,
  pacing: Pacing,
): Promise<StackResult> {
  report(`==> Creating stack ${stackName}`);
  const created = await cfn.send(
    new CreateStackCommand({
      StackName: stackName,
      ...template,
      Capabilities: [...STACK_CAPABILITIES],
      OnFailure: "ROLLBACK",
      Tags: [{ Key: FARM_TAG, Value: name }],
    }),
  );
  const stackId = created.StackId ?? stackName;
  const outcome = await watchStack(cfn, stackId, undefined, report, pacing);
  if (outcome.status !== "CREATE_COMPLETE" || outcome.stack === undefined) {
    const why = firstFailure(outcome.events, "CREATE", outcome.stack);
    const leftovers =
      outcome.status === "ROLLBACK_COMPLETE" || outcome.status === "DELETE_COMPLETE"
        ? "CloudFormation rolled it back: nothing is left running"
        : `CloudFormation's rollback ended in ${outcome.status}: run 'brender farm destroy ${name} --yes' to remove what is left`;
    throw new JobFailedError(`Creating farm "${name}" failed (${why}); ${leftovers}. Fix the cause and run 'brender farm deploy ${name}' again.`);
  }
  return { kind: "created", stack: outcome.stack };
}

/** Updates the stack and waits; a template that changes nothing leaves it "unchanged". */
export async function updateStack(
  existing: Stack,
  template: TemplateSource,
  name: string,
  cfn: CloudFormationClient,
  report: Report,
  pacing: Pacing,
): Promise<StackResult> {
  const stackId = existing.StackId ?? farmStackName(name);
  report(`==> Updating stack ${existing.StackName ?? farmStackName(name)}`);
  const since = await newestEventId(cfn, stackId);
  try {
    await cfn.send(new UpdateStackCommand({ StackName: stackId, ...template, Capabilities: [...STACK_CAPABILITIES] }));
  } catch (error) {
    if (!isNoUpdate(error)) throw error;
    report("  no changes: the stack is up to date");
    return { kind: "unchanged", stack: existing };
  }
  const outcome = await watchStack(cfn, stackId, since, report, pacing);
  if (outcome.status !== "UPDATE_COMPLETE" || outcome.stack === undefined) {
    const back = outcome.status === "UPDATE_ROLLBACK_COMPLETE" ? "the farm is back as it was" : `the stack is ${outcome.status}`;
    throw new JobFailedError(
      `Updating farm "${name}" failed (${firstFailure(outcome.events, "UPDATE", outcome.stack)}); ${back}. Fix the cause and run 'brender farm deploy ${name}' again.`,
    );
  }
  return { kind: "updated", stack: outcome.stack };
}

/** A stack output deploy cannot go on without; its absence is a bug in the template. */
export function requiredOutput(outputs: Record<string, string>, key: string, name: string): string {
  const value = outputs[key];
  if (!value) {
    throw new JobFailedError(`Farm "${name}"'s stack has no "${key}" output: its template is incomplete; report this as a Brender bug.`);
  }
  return value;
}
