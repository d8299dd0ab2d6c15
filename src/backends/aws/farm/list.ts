/**
 * `brender farm list`: the live farm stacks of a region. Needs CloudFormation
 * only, so the server can ask it without loading the other clients.
 */
import { ListStacksCommand, type CloudFormationClient, type StackStatus } from "@aws-sdk/client-cloudformation";
import { farmStackName } from "../farm-resources.ts";

export type FarmSummary = {
  readonly name: string;
  readonly stackName: string;
  readonly status: string;
  readonly region: string;
  readonly created?: string;
  readonly updated?: string;
};

const STACK_PREFIX = farmStackName("");
/** Every stack status but DELETE_COMPLETE: ListStacks otherwise returns deleted stacks for 90 days. */
const LIVE_STATUSES: StackStatus[] = [
  "CREATE_IN_PROGRESS", "CREATE_FAILED", "CREATE_COMPLETE",
  "ROLLBACK_IN_PROGRESS", "ROLLBACK_FAILED", "ROLLBACK_COMPLETE",
  "DELETE_IN_PROGRESS", "DELETE_FAILED",
  "UPDATE_IN_PROGRESS", "UPDATE_COMPLETE_CLEANUP_IN_PROGRESS", "UPDATE_COMPLETE",
  "UPDATE_FAILED", "UPDATE_ROLLBACK_IN_PROGRESS", "UPDATE_ROLLBACK_FAILED",
  "UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS", "UPDATE_ROLLBACK_COMPLETE",
  "REVIEW_IN_PROGRESS",
  "IMPORT_IN_PROGRESS", "IMPORT_COMPLETE", "IMPORT_ROLLBACK_IN_PROGRESS", "IMPORT_ROLLBACK_FAILED", "IMPORT_ROLLBACK_COMPLETE",
];

/** The farms (stacks named brender-farm-*, not deleted) in the clients' region, by name. */
export async function listFarms(cfn: CloudFormationClient): Promise<FarmSummary[]> {
  const region = await cfn.config.region();
  const farms: FarmSummary[] = [];
  let token: string | undefined;
  do {
    const page = await cfn.send(new ListStacksCommand({ StackStatusFilter: LIVE_STATUSES, NextToken: token }));
    for (const stack of page.StackSummaries ?? []) {
      const stackName = stack.StackName ?? "";
      if (!stackName.startsWith(STACK_PREFIX) || stack.StackStatus === "DELETE_COMPLETE") continue;
      farms.push({
        name: stackName.slice(STACK_PREFIX.length),
        stackName,
        status: stack.StackStatus ?? "UNKNOWN",
        region,
        ...(stack.CreationTime ? { created: stack.CreationTime.toISOString() } : {}),
        ...(stack.LastUpdatedTime ? { updated: stack.LastUpdatedTime.toISOString() } : {}),
      });
    }
    token = page.NextToken;
  } while (token);
  return farms.sort((a, b) => a.name.localeCompare(b.name));
}
