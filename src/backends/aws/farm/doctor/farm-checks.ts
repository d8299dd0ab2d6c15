/**
 * The farm's own state (pure): its CloudFormation stack, and each Batch queue
 * with the compute environments behind it.
 */
import type { Stack } from "@aws-sdk/client-cloudformation";
import { farmStackName, isUsableStackStatus } from "../../farm-resources.ts";
import type { FarmCapacity, FarmEnvironment, FarmQueue, QueueRole } from "../batch-capacity.ts";
import { isInProgress } from "../stack.ts";
import { blocked, ok, warn, type DoctorCheck } from "./check.ts";

export function stackCheck(farm: string, stack: Stack): DoctorCheck {
  const status = stack.StackStatus ?? "UNKNOWN";
  const reason = stack.StackStatusReason ? ` (${stack.StackStatusReason})` : "";
  const name = farmStackName(farm);
  if (isInProgress(status) && !isUsableStackStatus(status)) {
    return warn("stack", `Stack ${name} is ${status}: CloudFormation is still working on it.`, `Wait until 'brender farm status ${farm}' shows it complete, then run the doctor again.`);
  }
  if (status === "UPDATE_ROLLBACK_COMPLETE") {
    return warn("stack", `Stack ${name}: the last update rolled back${reason}; the farm runs as it was before it.`, `Fix what the reason says, then run 'brender farm deploy ${farm}' again.`);
  }
  if (isUsableStackStatus(status)) return ok("stack", `Stack ${name}: ${status}.`);
  const fix = status.startsWith("DELETE")
    ? `Finish the deletion with 'brender farm destroy ${farm} --yes', then deploy it again.`
    : `Run 'brender farm deploy ${farm}' (a failed first deploy is cleared and made again).`;
  return blocked("stack", `Stack ${name} is ${status}${reason}: no render can be submitted to it.`, fix);
}

const ROLE_NAMES: Readonly<Record<QueueRole, string>> = {
  io: "copy/upload",
  "spot-cpu": "spot CPU",
  "on-demand-cpu": "on-demand CPU",
  "spot-gpu": "spot GPU",
  "on-demand-gpu": "on-demand GPU",
};

/** One check per queue the stack names: the queue ENABLED and VALID, and every environment behind it ENABLED and VALID. */
export function queueChecks(capacity: FarmCapacity, farm: string, region: string): DoctorCheck[] {
  const missing = capacity.missing.map(({ role, output }) =>
    blocked(`queue:${role}`, `The ${ROLE_NAMES[role]} queue ${output} that the stack names does not exist in Batch.`, `Run 'brender farm deploy ${farm}' to make it again.`),
  );
  return [...capacity.queues.map((queue) => queueCheck(queue, farm, region)), ...missing];
}

function queueCheck(queue: FarmQueue, farm: string, region: string): DoctorCheck {
  const id = `queue:${queue.role}`;
  const what = `The ${ROLE_NAMES[queue.role]} queue ${queue.name}`;
  if (queue.state !== "ENABLED") {
    return blocked(id, `${what} is ${queue.state}: jobs sent to it never start.`, `aws batch update-job-queue --job-queue ${queue.name} --state ENABLED --region ${region}`);
  }
  if (queue.status === "INVALID") {
    return blocked(id, `${what} is INVALID${queue.statusReason ? ` (${queue.statusReason})` : ""}.`, `Run 'brender farm deploy ${farm}' to repair it.`);
  }
  if (queue.environments.length === 0) {
    return blocked(id, `${what} has no compute environment: its jobs have nowhere to run.`, `Run 'brender farm deploy ${farm}' to repair it.`);
  }
  for (const environment of queue.environments) {
    const problem = environmentProblem(environment, farm, region);
    if (problem) return { id, ...problem, summary: `${what}: ${problem.summary}` };
  }
  const capacity = queue.environments.map(describeEnvironment).join("; ");
  return ok(id, `${what} is ENABLED and VALID: ${capacity}.`);
}

function environmentProblem(environment: FarmEnvironment, farm: string, region: string): Omit<DoctorCheck, "id"> | undefined {
  const name = `compute environment ${environment.name}`;
  if (environment.status === "MISSING") {
    return { status: "BLOCKED", summary: `its ${name} does not exist.`, fix: `Run 'brender farm deploy ${farm}' to make it again.` };
  }
  if (environment.state !== "ENABLED") {
    return {
      status: "BLOCKED",
      summary: `its ${name} is ${environment.state}: no host starts for its jobs.`,
      fix: `aws batch update-compute-environment --compute-environment ${environment.name} --state ENABLED --region ${region}`,
    };
  }
  if (environment.status === "INVALID") {
    return {
      status: "BLOCKED",
      summary: `its ${name} is INVALID${environment.statusReason ? ` (${environment.statusReason})` : ""}: no host starts for its jobs.`,
      fix: `Fix what the reason says (often a missing service-linked role or an instance type the region lacks), then run 'brender farm deploy ${farm}'.`,
    };
  }
  if (environment.status !== "VALID") {
    return { status: "WARN", summary: `its ${name} is ${environment.status}.`, fix: `Wait until it is VALID ('brender farm status ${farm}'), then run the doctor again.` };
  }
  return undefined;
}

function describeEnvironment(environment: FarmEnvironment): string {
  const vcpus = environment.maxVcpus !== undefined ? `, up to ${environment.maxVcpus} vCPUs` : "";
  const types = environment.instanceTypes.length > 0 ? ` of ${environment.instanceTypes.join("/")}` : "";
  return `${environment.name} (${environment.type}${vcpus}${types})`;
}
