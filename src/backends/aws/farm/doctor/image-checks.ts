/**
 * Will the render containers start? Each Blender version's job definition,
 * and the image it names present in ECR under that very tag (a missing one
 * fails every job with CannotPullContainerError); then whether the image
 * builds can run (CodeBuild's concurrent-build quota: 0 or 1 in new
 * accounts) and how the last builds went.
 */
import { DescribeJobDefinitionsCommand, type BatchClient } from "@aws-sdk/client-batch";
import type { Build, CodeBuildClient } from "@aws-sdk/client-codebuild";
import type { ECRClient } from "@aws-sdk/client-ecr";
import type { ServiceQuotasClient } from "@aws-sdk/client-service-quotas";
import { quotaConsoleUrl, readQuotaValue } from "../../quotas.ts";
import { builtVersion, imageTagsPresent, recentBuilds } from "../image-build.ts";
import { blocked, guarded, ok, warn, type DoctorCheck } from "./check.ts";

/** What one Blender version's job definition runs. */
export type VersionImage = {
  readonly version: string;
  readonly jobDefinition: string;
  /** Undefined when the job definition is gone; its status otherwise (ACTIVE, INACTIVE). */
  readonly definitionStatus?: string;
  readonly image?: string;
  /** Whether ECR holds the image's tag; undefined when the image is not in this account's ECR. */
  readonly present?: boolean;
};

/** "ACCOUNT.dkr.ecr.REGION.amazonaws.com/REPO:TAG" -> { repository, tag }; undefined for images elsewhere (pure). */
export function ecrImage(image: string): { repository: string; tag: string } | undefined {
  const match = /^\d{12}\.dkr\.ecr\.[a-z0-9-]+\.amazonaws\.com(?:\.cn)?\/([^:@]+):([^@]+)$/.exec(image);
  return match ? { repository: match[1]!, tag: match[2]! } : undefined;
}

/** Reads each version's job definition and whether ECR holds the image it names. */
export async function readVersionImages(batch: BatchClient, ecr: ECRClient, definitions: Record<string, string>): Promise<VersionImage[]> {
  const arns = Object.values(definitions);
  const described = arns.length > 0 ? ((await batch.send(new DescribeJobDefinitionsCommand({ jobDefinitions: arns })))?.jobDefinitions ?? []) : [];
  const tagsByRepository = new Map<string, Set<string>>();
  const images: VersionImage[] = [];
  for (const [version, arn] of Object.entries(definitions)) {
    const definition = described.find((candidate) => candidate.jobDefinitionArn === arn);
    const image = definition?.containerProperties?.image;
    const inEcr = image ? ecrImage(image) : undefined;
    if (inEcr && !tagsByRepository.has(inEcr.repository)) tagsByRepository.set(inEcr.repository, await imageTagsPresent(ecr, inEcr.repository));
    images.push({
      version,
      jobDefinition: arn,
      ...(definition?.status ? { definitionStatus: definition.status } : {}),
      ...(image ? { image } : {}),
      ...(inEcr ? { present: tagsByRepository.get(inEcr.repository)!.has(inEcr.tag) } : {}),
    });
  }
  return images;
}

/** One check per Blender version (pure). */
export function imageChecks(images: readonly VersionImage[], farm: string): DoctorCheck[] {
  if (images.length === 0) {
    return [blocked("images", "The stack names no job definition (its JobDefinitions output is empty or unreadable).", `Run 'brender farm deploy ${farm}'.`)];
  }
  const deploy = `Run 'brender farm deploy ${farm}': it builds the missing images.`;
  return images.map((entry) => {
    const id = `image:${entry.version}`;
    if (entry.definitionStatus !== "ACTIVE") {
      return blocked(id, `Blender ${entry.version}: its job definition ${entry.jobDefinition} is ${entry.definitionStatus ?? "missing"}.`, `Run 'brender farm deploy ${farm}' to register it again.`);
    }
    if (entry.image === undefined) return blocked(id, `Blender ${entry.version}: its job definition names no image.`, `Run 'brender farm deploy ${farm}' to register it again.`);
    if (entry.present === undefined) return ok(id, `Blender ${entry.version}: ${entry.image} (not in this account's ECR, so not checked).`);
    if (!entry.present) return blocked(id, `Blender ${entry.version}: ECR lacks ${entry.image}, which its job definition runs: its jobs would fail to pull it.`, deploy);
    return ok(id, `Blender ${entry.version}: ${entry.image} is in ECR.`);
  });
}

