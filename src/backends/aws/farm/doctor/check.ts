/**
 * What `brender farm doctor` says about one thing it looked at: OK, WARN
 * (works, but something is worth fixing, or it could not be read) or
 * BLOCKED (a render cannot run until it is fixed), with the one-line fix.
 */

export const CHECK_STATUSES = ["OK", "WARN", "BLOCKED"] as const;
export type CheckStatus = (typeof CHECK_STATUSES)[number];

export type DoctorCheck = {
  /** Stable name for scripts, e.g. "stack", "queue:spot-cpu", "image:4.2.0". */
  readonly id: string;
  readonly status: CheckStatus;
  /** What was found, in one line. */
  readonly summary: string;
  /** What to do about it, in one line (the command or console page); absent when OK. */
  readonly fix?: string;
};

export type DoctorReport = {
  readonly farm: string;
  readonly region: string;
  readonly checks: readonly DoctorCheck[];
  /** True when a check is BLOCKED: a render would not run (exit 1). */
  readonly blocking: boolean;
};

export const ok = (id: string, summary: string): DoctorCheck => ({ id, status: "OK", summary });
export const warn = (id: string, summary: string, fix: string): DoctorCheck => ({ id, status: "WARN", summary, fix });
export const blocked = (id: string, summary: string, fix: string): DoctorCheck => ({ id, status: "BLOCKED", summary, fix });

export function doctorReport(farm: string, region: string, checks: readonly DoctorCheck[]): DoctorReport {
  return { farm, region, checks, blocking: checks.some((check) => check.status === "BLOCKED") };
}

/**
 * A check that could not be read (no permission, an API this endpoint lacks,
 * a service error) is a warning naming the permission, never a crash: the
 * other checks still run.
 */
export function unreadable(id: string, what: string, permissions: readonly string[], error: unknown, farm: string): DoctorCheck {
  return warn(
    id,
    `Could not read ${what} (${failureReason(error)}).`,
    `Allow ${permissions.join(", ")} to these credentials (or pass another --profile), then run 'brender farm doctor ${farm}' again.`,
  );
}

/** Runs a check's reads; any failure becomes the check's unreadable warning. */
export async function guarded(
  id: string,
  what: string,
  permissions: readonly string[],
  farm: string,
  evaluate: () => Promise<DoctorCheck | readonly DoctorCheck[]>,
): Promise<DoctorCheck[]> {
  try {
    const result = await evaluate();
    return Array.isArray(result) ? [...result] : [result as DoctorCheck];
  } catch (error) {
    return [unreadable(id, what, permissions, error, farm)];
  }
}

/** Why an AWS call failed, short: access denied, not answered by this endpoint, or the error's own name and first line. */
export function failureReason(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const status = (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
  if (/AccessDenied|UnauthorizedOperation|not authorized/i.test(`${error.name} ${error.message}`)) return `access denied: ${firstLine(error.message)}`;
  // An endpoint without the API (an emulator, a partition without the service) answers with an HTML page the SDK cannot parse.
  if (error.name === "SyntaxError" || /Deserialization error/i.test(error.message)) return `the API did not answer here${status ? `: HTTP ${status}` : ""}`;
  const system = systemError(error, 0);
  if (system) return `${system.code}${system.where ? ` at ${system.where}` : ""}: ${firstLine(error.message)}`;
  return `${error.name}: ${firstLine(error.message)}`;
}

/** A network failure's code (ECONNREFUSED…) and address: on the error, its cause (fetch) or an AggregateError's first. */
function systemError(error: unknown, depth: number): { code: string; where?: string } | undefined {
  if (typeof error !== "object" || error === null || depth > 4) return undefined;
  const { code, address, port, cause, errors } = error as { code?: unknown; address?: unknown; port?: unknown; cause?: unknown; errors?: unknown };
  if (typeof code === "string" && /^E[A-Z_]+$|^UND_ERR/.test(code)) {
    return { code, ...(typeof address === "string" ? { where: `${address}${typeof port === "number" ? `:${port}` : ""}` } : {}) };
  }
  return systemError(cause, depth + 1) ?? (Array.isArray(errors) ? systemError(errors[0], depth + 1) : undefined);
}

function firstLine(text: string): string {
  const line = text.split("\n")[0]!.trim();
  return line.length > 160 ? `${line.slice(0, 157)}...` : line;
}
