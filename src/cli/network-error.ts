/**
 * A failure to reach a service (AWS, an S3 store, a Brender server) in one
 * line: which address could not be reached, why, and what to check, instead
 * of a stack trace. Node puts the system error (code, address, port) on the
 * error itself, on its `cause`, or among an AggregateError's `errors`.
 */
const MEANINGS: Readonly<Record<string, string>> = {
  ECONNREFUSED: "connection refused: nothing listens there",
  ENOTFOUND: "no such host",
  EAI_AGAIN: "the host name could not be looked up now",
  ETIMEDOUT: "no answer in time",
  ECONNRESET: "the connection was cut",
  EHOSTUNREACH: "host unreachable",
  ENETUNREACH: "network unreachable",
  EPROTO: "TLS or protocol error",
  UND_ERR_CONNECT_TIMEOUT: "no answer in time",
};

type SystemError = { readonly code: string; readonly address?: string; readonly port?: number; readonly hostname?: string };

/** The one-line explanation of a network failure, or undefined when `error` is not one. */
export function explainNetworkFailure(error: unknown): string | undefined {
  const failure = findSystemError(error, 0);
  if (failure === undefined) return undefined;
  const host = failure.address ?? failure.hostname;
  const where = host ? `${host}${failure.port !== undefined ? `:${failure.port}` : ""}` : "the service";
  return `Could not reach ${where} (${failure.code}: ${MEANINGS[failure.code]}): check the network connection and proxy, and the address Brender was given: AWS_ENDPOINT_URL and --region/AWS_REGION for AWS, --storage/BRENDER_STORAGE for an S3 store.`;
}

function findSystemError(error: unknown, depth: number): SystemError | undefined {
  if (typeof error !== "object" || error === null || depth > 5) return undefined;
  const { code, errors, cause } = error as { code?: unknown; errors?: unknown; cause?: unknown };
  if (typeof code === "string" && code in MEANINGS) return error as SystemError;
  for (const inner of Array.isArray(errors) ? errors : []) {
    const found = findSystemError(inner, depth + 1);
    if (found) return found;
  }
  return findSystemError(cause, depth + 1);
}
