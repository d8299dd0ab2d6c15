/**
 * The farm's worker images: the source zip uploaded to the farm's bucket
 * (only when its digest changed), CodeBuild builds of the Blender versions
 * whose tag ECR lacks, and each build followed phase by phase.
 *
 * Builds run one at a time: new accounts may run 0 or 1 CodeBuild builds at
 * once, and a StartBuild over the limit fails with
 * AccountLimitExceededException. A build an earlier deploy left running is
 * followed, never started twice, so an interrupted deploy resumes cleanly.
 */
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { HeadObjectCommand, PutObjectCommand, type S3Client } from "@aws-sdk/client-s3";
import {
  BatchGetBuildsCommand,
  ListBuildsForProjectCommand,
  StartBuildCommand,
  type Build,
  type CodeBuildClient,
} from "@aws-sdk/client-codebuild";
import { DescribeImagesCommand, type ECRClient } from "@aws-sdk/client-ecr";
import { JobFailedError } from "../../../errors.ts";
import { isMissingRepository, isNotFound } from "./aws-errors.ts";
import type { FarmClients, Pacing, Report } from "./clients.ts";
import { BUILD_OUTPUTS, SOURCE_DIGEST_METADATA, imageTag } from "./settings.ts";
import { requiredOutput } from "./stack.ts";

/** Builds the worker image's source zip and its digest (src/infra/image-source.ts). */
export type ImageSource = {
  readonly bundle: (outFile: string) => Promise<{ readonly file: string; readonly bytes: number }>;
  readonly digest: (zipFile: string) => Promise<string>;
};

export type BuildResult = {
  readonly blenderVersion: string;
  readonly buildId: string;
  readonly status: string;
  /** Why a failed build failed: its failing phase and message. */
  readonly reason?: string;
  readonly logs?: string;
};

