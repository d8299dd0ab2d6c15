/**
 * Which AWS errors mean "not there" or "nothing to do": the SDK names them
 * differently per service, and the farm commands treat them as answers.
 */

/** "Stack with id X does not exist" comes back as a ValidationError. */
export function isMissingStack(error: unknown): boolean {
  return error instanceof Error && error.name === "ValidationError" && /does not exist/i.test(error.message);
}

/** UpdateStack refuses a template that changes nothing with this message. */
export function isNoUpdate(error: unknown): boolean {
  return error instanceof Error && /no updates are to be performed/i.test(error.message);
}

/** A missing S3 bucket or key (or any 404). */
export function isNotFound(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  const status = (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
  return ["NotFound", "NoSuchBucket", "NoSuchKey"].includes(error.name) || status === 404;
}

/** ECR names a repository that does not exist this way. */
export function isMissingRepository(error: unknown): boolean {
  return error instanceof Error && error.name === "RepositoryNotFoundException";
}
