import { createReadStream, createWriteStream } from "node:fs";
import { mkdir, open, readFile, rename, rm, stat, writeFile } from "node:fs/promises";
import type { FileHandle } from "node:fs/promises";
import { dirname } from "node:path";
import { createHash, randomBytes } from "node:crypto";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import {
  DeleteObjectCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  type S3ClientConfig,
} from "@aws-sdk/client-s3";
import { Upload } from "@aws-sdk/lib-storage";
import { getSignedUrl } from "@aws-sdk/s3-request-presigner";
import { UserInputError } from "../errors.ts";
import { countBytes } from "./progress.ts";
import { assertValidKey, type ObjectStore, type PutOptions, type PutResult, type ShareLink, type StoredObject, type TransferOptions } from "./object-store.ts";
import { explainS3Error, ObjectNotFoundError, type S3Place } from "./s3-errors.ts";

const MiB = 1024 * 1024;
/** Parts of 8 MiB, 4 in flight: 32 MiB of buffers at most, and well past S3's 5 MiB minimum part size. */
const DEFAULT_PART_SIZE = 8 * MiB;
const DEFAULT_CONCURRENCY = 4;
/** Objects up to this size are fetched with one GET; bigger ones in parallel ranges, resumable. */
const DEFAULT_RANGED_THRESHOLD = 16 * MiB;
/** Presigned links: S3 (SigV4) allows at most 7 days; less than 5 minutes is too short to be useful. */
export const MIN_LINK_SECONDS = 300;
export const MAX_LINK_SECONDS = 604_800;
/** Times a download restarts from scratch when the object changes under it. */
const MAX_RESTARTS = 2;

/**
 * Static credentials (with the expiry of temporary ones); omitted, the standard AWS chain (environment,
 * AWS_PROFILE, SSO, instance role…) is used.
 */
export type S3Credentials = {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly sessionToken?: string;
  readonly expiration?: Date;
};

export type S3StoreOptions = {
  readonly bucket: string;
  /** Key prefix inside the bucket ("team/renders"); keys of the store are relative to it. */
  readonly prefix?: string;
  readonly region?: string;
  /** An S3-compatible server (MinIO, a test server…): path-style addressing is used for it. */
  readonly endpoint?: string;
  readonly credentials?: S3Credentials;
  /** A named profile of ~/.aws/config to take credentials and region from. */
  readonly profile?: string;
  /** Part size of multipart uploads and ranged downloads (at least 5 MiB). */
  readonly partSize?: number;
  /** Parts in flight at once. */
  readonly concurrency?: number;
  /** Objects bigger than this are downloaded in parallel, resumable ranges. */
  readonly rangedDownloadThreshold?: number;
};

/** What a resumable download records beside its `.partial` file, so a later getFile continues it. */
type DownloadJournal = {
  readonly format: "brender-s3-download/1";
  readonly source: string;
  readonly etag: string;
  readonly size: number;
  readonly partSize: number;
  readonly done: number[];
};

/** A resumable download's destination, its `.partial` bytes and its `.partial.json` journal. */
type DownloadFiles = { readonly destination: string; readonly partial: string; readonly journal: string };

const BUCKET_NAME = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;

/**
 * Parses `s3://bucket[/prefix]` as given in --storage or BRENDER_STORAGE.
 * Throws UserInputError for a malformed bucket name or prefix.
 */
export function parseS3Url(url: string): { bucket: string; prefix: string } {
  const match = /^s3:\/\/([^/]*)\/?(.*)$/i.exec(url.trim());
  if (!match) throw new UserInputError(`"${url}" is not an S3 location; use s3://bucket or s3://bucket/prefix.`);
  const bucket = match[1]!;
  if (!BUCKET_NAME.test(bucket) || bucket.includes("..")) {
    throw new UserInputError(
      `"${url}" names an invalid S3 bucket "${bucket}"; bucket names are 3-63 lowercase letters, digits, '.' or '-'.`,
    );
  }
  const prefix = match[2]!.replace(/\/+$/, "");
  if (prefix !== "") assertValidKey(prefix);
  return { bucket, prefix };
}

