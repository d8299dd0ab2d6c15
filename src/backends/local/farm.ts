import { availableParallelism } from "node:os";
import { join } from "node:path";
import { brenderPaths, type BrenderPaths } from "../../config.ts";
import { compileRenderPlan } from "../../domain/render-plan.ts";
import type { RenderJobPayload } from "../../domain/render-payload.ts";
import { uploadProject, type UploadProgress, type UploadSource } from "../../storage/content-upload.ts";
import { HashCache, hashCachePath } from "../../storage/hash-cache.ts";
import type { ObjectStore } from "../../storage/object-store.ts";
import { openObjectStore } from "../../storage/open-store.ts";
import { manifestKeyFor } from "../../storage/project-manifest.ts";
import type { PackingReport } from "../../packing/pack.ts";
import { openJobStore, type JobStore, type JobView } from "./job-store.ts";

/** Job definitions of the local farm: renders take the whole machine, copy and upload one core. */
export const RENDER_DEFINITION = "brender-render";
export const IO_DEFINITION = "brender-io";

/** The local farm: the SQLite job store, the object store and the folders, all under BRENDER_HOME. */
export type LocalFarm = {
  readonly paths: BrenderPaths;
  readonly jobs: JobStore;
  /** The object store new renders use (BRENDER_STORAGE, or $BRENDER_HOME/bucket). */
  readonly objects: ObjectStore;
  /** BRENDER_STORAGE as configured, written into every job so any runner uses the same store. */
  readonly storage: string | undefined;
  readonly logDir: string;
  close(): void;
};

/** `readOnlyWhenFull`: the caller only reads, so a full disk should not stop it (see openJobStore). */
export function openLocalFarm(env: NodeJS.ProcessEnv = process.env, options: { readonly readOnlyWhenFull?: boolean } = {}): LocalFarm {
  const paths = brenderPaths(env);
  const logDir = join(paths.home, "logs");
  const objects = openObjectStore(env);
  const jobs = openJobStore(join(paths.home, "farm.sqlite"), { logDir, readOnlyWhenFull: options.readOnlyWhenFull });
  ensureDefinitions(jobs);
  return { paths, jobs, objects, storage: env.BRENDER_STORAGE?.trim() || undefined, logDir, close: () => jobs.close() };
}

/** The object store an existing render used: the one written into its jobs, whatever is configured now. */
export function renderObjects(farm: LocalFarm, renderId: string): ObjectStore {
  const storage = renderJobs(farm, renderId)[0]?.environment.BRENDER_STORAGE;
  if (storage === farm.storage) return farm.objects;
  return openObjectStore({ ...process.env, BRENDER_STORAGE: storage ?? "", BRENDER_HOME: farm.paths.home });
}

function ensureDefinitions(jobs: JobStore): void {
  const existing = new Set(jobs.listJobDefinitions().map((definition) => definition.name));
  const cores = jobs.getComputeEnvironment()?.maxVcpus ?? availableParallelism();
  if (!existing.has(RENDER_DEFINITION)) jobs.registerJobDefinition({ name: RENDER_DEFINITION, vcpus: cores, memoryMiB: 4096 });
  if (!existing.has(IO_DEFINITION)) jobs.registerJobDefinition({ name: IO_DEFINITION, vcpus: 1, memoryMiB: 1024 });
}

/** What the user points Brender at: one .blend, or a project folder (and the files packing adds). */
export type ProjectSource = UploadSource;

export type RenderJobOptions = {
  readonly attempts?: number;
  readonly timeoutSeconds?: number;
  readonly priority?: number;
  /** The Blender the render job runs (its BLENDER_EXECUTABLE); default: the runner's. */
  readonly blenderExecutable?: string;
  /** Progress of the project upload (bytes of unchanged files count as done at once). */
  readonly onUploadProgress?: (progress: UploadProgress) => void;
};

/** What the project upload did: only content the store lacked was uploaded. */
export type ProjectUploadSummary = {
  readonly files: number;
  readonly bytesUploaded: number;
  readonly bytesSkipped: number;
  /** What packing traced and added (see src/packing/pack.ts). */
  readonly dependencies?: PackingReport;
};

/**
 * Puts the project into the object store (content-addressed: unchanged files
 * are not uploaded again) and submits the render's three jobs. The upload job
 * runs even when the render fails, so the user always gets the outputs that
 * exist and a report. Nothing is submitted when the upload fails.
 */
export async function submitRender(
  farm: LocalFarm,
  payload: RenderJobPayload,
  project: ProjectSource,
  options: RenderJobOptions = {},
): Promise<{ readonly bucketKey: string; readonly jobIds: readonly string[]; readonly upload: ProjectUploadSummary }> {
  const { manifestKey, files, bytesUploaded, bytesSkipped } = await uploadProjectOf(farm, payload, project, options.onUploadProgress);
  return { bucketKey: manifestKey, jobIds: submitPlanFor(farm, payload, manifestKey, options), upload: { files, bytesUploaded, bytesSkipped } };
}

/** Submits the plan again for a project already in the store (retry). */
export function submitPlanFor(farm: LocalFarm, payload: RenderJobPayload, bucketKey: string, options: RenderJobOptions = {}): string[] {
  // On S3 the jobs also get the seed's BUCKET_NAME, as on AWS.
  const bucketName = farm.storage?.startsWith("s3://") ? farm.storage.slice(5).split("/")[0] : undefined;
  const plan = compileRenderPlan(payload, { bucketKey, storage: farm.storage, ...(bucketName ? { bucketName } : {}) });
  const [copy, render, upload] = plan;
  // The Blender chosen for the file travels with the render job, as a job definition's image does on AWS.
  const jobs = options.blenderExecutable
    ? plan.map((job) => (job === render ? { ...job, environment: { ...job.environment, BLENDER_EXECUTABLE: options.blenderExecutable! } } : job))
    : plan;
  return farm.jobs.submitPlan(jobs, {
    renderId: payload.renderId,
    render: { project: payload.project.name, settings: JSON.stringify(payload) },
    priority: options.priority,
    tags: { project: payload.project.name },
    jobs: {
      [copy!.name]: { definition: IO_DEFINITION },
      [render!.name]: { definition: RENDER_DEFINITION, attempts: options.attempts, timeoutSeconds: options.timeoutSeconds },
      [upload!.name]: { definition: IO_DEFINITION, runOnDependencyFailure: true },
    },
  });
}

async function uploadProjectOf(farm: LocalFarm, payload: RenderJobPayload, project: ProjectSource, onProgress?: (progress: UploadProgress) => void) {
  const hashCache = await HashCache.open(hashCachePath(farm.paths.home));
  return uploadProject(farm.objects, project, manifestKeyFor(payload.project.name, payload.renderId), { hashCache, onProgress });
}

/** The jobs of a render's newest submission (a retry submits the plan again), in plan order: from its record, else (jobs submitted without one) from its jobs. */
export function renderJobs(farm: LocalFarm, renderId: string): JobView[] {
  const record = farm.jobs.renders.get(renderId);
  if (record) return record.jobIds.map((id) => farm.jobs.getJob(id)).filter((job): job is JobView => job !== undefined);
  const all = farm.jobs.listJobs({ renderId, limit: 1000 });
  if (all.length === 0) return [];
  const newest = Math.max(...all.filter((job) => job.action === "copy_efs").map((job) => job.createdAt));
  const order = ["copy_efs", "render", "custom_render_python", "upload_render_output"];
  return all.filter((job) => job.createdAt >= newest).sort((a, b) => order.indexOf(a.action) - order.indexOf(b.action));
}