/** Uploads the source zip unless the bucket holds one with the same digest; true when uploaded. */
export async function uploadSource(s3: S3Client, bucket: string, key: string, source: ImageSource, report: Report): Promise<boolean> {
  const dir = await mkdtemp(join(tmpdir(), "brender-image-source-"));
  try {
    const bundled = await source.bundle(join(dir, "source.zip"));
    const digest = await source.digest(bundled.file);
    let current: string | undefined;
    try {
      const head = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
      current = head?.Metadata?.[SOURCE_DIGEST_METADATA];
    } catch (error) {
      if (!isNotFound(error)) throw error;
    }
    if (current === digest) {
      report(`  unchanged (digest ${digest.slice(0, 12)}): not uploaded`);
      return false;
    }
    await s3.send(
      new PutObjectCommand({
        Bucket: bucket,
        Key: key,
        Body: await readFile(bundled.file),
        ContentType: "application/zip",
        Metadata: { [SOURCE_DIGEST_METADATA]: digest },
      }),
    );
    report(`  uploaded ${bundled.bytes} bytes (digest ${digest.slice(0, 12)})`);
    return true;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** "123456789012.dkr.ecr.eu-west-1.amazonaws.com/brender-farm-x" -> "brender-farm-x". */
export function repositoryName(uriOrName: string): string {
  const slash = uriOrName.indexOf("/");
  return slash < 0 ? uriOrName : uriOrName.slice(slash + 1);
}

/** Tags of the images in a repository (empty when it does not exist). */
export async function imageTagsPresent(ecr: ECRClient, repository: string): Promise<Set<string>> {
  const tags = new Set<string>();
  let token: string | undefined;
  try {
    do {
      const page = await ecr.send(
        new DescribeImagesCommand({ repositoryName: repository, filter: { tagStatus: "TAGGED" }, nextToken: token }),
      );
      for (const image of page?.imageDetails ?? []) for (const tag of image.imageTags ?? []) tags.add(tag);
      token = page?.nextToken;
    } while (token);
  } catch (error) {
    if (!isMissingRepository(error)) throw error;
  }
  return tags;
}

/** Starts a build for every version whose image is missing (all of them when the source changed) and waits for them. */
export async function buildMissingImages(
  clients: FarmClients,
  outputs: Record<string, string>,
  versions: readonly string[],
  name: string,
  report: Report,
  pacing: Pacing,
  sourceChanged: boolean,
): Promise<{ present: string[]; builds: BuildResult[] }> {
  const repository = repositoryName(requiredOutput(outputs, BUILD_OUTPUTS.imageRepository, name));
  const project = requiredOutput(outputs, BUILD_OUTPUTS.imageBuildProject, name);
  const tags = sourceChanged ? new Set<string>() : await imageTagsPresent(clients.ecr, repository);
  if (sourceChanged) report("  the worker's source changed: every image is rebuilt");
  const present = versions.filter((version) => tags.has(imageTag(version)));
  for (const version of present) report(`  ${imageTag(version)}: already in ${repository}`);
  const missing = versions.filter((version) => !tags.has(imageTag(version)));
  if (missing.length === 0) return { present, builds: [] };

  // A build an earlier (interrupted) deploy started is followed first: it holds the account's build slot.
  const running = await buildsInProgress(clients.codeBuild, project, missing);
  const builds: BuildResult[] = [];
  for (const [version, id] of running) {
    report(`  ${imageTag(version)}: build ${id} is already running (started by an earlier deploy): following it`);
    builds.push(...(await watchBuilds(clients.codeBuild, new Map([[id, version]]), report, pacing)));
  }
  for (const version of missing.filter((candidate) => !running.has(candidate))) {
    const id = await startBuild(clients.codeBuild, project, version, name, report, pacing);
    report(`  ${imageTag(version)}: build ${id} started`);
    builds.push(...(await watchBuilds(clients.codeBuild, new Map([[id, version]]), report, pacing)));
  }
  return { present, builds: missing.map((version) => builds.find((build) => build.blenderVersion === version)!) };
}

/** How many of the project's newest builds are searched for ones still running (one ListBuildsForProject page). */
const RECENT_BUILDS = 100;
/** StartBuild refusals for the account's build limit before giving up: about 10 minutes at the default pacing. */
export const BUILD_LIMIT_RETRIES = 60;

/** The project's newest builds (one ListBuildsForProject page, at most RECENT_BUILDS), newest first. */
export async function recentBuilds(codeBuild: CodeBuildClient, project: string): Promise<Build[]> {
  const listed = await codeBuild.send(new ListBuildsForProjectCommand({ projectName: project, sortOrder: "DESCENDING" }));
  const ids = (listed?.ids ?? []).slice(0, RECENT_BUILDS);
  if (ids.length === 0) return [];
  const builds = (await codeBuild.send(new BatchGetBuildsCommand({ ids })))?.builds ?? [];
  return ids.map((id) => builds.find((build) => build.id === id)).filter((build): build is Build => build !== undefined);
}

/** The Blender version a build built (its BLENDER_VERSION variable). */
export function builtVersion(build: Build): string | undefined {
  return build.environment?.environmentVariables?.find((variable) => variable.name === "BLENDER_VERSION")?.value;
}

/** Blender version -> id of the project's builds still IN_PROGRESS, for the versions in `versions`. */
async function buildsInProgress(codeBuild: CodeBuildClient, project: string, versions: readonly string[]): Promise<Map<string, string>> {
  const running = new Map<string, string>();
  for (const build of await recentBuilds(codeBuild, project)) {
    if (build.buildStatus !== "IN_PROGRESS" || !build.id) continue;
    const version = builtVersion(build);
    if (version !== undefined && versions.includes(version) && !running.has(version)) running.set(version, build.id);
  }
  return running;
}

/** Starts the build of one version, waiting while the account's concurrent-build limit refuses it. */
async function startBuild(codeBuild: CodeBuildClient, project: string, version: string, name: string, report: Report, pacing: Pacing): Promise<string> {
  for (let refusals = 0; ; refusals += 1) {
    try {
      const answer = await codeBuild.send(
        new StartBuildCommand({
          projectName: project,
          environmentVariablesOverride: [{ name: "BLENDER_VERSION", value: version, type: "PLAINTEXT" }],
        }),
      );
      const id = answer.build?.id;
      if (!id) throw new JobFailedError(`CodeBuild did not start the image build for Blender ${version} (project ${project}): run 'brender farm deploy ${name}' again.`);
      return id;
    } catch (error) {
      if (!(error instanceof Error) || error.name !== "AccountLimitExceededException") throw error;
      if (refusals + 1 >= BUILD_LIMIT_RETRIES) {
        throw new JobFailedError(
          `CodeBuild keeps refusing to start the image build for Blender ${version} (AccountLimitExceededException: ${error.message.replace(/\s+/g, " ").trim()}): new accounts may run 0 or 1 builds at once. Wait for the account's other builds, or ask for more in Service Quotas (AWS CodeBuild, "Concurrently running builds"), then run 'brender farm deploy ${name}' again; it builds only the missing images.`,
          { cause: error },
        );
      }
      if (refusals === 0) report(`  ${imageTag(version)}: CodeBuild runs no more builds at once in this account; waiting for a free slot`);
      await pacing.sleep(pacing.buildPollMs);
    }
  }
}

/** Prints each build's phases as they end, until every build is complete. */
async function watchBuilds(codeBuild: CodeBuildClient, started: Map<string, string>, report: Report, pacing: Pacing): Promise<BuildResult[]> {
  const printed = new Map<string, number>();
  const results = new Map<string, BuildResult>();
  for (;;) {
    const pending = [...started.keys()].filter((id) => !results.has(id));
    const answer = await codeBuild.send(new BatchGetBuildsCommand({ ids: pending }));
    for (const build of answer.builds ?? []) {
      const id = build.id ?? "";
      const version = started.get(id);
      if (version === undefined) continue;
      const phases = build.phases ?? [];
      const done = printed.get(id) ?? 0;
      for (const phase of phases.slice(done)) {
        if (phase.phaseStatus === undefined) break; // still running: printed when it ends
        const seconds = phase.durationInSeconds !== undefined ? ` (${phase.durationInSeconds} s)` : "";
        const why = phase.phaseStatus !== "SUCCEEDED" ? phaseReason(phase.contexts) : "";
        report(`  ${imageTag(version)}: ${phase.phaseType ?? "?"} ${phase.phaseStatus}${seconds}${why ? `: ${why}` : ""}`);
        printed.set(id, (printed.get(id) ?? 0) + 1);
      }
      if (build.buildComplete) {
        const result = buildResult(version, build);
        results.set(id, result);
        report(`  ${imageTag(version)}: build ${result.status}`);
      }
    }
    if (results.size === started.size) return [...started.keys()].map((id) => results.get(id)!);
    await pacing.sleep(pacing.buildPollMs);
  }
}

function phaseReason(contexts: readonly { message?: string; statusCode?: string }[] | undefined): string {
  const context = contexts?.find((entry) => entry.message);
  return context ? `${context.statusCode ? `${context.statusCode}: ` : ""}${context.message}` : "";
}

function buildResult(version: string, build: Build): BuildResult {
  const status = build.buildStatus ?? "UNKNOWN";
  const failedPhase = build.phases?.find((phase) => phase.phaseStatus !== undefined && phase.phaseStatus !== "SUCCEEDED");
  const reason = failedPhase ? `${failedPhase.phaseType ?? "?"} ${failedPhase.phaseStatus}${phaseReason(failedPhase.contexts) ? `: ${phaseReason(failedPhase.contexts)}` : ""}` : undefined;
  return {
    blenderVersion: version,
    buildId: build.id ?? "",
    status,
    ...(status !== "SUCCEEDED" && reason ? { reason } : {}),
    ...(build.logs?.deepLink ? { logs: build.logs.deepLink } : {}),
  };
}