/** A Content-Type for the files Brender stores, so presigned links display in a browser. */
function contentTypeOf(key: string): string | undefined {
  const extension = key.slice(key.lastIndexOf(".") + 1).toLowerCase();
  const types: Record<string, string> = {
    png: "image/png", jpg: "image/jpeg", jpeg: "image/jpeg", webp: "image/webp", tif: "image/tiff", tiff: "image/tiff",
    exr: "image/x-exr", mp4: "video/mp4", mov: "video/quicktime", webm: "video/webm", mkv: "video/x-matroska",
    zip: "application/zip", json: "application/json", txt: "text/plain; charset=utf-8", log: "text/plain; charset=utf-8",
  };
  return types[extension];
}

/**
 * The object store on Amazon S3 or any S3-compatible server. Keys are
 * relative to the prefix. Uploads are multipart with parts in parallel;
 * big downloads are parallel ranged GETs into a `.partial` file that a later
 * getFile resumes. S3 makes an object visible only once PutObject or
 * CompleteMultipartUpload succeeds, so no reader sees half an object.
 */
export class S3ObjectStore implements ObjectStore {
  readonly bucket: string;
  readonly prefix: string;
  readonly endpoint: string | undefined;
  /** The SDK client, exposed for diagnostics and tests (middleware). */
  readonly client: S3Client;
  private readonly partSize: number;
  private readonly concurrency: number;
  private readonly rangedThreshold: number;
  private readonly profile: string | undefined;

  constructor(options: S3StoreOptions) {
    this.bucket = options.bucket;
    this.prefix = (options.prefix ?? "").replace(/^\/+|\/+$/g, "");
    if (this.prefix !== "") assertValidKey(this.prefix);
    this.endpoint = options.endpoint?.replace(/\/+$/, "");
    this.partSize = Math.max(options.partSize ?? DEFAULT_PART_SIZE, 5 * MiB);
    this.concurrency = Math.max(1, options.concurrency ?? DEFAULT_CONCURRENCY);
    this.rangedThreshold = options.rangedDownloadThreshold ?? DEFAULT_RANGED_THRESHOLD;
    // The SDK reads AWS_PROFILE itself; remembered only to name it in messages.
    this.profile = options.credentials ? undefined : options.profile ?? (process.env.AWS_PROFILE?.trim() || undefined);
    const config: S3ClientConfig = {
      // A custom endpoint has no notion of region, but SigV4 needs one.
      region: options.region ?? (this.endpoint ? "us-east-1" : undefined),
      followRegionRedirects: true,
    };
    if (options.credentials) config.credentials = options.credentials;
    if (options.profile) config.profile = options.profile;
    if (this.endpoint) {
      config.endpoint = this.endpoint;
      // S3-compatible servers rarely have per-bucket DNS names.
      config.forcePathStyle = true;
      // Some servers (s3rver, older MinIO) mishandle the SDK's default streaming checksums.
      config.requestChecksumCalculation = "WHEN_REQUIRED";
      config.responseChecksumValidation = "WHEN_REQUIRED";
    }
    this.client = new S3Client(config);
  }

  /**
   * The store for `s3://bucket[/prefix]` configured from the environment:
   * AWS_ENDPOINT_URL_S3 or AWS_ENDPOINT_URL for S3-compatible servers,
   * AWS_REGION / AWS_DEFAULT_REGION, AWS_PROFILE, and static keys when the
   * given environment has them; otherwise the SDK's standard credential chain.
   */
  static fromEnvironment(url: string, env: NodeJS.ProcessEnv = process.env, tuning: Partial<S3StoreOptions> = {}): S3ObjectStore {
    const { bucket, prefix } = parseS3Url(url);
    const endpoint = env.AWS_ENDPOINT_URL_S3?.trim() || env.AWS_ENDPOINT_URL?.trim() || undefined;
    if (endpoint && !/^https?:\/\/[^/]/i.test(endpoint)) {
      throw new UserInputError(`AWS_ENDPOINT_URL_S3="${endpoint}" is not an http(s) URL; use e.g. http://127.0.0.1:9000.`);
    }
    const region = env.AWS_REGION?.trim() || env.AWS_DEFAULT_REGION?.trim() || undefined;
    const accessKeyId = env.AWS_ACCESS_KEY_ID?.trim();
    const secretAccessKey = env.AWS_SECRET_ACCESS_KEY?.trim();
    // AWS_CREDENTIAL_EXPIRATION is how SSO and assume-role tools hand the expiry of session keys to the SDK.
    const expiration = env.AWS_CREDENTIAL_EXPIRATION?.trim() ? new Date(env.AWS_CREDENTIAL_EXPIRATION.trim()) : undefined;
    const credentials =
      accessKeyId && secretAccessKey
        ? {
            accessKeyId,
            secretAccessKey,
            ...(env.AWS_SESSION_TOKEN ? { sessionToken: env.AWS_SESSION_TOKEN } : {}),
            ...(expiration && !Number.isNaN(expiration.getTime()) ? { expiration } : {}),
          }
        : undefined;
    const profile = env.AWS_PROFILE?.trim() || undefined;
    return new S3ObjectStore({
      ...tuning,
      bucket,
      prefix,
      ...(endpoint ? { endpoint } : {}),
      ...(region ? { region } : {}),
      ...(credentials ? { credentials } : {}),
      ...(profile && !credentials ? { profile } : {}),
    });
  }

