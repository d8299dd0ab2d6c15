/**
 * The job store's numeric limits (AWS Batch's), with no imports, so the HTTP
 * API's schemas (which the web UI type-checks too) can state them as well.
 */

/** Most tries AWS Batch allows a job. */
export const MAX_ATTEMPTS = 10;
/** Longest attempt timeout AWS Batch allows: 14 days. */
export const MAX_TIMEOUT_SECONDS = 1_209_600;
/** Job priorities run from -MAX_PRIORITY to MAX_PRIORITY. */
export const MAX_PRIORITY = 1_000_000;