/**
 * CodeBuild's concurrent builds for the image project's environment
 * (src/infra/constructs/image-build.ts: LINUX_CONTAINER, BUILD_GENERAL1_MEDIUM).
 * The code is the one Service Quotas lists for that name.
 */
export const CODEBUILD_CONCURRENCY_QUOTA = { code: "L-2DC20C30", name: "Concurrently running builds for Linux/Medium environment" } as const;

/** With 0 concurrent builds nothing can be built: it blocks only while an image is missing (pure). */
export function buildConcurrencyCheck(limit: number, imagesMissing: boolean, region: string): DoctorCheck {
  const id = "codebuild-quota";
  const name = `CodeBuild quota ${CODEBUILD_CONCURRENCY_QUOTA.code} "${CODEBUILD_CONCURRENCY_QUOTA.name}"`;
  if (limit >= 1) return ok(id, `${name}: ${limit} (deploy builds one image at a time).`);
  const fix = `aws service-quotas request-service-quota-increase --service-code codebuild --quota-code ${CODEBUILD_CONCURRENCY_QUOTA.code} --desired-value 1 --region ${region} (or ${quotaConsoleUrl("codebuild", CODEBUILD_CONCURRENCY_QUOTA.code, region)})`;
  return imagesMissing
    ? blocked(id, `${name}: 0, so the missing images cannot be built.`, fix)
    : warn(id, `${name}: 0: the images are built, but a new Blender version or a Brender upgrade could not be.`, fix);
}

export async function codeBuildQuotaCheck(serviceQuotas: ServiceQuotasClient, imagesMissing: boolean, farm: string, region: string): Promise<DoctorCheck[]> {
  return guarded("codebuild-quota", `the CodeBuild quota ${CODEBUILD_CONCURRENCY_QUOTA.code}`, ["servicequotas:GetServiceQuota"], farm, async () =>
    buildConcurrencyCheck(await readQuotaValue(serviceQuotas, "codebuild", CODEBUILD_CONCURRENCY_QUOTA.code), imagesMissing, region),
  );
}

/** The newest build of each version: running ones are fine, a failed newest one is worth a look (pure). */
export function imageBuildsCheck(builds: readonly Build[], farm: string): DoctorCheck {
  const newest = new Map<string, Build>();
  for (const build of builds) {
    const version = builtVersion(build);
    if (version !== undefined && !newest.has(version)) newest.set(version, build);
  }
  if (newest.size === 0) return ok("image-builds", "No image build yet.");
  const running = [...newest].filter(([, build]) => build.buildStatus === "IN_PROGRESS").map(([version]) => version);
  const failed = [...newest].filter(([, build]) => !["IN_PROGRESS", "SUCCEEDED"].includes(build.buildStatus ?? ""));
  const states = [...newest].map(([version, build]) => `Blender ${version} ${build.buildStatus ?? "?"}`).join(", ");
  if (failed.length > 0) {
    const [version, build] = failed[0]!;
    return warn(
      "image-builds",
      `The newest image builds: ${states}.`,
      `See why Blender ${version}'s failed${build.logs?.deepLink ? ` (${build.logs.deepLink})` : ` (build ${build.id})`}, fix it, then run 'brender farm deploy ${farm}'.`,
    );
  }
  return ok("image-builds", `The newest image builds: ${states}${running.length > 0 ? " (deploy follows a running build, never starts it twice)" : ""}.`);
}

export async function readImageBuildsCheck(codeBuild: CodeBuildClient, project: string | undefined, farm: string): Promise<DoctorCheck[]> {
  if (!project) return [warn("image-builds", "The stack names no image build project (ImageBuildProject output).", `Run 'brender farm deploy ${farm}'.`)];
  return guarded("image-builds", `the image builds of ${project}`, ["codebuild:ListBuildsForProject", "codebuild:BatchGetBuilds"], farm, async () =>
    imageBuildsCheck(await recentBuilds(codeBuild, project), farm),
  );
}