  describe(key: string): string {
    assertValidKey(key, { allowTrailingSlash: true });
    return `s3://${this.bucket}/${this.keyOf(key, true)}`;
  }

  /** HeadBucket: throws the one-line UserInputError when the bucket is missing, refused or unreachable. */
  async checkAccess(): Promise<void> {
    await this.call("HeadBucket", undefined, () => this.client.send(new HeadBucketCommand({ Bucket: this.bucket })));
  }

  async putFile(key: string, sourcePath: string, options: PutOptions = {}): Promise<PutResult> {
    const fullKey = this.keyOf(key);
    options.signal?.throwIfAborted();
    const size = (await stat(sourcePath)).size;
    const hash = createHash("sha256");
    let hashed = 0;
    // Aborting destroys the source stream: lib-storage then waits for the parts
    // in flight and aborts the multipart upload before done() rejects, so no
    // parts linger and nothing is visible under the key.
    const source = createReadStream(sourcePath, options.signal ? { signal: options.signal } : {});
    const body = Readable.from(
      (async function* () {
        for await (const chunk of source as AsyncIterable<Buffer>) {
          hash.update(chunk);
          hashed += chunk.length;
          yield chunk;
        }
      })(),
    );
    const upload = new Upload({
      client: this.client,
      params: { Bucket: this.bucket, Key: fullKey, Body: body, ContentType: contentTypeOf(key) },
      ...(options.tags ? { tags: Object.entries(options.tags).map(([Key, Value]) => ({ Key, Value })) } : {}),
      partSize: this.partSize,
      queueSize: this.concurrency,
      leavePartsOnError: false,
    });
    let reported = 0;
    upload.on("httpUploadProgress", (progress) => {
      const loaded = Math.min(progress.loaded ?? 0, size);
      if (loaded > reported) {
        reported = loaded;
        options.onProgress?.(loaded);
      }
    });
    try {
      await this.call("PutObject", key, () => upload.done());
    } finally {
      source.destroy();
    }
    if (hashed !== size) {
      // The file changed while it was read: what was stored matches neither version, so remove it.
      await this.delete(key);
      throw new Error(`"${sourcePath}" changed size while uploading to ${this.describe(key)} (${size} -> ${hashed} bytes); upload it again.`);
    }
    if (reported < size || size === 0) options.onProgress?.(size);
    return { key, size, sha256: hash.digest("hex") };
  }

  async putBytes(key: string, data: string | Uint8Array, options: Pick<PutOptions, "tags"> = {}): Promise<void> {
    const fullKey = this.keyOf(key);
    const body = typeof data === "string" ? Buffer.from(data) : data;
    const tagging = options.tags ? new URLSearchParams(Object.entries(options.tags)).toString() : undefined;
    await this.call("PutObject", key, () =>
      this.client.send(
        new PutObjectCommand({
          Bucket: this.bucket, Key: fullKey, Body: body, ContentLength: body.length, ContentType: contentTypeOf(key),
          ...(tagging ? { Tagging: tagging } : {}),
        }),
      ),
    );
  }

