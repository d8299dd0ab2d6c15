import { UserInputError } from "../errors.ts";

/** A link that fetches an object without credentials, and when it stops working (none: as long as the object is there). */
export type ShareLink = { readonly url: string; readonly expiresAt?: Date };

/** One object in a listing. */
export type StoredObject = { readonly key: string; readonly size: number };

/** What was uploaded: size and SHA-256 (hex), computed while the bytes streamed. */
export type PutResult = { readonly key: string; readonly size: number; readonly sha256: string };

/** Options of a transfer: progress in bytes done so far, and cancellation. */
export type TransferOptions = {
  readonly onProgress?: (bytesDone: number) => void;
  readonly signal?: AbortSignal;
};

/** Options of a write: object tags (S3 object tagging; the filesystem store has none and ignores them). */
export type PutOptions = TransferOptions & { readonly tags?: Readonly<Record<string, string>> };

/**
 * The small object-store interface every job action uses. Keys are POSIX
 * paths without a leading slash ("proj/output/r1/frames/frame_0001.png").
 * Writes are all-or-nothing: a reader never sees half an object.
 */
export interface ObjectStore {
  /** Where a key lives, for people: a file path or an s3:// URL. */
  describe(key: string): string;
  putFile(key: string, sourcePath: string, options?: PutOptions): Promise<PutResult>;
  putBytes(key: string, data: string | Uint8Array, options?: Pick<PutOptions, "tags">): Promise<void>;
  /** Downloads to `destinationPath` (written atomically). */
  getFile(key: string, destinationPath: string, options?: TransferOptions): Promise<void>;
  /**
   * A store on this machine's disk: makes the object appear at
   * `destinationPath` without copying its bytes where it can (a hard link of
   * the stored file; a copy across file systems). The destination then shares
   * the store's bytes, so it must never be written to in place.
   */
  linkFile?(key: string, destinationPath: string): Promise<"linked" | "copied">;
  getBytes(key: string): Promise<Buffer>;
  /** Size of the object, or undefined when there is none. */
  stat(key: string): Promise<StoredObject | undefined>;
  /** Every object whose key starts with `prefix`, in key order, however many there are. */
  list(prefix: string): AsyncIterable<StoredObject>;
  delete(key: string): Promise<void>;
  /**
   * A link that fetches the object without credentials for `expiresSeconds` (presigned on S3, file:// locally),
   * with the time it really stops working: on S3 the signing credentials' own expiry when that comes first.
   */
  linkFor(key: string, expiresSeconds: number): Promise<ShareLink>;
}

const UNSAFE_SEGMENT = /^(|\.|\.\.)$/;

/**
 * Checks a key (or, with `allowTrailingSlash`, a prefix) so that no key can
 * name something outside the store: no absolute path, no "." or ".." segment,
 * no empty segment, no backslash or NUL.
 */
export function assertValidKey(key: string, { allowTrailingSlash = false } = {}): void {
  const body = allowTrailingSlash && key.endsWith("/") ? key.slice(0, -1) : key;
  const problem =
    key.length === 0 ? "is empty"
    : key.startsWith("/") ? "starts with '/'"
    : /[\\\0]/.test(key) ? "contains a backslash or NUL character"
    : body.split("/").some((segment) => UNSAFE_SEGMENT.test(segment)) ? "has an empty, '.' or '..' path segment"
    : undefined;
  if (problem) {
    throw new UserInputError(`Object key "${key}" ${problem}; use a relative path like "project/scene.blend".`);
  }
}

/** Joins key segments with "/" (no normalisation: validate the result). */
export function joinKey(...parts: string[]): string {
  return parts
    .filter((part) => part.length > 0)
    .map((part, index) => (index === 0 ? part.replace(/\/+$/, "") : part.replace(/^\/+|\/+$/g, "")))
    .join("/");
}
