/**
 * `brender farm doctor NAME`: a preflight that reads the account and the
 * farm and says, per check, OK, WARN or BLOCKED with the fix. Only a missing
 * farm (or no credentials, no region) stops it; every check that cannot be
 * read is a warning naming the permission, and the others still run.
 */
import type { IAMClient } from "@aws-sdk/client-iam";
import type { ServiceQuotasClient } from "@aws-sdk/client-service-quotas";
import { FARM_OUTPUTS } from "../../farm-resources.ts";
import { lastPart, namedQueues, readFarmCapacity, type FarmCapacity } from "../batch-capacity.ts";
import type { FarmClients } from "../clients.ts";
import { BUILD_OUTPUTS } from "../settings.ts";
import { stackOutputs } from "../stack.ts";
import { deployedJobDefinitions, findFarmStack } from "../status.ts";
import { serviceRoleChecks, sesChecks } from "./account-checks.ts";
import { readBaseImageCheck } from "./base-image.ts";
import { instanceOfferingsCheck, vcpuQuotaChecks } from "./capacity-checks.ts";
import { doctorReport, guarded, type DoctorCheck, type DoctorReport } from "./check.ts";
import { queueChecks, stackCheck } from "./farm-checks.ts";
import { codeBuildQuotaCheck, imageChecks, readImageBuildsCheck, readVersionImages } from "./image-checks.ts";

export type DoctorClients = FarmClients & { readonly iam: IAMClient; readonly serviceQuotas: ServiceQuotasClient };

export type DoctorOptions = {
  /** docker/Dockerfile's text (undefined: not found, the base image is not checked). */
  readonly dockerfile: string | undefined;
  /** The base image registry's URL instead of https://REGISTRY (BRENDER_BASE_IMAGE_REGISTRY). */
  readonly registry?: string;
};

export async function farmDoctor(name: string, clients: DoctorClients, options: DoctorOptions): Promise<DoctorReport> {
  const { region, stack } = await findFarmStack(name, clients.cloudFormation);
  const outputs = stackOutputs(stack);
  const checks: DoctorCheck[] = [stackCheck(name, stack)];

  // Until Batch answers, the queues the stack names, without their environments: the quotas are still checked against one child.
  let capacity: FarmCapacity = {
    queues: namedQueues(outputs).map(({ role, output }) => ({ role, output, name: lastPart(output), state: "?", status: "?", environments: [] })),
    missing: [],
  };
  checks.push(
    ...(await guarded("queues", "the farm's Batch queues and compute environments", ["batch:DescribeJobQueues", "batch:DescribeComputeEnvironments"], name, async () => {
      capacity = await readFarmCapacity(clients.batch, outputs);
      return queueChecks(capacity, name, region);
    })),
  );
  checks.push(...(await vcpuQuotaChecks(capacity, clients.serviceQuotas, name, region)));
  checks.push(...(await instanceOfferingsCheck(capacity, clients.ec2, name, region)));

  let imagesMissing = false;
  checks.push(
    ...(await guarded("images", "the job definitions and their images", ["batch:DescribeJobDefinitions", "ecr:DescribeImages"], name, async () => {
      const images = await readVersionImages(clients.batch, clients.ecr, deployedJobDefinitions(outputs[FARM_OUTPUTS.jobDefinitions]));
      const verdicts = imageChecks(images, name);
      imagesMissing = verdicts.some((check) => check.status === "BLOCKED");
      return verdicts;
    })),
  );
  checks.push(...(await codeBuildQuotaCheck(clients.serviceQuotas, imagesMissing, name, region)));
  checks.push(...(await readImageBuildsCheck(clients.codeBuild, outputs[BUILD_OUTPUTS.imageBuildProject], name)));

  checks.push(...(await sesChecks(clients.ses, outputs[FARM_OUTPUTS.senderEmail], name, region)));
  const spot = capacity.queues.some((queue) => queue.role.startsWith("spot-"));
  checks.push(...(await serviceRoleChecks(clients.iam, { spot }, name)));
  checks.push(await readBaseImageCheck(options.dockerfile, options.registry, imagesMissing, name));
  return doctorReport(name, region, checks);
}