  /**
   * Downloads into `destinationPath`, atomically: the bytes go to
   * `<destination>.partial` and are renamed into place when whole. Objects
   * above the ranged threshold are fetched as parallel ranges pinned to the
   * object's ETag (If-Match); `<destination>.partial.json` records the ETag,
   * size, part size and the parts written (after each part is synced to
   * disk), so after an interruption a later getFile of the same key fetches
   * only the missing parts. A changed object (other ETag or size) discards
   * the partial download and starts again.
   */
  async getFile(key: string, destinationPath: string, options: TransferOptions = {}): Promise<void> {
    const fullKey = this.keyOf(key);
    options.signal?.throwIfAborted();
    await mkdir(dirname(destinationPath), { recursive: true });
    const files = { destination: destinationPath, partial: `${destinationPath}.partial`, journal: `${destinationPath}.partial.json` };
    for (let restart = 0; ; restart++) {
      try {
        const journal = await readJournal(files.journal);
        if (journal) {
          const head = await this.call("HeadObject", key, () =>
            this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: fullKey }), { abortSignal: options.signal }),
          ).catch(async (error: unknown) => {
            if (error instanceof ObjectNotFoundError) await discard(files);
            throw error;
          });
          await this.downloadRanged(key, files, { etag: head.ETag ?? "", size: head.ContentLength ?? 0 }, journal, options);
          break;
        }
        const response = await this.call("GetObject", key, () =>
          this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: fullKey }), { abortSignal: options.signal }),
        );
        const body = response.Body as unknown as Readable;
        const size = response.ContentLength ?? 0;
        if (size > this.rangedThreshold && response.ETag) {
          body.destroy();
          await this.downloadRanged(key, files, { etag: response.ETag, size }, undefined, options);
        } else {
          await this.downloadWhole(body, destinationPath, options);
        }
        break;
      } catch (error) {
        if (!isPreconditionFailed(error) || restart >= MAX_RESTARTS) throw explainS3Error(error, this.place(key), "GetObject");
        // The object was replaced mid-download: what was fetched belongs to the old one.
        await discard(files);
      }
    }
  }

  async getBytes(key: string): Promise<Buffer> {
    const fullKey = this.keyOf(key);
    const response = await this.call("GetObject", key, () => this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: fullKey })));
    return Buffer.from(await response.Body!.transformToByteArray());
  }

  async stat(key: string): Promise<StoredObject | undefined> {
    const fullKey = this.keyOf(key);
    try {
      const head = await this.call("HeadObject", key, () => this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: fullKey })));
      return { key, size: head.ContentLength ?? 0 };
    } catch (error) {
      if (error instanceof ObjectNotFoundError) return undefined;
      throw error;
    }
  }

  async *list(prefix: string): AsyncIterable<StoredObject> {
    if (prefix !== "") assertValidKey(prefix, { allowTrailingSlash: true });
    const base = this.prefix === "" ? "" : `${this.prefix}/`;
    let continuationToken: string | undefined;
    do {
      const page = await this.call("ListObjectsV2", undefined, () =>
        this.client.send(
          new ListObjectsV2Command({ Bucket: this.bucket, Prefix: base + prefix, ContinuationToken: continuationToken }),
        ),
      );
      for (const object of page.Contents ?? []) {
        if (object.Key === undefined || !object.Key.startsWith(base)) continue;
        yield { key: object.Key.slice(base.length), size: object.Size ?? 0 };
      }
      continuationToken = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (continuationToken);
  }

  async delete(key: string): Promise<void> {
    const fullKey = this.keyOf(key);
    await this.call("DeleteObject", key, () => this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: fullKey })));
  }

  /**
   * A presigned GET URL, asked for 5 minutes to 7 days (SigV4's limit). S3 refuses a presigned URL once the
   * credentials that signed it expire, so with temporary credentials (SSO, a role, a Batch job) the link
   * lives until the earlier of the two, and says so: `expiresAt`, and X-Amz-Expires shortened to match.
   * Signing is local: it does not check the object exists.
   */
  async linkFor(key: string, expiresSeconds: number): Promise<ShareLink> {
    checkLinkSeconds(expiresSeconds);
    const command = new GetObjectCommand({ Bucket: this.bucket, Key: this.keyOf(key) });
    return this.call("GetObject", key, async () => {
      const now = Date.now();
      const credentialsExpire = (await this.client.config.credentials()).expiration;
      const requested = new Date(now + expiresSeconds * 1000);
      const expiresAt = credentialsExpire !== undefined && credentialsExpire < requested ? credentialsExpire : requested;
      const lifetime = Math.max(1, Math.floor((expiresAt.getTime() - now) / 1000));
      return { url: await getSignedUrl(this.client, command, { expiresIn: lifetime }), expiresAt };
    });
  }

  /** The bucket key of a store key (with the store's prefix): what a CloudFront URL in front of the bucket names. */
  bucketKey(key: string): string {
    return this.keyOf(key);
  }

  /** The bucket key of a store key (validated), with the prefix. */
  private keyOf(key: string, allowTrailingSlash = false): string {
    assertValidKey(key, { allowTrailingSlash });
    return this.prefix === "" ? key : `${this.prefix}/${key}`;
  }

  private place(key: string | undefined): S3Place {
    return {
      bucket: this.bucket,
      endpoint: this.endpoint,
      ...(key === undefined ? {} : { object: this.describe(key) }),
      ...(this.profile ? { profile: this.profile } : {}),
    };
  }

  /** Runs one S3 call and explains its failure in one line. */
  private async call<T>(operation: string, key: string | undefined, run: () => Promise<T>): Promise<T> {
    try {
      return await run();
    } catch (error) {
      throw explainS3Error(error, this.place(key), operation);
    }
  }

  /** One streamed GET into a uniquely named temp file, renamed into place when whole. */
  private async downloadWhole(body: Readable, destinationPath: string, options: TransferOptions): Promise<void> {
    const temp = `${destinationPath}.${randomBytes(4).toString("hex")}.partial`;
    let done = 0;
    const progress = (bytes: number) => {
      done = bytes;
      options.onProgress?.(bytes);
    };
    try {
      await pipeline(body, countBytes(progress), createWriteStream(temp), options.signal ? { signal: options.signal } : {});
      if (done === 0) options.onProgress?.(0);
      await rename(temp, destinationPath);
    } catch (error) {
      await rm(temp, { force: true });
      throw error;
    }
  }

  private async downloadRanged(
    key: string,
    files: DownloadFiles,
    object: { etag: string; size: number },
    previous: DownloadJournal | undefined,
    options: TransferOptions,
  ): Promise<void> {
    const source = this.describe(key);
    const resumable =
      previous !== undefined &&
      previous.source === source &&
      previous.etag === object.etag &&
      previous.size === object.size &&
      previous.partSize === this.partSize &&
      (await fileSize(files.partial)) === object.size;
    const done = new Set(resumable ? previous.done : []);
    if (!resumable) {
      await discard(files);
      const created = await open(files.partial, "w");
      await created.truncate(object.size).finally(() => created.close());
    }
    const journal = (): DownloadJournal => ({
      format: "brender-s3-download/1",
      source,
      etag: object.etag,
      size: object.size,
      partSize: this.partSize,
      done: [...done].sort((a, b) => a - b),
    });
    let journalWrites: Promise<void> = writeJournal(files.journal, journal());
    const partCount = Math.ceil(object.size / this.partSize);
    const pending: number[] = [];
    for (let part = 0; part < partCount; part++) if (!done.has(part)) pending.push(part);
    const partLength = (part: number) => Math.min(this.partSize, object.size - part * this.partSize);
    let bytesDone = [...done].reduce((sum, part) => sum + partLength(part), 0);
    options.onProgress?.(bytesDone);

    // One failing part stops the others; the caller's signal stops them all.
    const stop = new AbortController();
    const signal = options.signal ? AbortSignal.any([options.signal, stop.signal]) : stop.signal;
    const handle = await open(files.partial, "r+");
    const fetchPart = async (part: number): Promise<void> => {
      const start = part * this.partSize;
      const end = start + partLength(part) - 1;
      const response = await this.client.send(
        new GetObjectCommand({ Bucket: this.bucket, Key: this.keyOf(key), Range: `bytes=${start}-${end}`, IfMatch: object.etag }),
        { abortSignal: signal },
      );
      const body = response.Body as unknown as Readable;
      const onAbort = () => body.destroy(signal.reason);
      signal.addEventListener("abort", onAbort, { once: true });
      try {
        let position = start;
        for await (const chunk of body as AsyncIterable<Buffer>) {
          await writeAll(handle, chunk, position);
          position += chunk.length;
          bytesDone += chunk.length;
          options.onProgress?.(bytesDone);
        }
        if (position !== end + 1) throw new Error(`S3 returned ${position - start} bytes for part ${part + 1} of ${source}, expected ${end - start + 1}.`);
      } finally {
        signal.removeEventListener("abort", onAbort);
      }
      await handle.datasync();
      done.add(part);
      journalWrites = journalWrites.then(() => writeJournal(files.journal, journal()));
      await journalWrites;
    };
    const failures: unknown[] = [];
    const worker = async () => {
      for (let part = pending.shift(); part !== undefined && !signal.aborted; part = pending.shift()) {
        try {
          await fetchPart(part);
        } catch (error) {
          failures.push(error);
          stop.abort(error);
        }
      }
    };
    try {
      await Promise.all(Array.from({ length: Math.min(this.concurrency, pending.length) }, worker));
      await journalWrites;
    } finally {
      await handle.close();
    }
    if (failures.length > 0) throw failures[0];
    options.signal?.throwIfAborted();
    await rename(files.partial, files.destination);
    await rm(files.journal, { force: true });
  }
}

