import { isInside, isMissing, type TracedDependency } from "../domain/dependencies.ts";

/** A file the .blend needs that an upload (web UI: a .blend, a zip, a folder) did not bring. */
export type NotInUpload = {
  readonly kind: TracedDependency["kind"];
  readonly owner: string;
  /** The path as written in the file. */
  readonly path: string;
  readonly reason: "missing" | "outside the upload";
};

/**
 * The dependencies an uploaded project lacks: the missing ones, and those
 * that point outside the upload (a server never sends its own files along,
 * so those render without them). Packed ones need nothing.
 */
export function notInUpload(dependencies: readonly TracedDependency[], uploadRoot: string): NotInUpload[] {
  const lacking: NotInUpload[] = [];
  for (const dependency of dependencies) {
    if (dependency.packed) continue;
    const { kind, owner, path } = dependency;
    if (isMissing(dependency) && !isInside(dependency.resolved, uploadRoot)) lacking.push({ kind, owner, path, reason: "outside the upload" });
    else if (isMissing(dependency)) lacking.push({ kind, owner, path, reason: "missing" });
    else if (dependency.files.some((file) => !isInside(file, uploadRoot))) lacking.push({ kind, owner, path, reason: "outside the upload" });
  }
  return lacking;
}

/** One warning line per lacking dependency, for the API's submit response. */
export function describeNotInUpload(lacking: readonly NotInUpload[]): string[] {
  return lacking.map((item) => `${item.kind} ${item.owner} needs "${item.path}", ${item.reason === "missing" ? "which is missing from the upload" : "which is outside the upload"}; it renders without it (upload the folder that holds it, or pack it into the .blend)`);
}
