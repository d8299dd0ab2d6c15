import { BrenderError, UserInputError } from "../errors.ts";
import { RenderConflictError } from "../renders/errors.ts";

/** An error with its HTTP status, and the request field it is about when there is one. */
export class ApiError extends Error {
  readonly statusCode: number;
  readonly field: string | undefined;
  constructor(statusCode: number, message: string, field?: string) {
    super(message);
    this.name = "ApiError";
    this.statusCode = statusCode;
    this.field = field;
  }
}

/** Which status an error maps to, and what the client is told (never a stack). */
export function httpErrorOf(error: unknown): { statusCode: number; body: { error: string; field?: string } } {
  if (error instanceof ApiError) return { statusCode: error.statusCode, body: { error: error.message, ...(error.field ? { field: error.field } : {}) } };
  if (error instanceof RenderConflictError) return { statusCode: 409, body: { error: error.message } };
  if (error instanceof UserInputError) return { statusCode: 400, body: { error: error.message } };
  if (error instanceof BrenderError) return { statusCode: 500, body: { error: error.message } };
  // Fastify's own errors (bad JSON, body too large, unsupported media type) carry a 4xx status.
  const status = (error as { statusCode?: unknown }).statusCode;
  if (typeof status === "number" && status >= 400 && status < 500) return { statusCode: status, body: { error: (error as Error).message } };
  return { statusCode: 500, body: { error: "internal error; the server log has the details" } };
}

/** CLI flags in a message ("--array-size") named as the API's settings fields ("settings.arraySize"). */
export function apiFieldNames(message: string): string {
  return message.replace(/--([a-z]+(?:-[a-z]+)*)/g, (_, flag: string) => `settings.${flag.replace(/-([a-z])/g, (__, letter: string) => letter.toUpperCase())}`);
}