/** Throws UserInputError unless `seconds` is a whole number from 5 minutes to 7 days. */
export function checkLinkSeconds(seconds: number): void {
  if (!Number.isInteger(seconds) || seconds < MIN_LINK_SECONDS || seconds > MAX_LINK_SECONDS) {
    throw new UserInputError(
      `Link expiry of ${seconds} seconds is out of range; use 5 minutes to 7 days (${MIN_LINK_SECONDS} to ${MAX_LINK_SECONDS} seconds).`,
    );
  }
}

async function writeAll(handle: FileHandle, chunk: Buffer, position: number): Promise<void> {
  let written = 0;
  while (written < chunk.length) {
    const { bytesWritten } = await handle.write(chunk, written, chunk.length - written, position + written);
    written += bytesWritten;
  }
}

async function fileSize(path: string): Promise<number | undefined> {
  try {
    return (await stat(path)).size;
  } catch {
    return undefined;
  }
}

async function readJournal(path: string): Promise<DownloadJournal | undefined> {
  try {
    const parsed = JSON.parse(await readFile(path, "utf8")) as Partial<DownloadJournal>;
    const valid =
      parsed.format === "brender-s3-download/1" &&
      typeof parsed.source === "string" &&
      typeof parsed.etag === "string" &&
      Number.isSafeInteger(parsed.size) &&
      Number.isSafeInteger(parsed.partSize) &&
      Array.isArray(parsed.done) &&
      parsed.done.every((part) => Number.isSafeInteger(part) && part >= 0);
    return valid ? (parsed as DownloadJournal) : undefined;
  } catch {
    // No journal, or a torn one: either way start the download afresh.
    return undefined;
  }
}

async function writeJournal(path: string, journal: DownloadJournal): Promise<void> {
  const temp = `${path}.${randomBytes(4).toString("hex")}`;
  await writeFile(temp, JSON.stringify(journal));
  await rename(temp, path);
}

async function discard(files: DownloadFiles): Promise<void> {
  await rm(files.journal, { force: true });
  await rm(files.partial, { force: true });
}

function isPreconditionFailed(error: unknown): boolean {
  const failure = error as { name?: string; Code?: string; $metadata?: { httpStatusCode?: number } } | undefined;
  return failure?.name === "PreconditionFailed" || failure?.Code === "PreconditionFailed" || failure?.$metadata?.httpStatusCode === 412;
}

/**
 * Checks, before anything is submitted, that the store can be written: for
 * S3 a HeadBucket, which throws the one-line UserInputError for a missing
 * bucket, refused or missing credentials, or an unreachable endpoint. Other
 * stores need no check.
 */
export async function checkBucketAccess(store: ObjectStore): Promise<void> {
  if (store instanceof S3ObjectStore) await store.checkAccess();
}
