/**
 * The local record of a render submitted to AWS Batch, so `brender status`,
 * `logs`, `cancel`, `retry`, `download` and `link` know where it runs: one
 * JSON file per render, `$BRENDER_HOME/aws-renders/<renderId>.json`.
 *
 * AWS is the source of truth for the jobs' state; the record only keeps what
 * AWS cannot tell us back cheaply: which farm, region and profile, the
 * payload, where the project and outputs live, and the jobs' ids in plan order.
 */
import { randomBytes } from "node:crypto";
import { mkdir, readdir, readFile, rename, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { z } from "zod";
import { RENDER_ID_PATTERN } from "../../domain/ids.ts";
import { renderJobPayloadSchema } from "../../domain/render-payload.ts";
import { UserInputError } from "../../errors.ts";
import { JOB_ACTION_TYPES } from "../../domain/job-actions.ts";
import { QUEUE_KINDS } from "./farm-resources.ts";

/** s3://bucket or s3://bucket/prefix (bucket naming rules: 3-63 lower-case letters, digits, dots, hyphens). */
const S3_STORAGE = /^s3:\/\/[a-z0-9][a-z0-9.-]{1,61}[a-z0-9](\/.*)?$/;

export const RecordedJob = z.strictObject({
  name: z.string().min(1),
  action: z.enum(JOB_ACTION_TYPES),
  jobId: z.string().min(1),
  /** 1 for a single job, 2..10,000 for an array job. */
  arraySize: z.int().min(1).max(10_000),
});
export type RecordedJob = z.output<typeof RecordedJob>;

export const AwsRenderRecord = z
  .strictObject({
    renderId: z.string().regex(RENDER_ID_PATTERN),
    farm: z.string().min(1),
    region: z.string().min(1),
    profile: z.string().min(1).optional(),
    storage: z.string().regex(S3_STORAGE, "must look like s3://bucket or s3://bucket/prefix"),
    payload: renderJobPayloadSchema,
    /** Key of the project's manifest in the bucket (BUCKET_KEY of the copy job). */
    bucketKey: z.string().min(1),
    /** ISO 8601 time of submission. */
    submittedAt: z.iso.datetime({ offset: true }),
    /** In plan order: copy, render, upload. */
    jobs: z.array(RecordedJob).min(1),
    /** How the render was submitted (queue, sizes, limits, Blender), so `retry` submits it the same way. */
    submitOptions: z
      .strictObject({
        queue: z.enum(QUEUE_KINDS),
        resources: z.strictObject({ vcpus: z.int().min(1), memoryMiB: z.int().min(1), gpus: z.int().min(0) }),
        attempts: z.int().min(1).max(10),
        timeoutSeconds: z.int().min(60),
        blenderVersion: z.string().min(1),
        priority: z.int().optional(),
      })
      .optional(),
  })
  .refine((record) => record.payload.renderId === record.renderId, { message: "payload.renderId differs from renderId", path: ["payload"] });
export type AwsRenderRecord = z.output<typeof AwsRenderRecord>;

/** The folder holding the records. */
export function renderRecordsDir(home: string): string {
  return join(home, "aws-renders");
}

/** Where the record of `renderId` lives. Throws UserInputError when the id could not be a render id (it must not escape the folder). */
export function renderRecordPath(home: string, renderId: string): string {
  if (!RENDER_ID_PATTERN.test(renderId)) {
    throw new UserInputError(
      `Render id ${JSON.stringify(renderId)} is not valid: use 3 to 63 lower-case letters, digits or -, as 'brender jobs' shows them.`,
    );
  }
  return join(renderRecordsDir(home), `${renderId}.json`);
}

/**
 * Validates and writes a record, atomically (temp file + rename, so a reader
 * never sees half a record). Returns the file's path.
 */
export async function saveRenderRecord(home: string, record: AwsRenderRecord): Promise<string> {
  const checked = AwsRenderRecord.parse(record);
  const path = renderRecordPath(home, checked.renderId);
  await mkdir(renderRecordsDir(home), { recursive: true });
  const temp = `${path}.${process.pid}.${randomBytes(4).toString("hex")}.tmp`;
  try {
    await writeFile(temp, JSON.stringify(checked, null, 2) + "\n", { mode: 0o600 });
    await rename(temp, path);
  } catch (error) {
    await rm(temp, { force: true });
    throw error;
  }
  return path;
}

/** Reads the record of `renderId`. Throws UserInputError when there is none or it is unreadable. */
export async function loadRenderRecord(home: string, renderId: string): Promise<AwsRenderRecord> {
  const path = renderRecordPath(home, renderId);
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") {
      throw new UserInputError(`No AWS render "${renderId}" on this machine (no ${path}); 'brender jobs' lists them.`);
    }
    throw error;
  }
  return parseRecord(text, path);
}

/** Every readable record, newest submission first. Unreadable files are skipped so one bad file cannot hide the others. */
export async function listRenderRecords(home: string): Promise<AwsRenderRecord[]> {
  let names: string[];
  try {
    names = await readdir(renderRecordsDir(home));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return [];
    throw error;
  }
  const records: AwsRenderRecord[] = [];
  for (const name of names) {
    if (!name.endsWith(".json")) continue;
    const path = join(renderRecordsDir(home), name);
    try {
      records.push(parseRecord(await readFile(path, "utf8"), path));
    } catch {
      // A hand-edited or foreign file: loadRenderRecord names the problem when someone asks for it.
    }
  }
  return records.sort((a, b) => Date.parse(b.submittedAt) - Date.parse(a.submittedAt) || a.renderId.localeCompare(b.renderId));
}

/**
 * Finds the record of a render by its id or an unambiguous start of it, like
 * the local farm. Returns undefined when no AWS render matches (the caller may
 * then look in the local farm); throws UserInputError when several match.
 */
export async function findRenderRecord(home: string, idOrPrefix: string): Promise<AwsRenderRecord | undefined> {
  const records = await listRenderRecords(home);
  const exact = records.find((record) => record.renderId === idOrPrefix);
  if (exact !== undefined) return exact;
  const matches = records.filter((record) => record.renderId.startsWith(idOrPrefix));
  if (idOrPrefix === "" || matches.length === 0) return undefined;
  if (matches.length === 1) return matches[0];
  const shown = matches.slice(0, 3).map((record) => record.renderId).join(", ");
  throw new UserInputError(`"${idOrPrefix}" matches ${matches.length} AWS renders (${shown}${matches.length > 3 ? ", …" : ""}); give more of the id.`);
}

function parseRecord(text: string, path: string): AwsRenderRecord {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new UserInputError(`The AWS render record ${path} is not JSON: delete it, or restore it from a backup.`);
  }
  const parsed = AwsRenderRecord.safeParse(value);
  if (parsed.success) return parsed.data;
  const problems = parsed.error.issues.map((issue) => `${issue.path.join(".") || "record"}: ${issue.message}`).join("; ");
  throw new UserInputError(`The AWS render record ${path} is damaged (${problems}): delete it, or restore it from a backup.`);
}
