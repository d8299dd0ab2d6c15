import { UserInputError } from "../errors.ts";

/** Where an S3 call went: enough to name the bucket, the endpoint and the object in a message. */
export type S3Place = {
  readonly bucket: string;
  /** The custom endpoint URL, or undefined for AWS itself. */
  readonly endpoint: string | undefined;
  /** The s3:// URL of the object concerned, when there is one. */
  readonly object?: string;
  /** The AWS profile credentials come from, when one is named. */
  readonly profile?: string;
};

/**
 * A key with no object behind it. Carries `code: "ENOENT"` like the file
 * system store's error, so callers can treat both stores alike.
 */
export class ObjectNotFoundError extends Error {
  readonly code = "ENOENT";
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "ObjectNotFoundError";
  }
}

const CREDENTIALS_REFUSED = new Set([
  "InvalidAccessKeyId",
  "SignatureDoesNotMatch",
  "ExpiredToken",
  "InvalidToken",
  "TokenRefreshRequired",
  "InvalidClientTokenId",
  "UnrecognizedClientException",
]);

const NETWORK_PROBLEMS: Record<string, string> = {
  ECONNREFUSED: "connection refused",
  ENOTFOUND: "host not found",
  EAI_AGAIN: "host name lookup failed",
  ETIMEDOUT: "connection timed out",
  ECONNRESET: "connection reset",
  EHOSTUNREACH: "host unreachable",
  ENETUNREACH: "network unreachable",
  EPROTO: "TLS handshake failed",
};

type ErrorLike = {
  name?: unknown;
  code?: unknown;
  Code?: unknown;
  message?: unknown;
  errors?: unknown;
  cause?: unknown;
  $metadata?: { httpStatusCode?: number };
};

/** The endpoint as people know it: the custom URL, or "AWS S3". */
export function endpointLabel(place: S3Place): string {
  return place.endpoint ?? "AWS S3";
}

/** The Node network error code (ECONNREFUSED…) anywhere in an error, its causes or an AggregateError's parts. */
function networkCode(error: unknown, depth = 0): string | undefined {
  if (typeof error !== "object" || error === null || depth > 4) return undefined;
  const candidate = error as ErrorLike;
  if (typeof candidate.code === "string" && candidate.code in NETWORK_PROBLEMS) return candidate.code;
  if (Array.isArray(candidate.errors)) {
    for (const inner of candidate.errors) {
      const found = networkCode(inner, depth + 1);
      if (found) return found;
    }
  }
  return networkCode(candidate.cause, depth + 1);
}

/** The first line of an SDK message (some span several lines), trimmed. */
function firstLine(message: unknown): string {
  return String(message ?? "").split("\n")[0]!.trim();
}

/**
 * Turns an error from the AWS SDK into one a user can act on: a
 * UserInputError (exit 2) for configuration problems (missing bucket, refused
 * or missing credentials, unreachable endpoint, no region), an
 * ObjectNotFoundError for a missing key, and the error itself otherwise.
 * `operation` is the S3 call's name; HEAD responses carry no error code, so
 * it tells what a bare 404 means.
 */
export function explainS3Error(error: unknown, place: S3Place, operation: string): unknown {
  if (typeof error !== "object" || error === null) return error;
  const failure = error as ErrorLike;
  const name = typeof failure.name === "string" ? failure.name : "";
  if (name === "AbortError" || error instanceof UserInputError || error instanceof ObjectNotFoundError) return error;
  const code = typeof failure.Code === "string" ? failure.Code : name;
  const status = failure.$metadata?.httpStatusCode;
  const endpoint = endpointLabel(place);
  const bucket = `S3 bucket "${place.bucket}"`;
  const cause = { cause: error };

  const network = networkCode(error);
  if (network) {
    const fix = place.endpoint ? "is the server running? check AWS_ENDPOINT_URL_S3" : "check your network connection and AWS_REGION";
    return new UserInputError(`Cannot reach the S3 endpoint ${endpoint} (${NETWORK_PROBLEMS[network]}): ${fix}.`, cause);
  }
  const message = firstLine(failure.message);
  if (name === "CredentialsProviderError" || /could not load credentials/i.test(message)) {
    const profile = place.profile ?? /using profile: \[([^\]]*)\]/.exec(message)?.[1];
    if (profile) {
      return new UserInputError(
        `AWS profile "${profile}" (AWS_PROFILE) has no usable credentials for ${bucket}: check ~/.aws/config and ~/.aws/credentials, or run "aws sso login --profile ${profile}".`,
        cause,
      );
    }
    return new UserInputError(
      `No AWS credentials found for ${bucket}: set AWS_PROFILE, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (or run "aws configure").`,
      cause,
    );
  }
  if (/region is missing/i.test(message)) {
    return new UserInputError(`No AWS region is set for ${bucket}: set AWS_REGION (for example AWS_REGION=us-east-1).`, cause);
  }
  if (code === "NoSuchBucket" || (operation === "HeadBucket" && status === 404)) {
    return new UserInputError(`${bucket} does not exist at ${endpoint} — create it or check --storage / BRENDER_STORAGE.`, cause);
  }
  if (CREDENTIALS_REFUSED.has(code)) {
    return new UserInputError(
      `The credentials were refused by ${endpoint} for ${bucket} (${code}): check AWS_PROFILE / AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY.`,
      cause,
    );
  }
  if (code === "AccessDenied") {
    return new UserInputError(
      `Access to ${bucket} at ${endpoint} was denied (AccessDenied): the credentials lack permission; check AWS_PROFILE / AWS_ACCESS_KEY_ID and the bucket policy.`,
      cause,
    );
  }
  if (status === 403) {
    // HEAD answers carry no error code: bad keys and missing permissions look alike.
    return new UserInputError(
      `The credentials were refused by ${endpoint} for ${bucket} (403 Forbidden): check AWS_PROFILE / AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY and the bucket's permissions.`,
      cause,
    );
  }
  if (code === "NoSuchKey" || code === "NotFound" || status === 404) {
    return new ObjectNotFoundError(`No object at ${place.object ?? `s3://${place.bucket}`} (${endpoint}).`, cause);
  }
  return error;
}
