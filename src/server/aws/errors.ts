/** AWS failures as the API answers them: one-line 502s, and 409s for renders in the wrong state. */
import { UserInputError } from "../../errors.ts";
import { RenderConflictError } from "../../renders/errors.ts";
import { ApiError } from "../http-errors.ts";

const NETWORK_CODES = new Set(["ECONNREFUSED", "ENOTFOUND", "EAI_AGAIN", "ETIMEDOUT", "ECONNRESET", "EHOSTUNREACH", "ENETUNREACH", "EPROTO"]);
const REFUSED_CODES = new Set([
  "InvalidAccessKeyId", "SignatureDoesNotMatch", "ExpiredToken", "ExpiredTokenException", "InvalidToken",
  "InvalidClientTokenId", "UnrecognizedClientException", "AccessDenied", "AccessDeniedException",
]);

/**
 * AWS failing (no credentials, unreachable, refusing, erring) as a one-line
 * 502 ApiError; the CLI's UserInputErrors about bad input pass through (they
 * become 400s), except those wrapping such a failure (S3's explained errors).
 */
export function explainAwsError(error: unknown): unknown {
  if (error instanceof ApiError) return error;
  if (error instanceof UserInputError) return error.cause !== undefined && awsFailure(error.cause) ? new ApiError(502, error.message) : error;
  const failure = awsFailure(error);
  return failure === undefined ? error : new ApiError(502, failure);
}

/** What went wrong talking to AWS, in one line; undefined when the error is not about AWS. */
function awsFailure(error: unknown): string | undefined {
  if (typeof error !== "object" || error === null) return undefined;
  const { name = "", message = "", $metadata } = error as { name?: string; message?: string; $metadata?: { httpStatusCode?: number } };
  const where = "where 'brender serve' runs";
  if (name === "CredentialsProviderError" || /could not load credentials/i.test(message)) {
    return `No AWS credentials found: set AWS_PROFILE, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, ${where} (or run "aws configure").`;
  }
  const network = networkCode(error);
  if (network) return `Cannot reach AWS (${network}): check the network, AWS_REGION and AWS_ENDPOINT_URL ${where}.`;
  if (name === "TimeoutError") return `AWS did not answer in time (${firstLine(message)}): try again, or check the network ${where}.`;
  if (/region is missing/i.test(message)) return `No AWS region is set: set AWS_REGION ${where}, or give settings.region.`;
  if ($metadata === undefined) return undefined;
  if (REFUSED_CODES.has(name) || $metadata.httpStatusCode === 403) {
    return `AWS refused the request (${name}: ${firstLine(message)}): check the credentials (AWS_PROFILE, AWS_ACCESS_KEY_ID) and their permissions ${where}.`;
  }
  return `AWS answered ${name || "an error"}: ${firstLine(message) || `HTTP ${$metadata.httpStatusCode ?? "?"}`}.`;
}

function networkCode(error: unknown, depth = 0): string | undefined {
  if (typeof error !== "object" || error === null || depth > 4) return undefined;
  const { code, errors, cause } = error as { code?: unknown; errors?: unknown; cause?: unknown };
  if (typeof code === "string" && NETWORK_CODES.has(code)) return code;
  for (const inner of Array.isArray(errors) ? errors : []) {
    const found = networkCode(inner, depth + 1);
    if (found) return found;
  }
  return networkCode(cause, depth + 1);
}

export function firstLine(text: string): string {
  return text.split("\n")[0]!.trim();
}

/** A failure as the list's one-line statusError. */
export function oneLine(error: unknown): string {
  const explained = explainAwsError(error);
  return firstLine(explained instanceof Error ? explained.message : String(explained));
}

/**
 * On an existing AWS render, the CLI's UserInputErrors (AWS Batch forgot the
 * jobs, the farm or its log group is gone) are about the render's state, not
 * the request: 409. AWS failing is a 502.
 */
export function conflictOrAws(error: unknown): unknown {
  const explained = explainAwsError(error);
  if (explained instanceof UserInputError && !(explained instanceof RenderConflictError)) return new ApiError(409, explained.message);
  return explained;
}
