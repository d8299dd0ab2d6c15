/**
 * Does the worker image's base still resolve? The Dockerfile pins it by
 * digest (docker/Dockerfile's BASE_IMAGE); asking the registry's v2 API for
 * that manifest (with the anonymous token registries hand out) shows a wrong
 * or withdrawn digest before a deploy's image build fails on it.
 */
import { blocked, failureReason, ok, warn, type DoctorCheck } from "./check.ts";

export type ImageReference = {
  /** As written: "nvcr.io/nvidia/cuda:12.4.1-runtime-ubuntu22.04@sha256:…". */
  readonly text: string;
  /** "nvcr.io"; "docker.io" for names without a registry. */
  readonly registry: string;
  readonly repository: string;
  readonly tag?: string;
  readonly digest?: string;
};

/** The base image a Dockerfile builds FROM: BASE_IMAGE's default when FROM uses it (pure). */
export function baseImageOf(dockerfile: string): ImageReference | undefined {
  const lines = dockerfile.split("\n").map((line) => line.trim());
  const from = lines.find((line) => /^FROM\s/i.test(line))?.split(/\s+/)[1];
  if (from === undefined) return undefined;
  const argument = /^\$\{?([A-Za-z_][A-Za-z0-9_]*)\}?$/.exec(from)?.[1];
  const text = argument === undefined ? from : lines.map((line) => new RegExp(`^ARG\\s+${argument}=(\\S+)$`).exec(line)?.[1]).find(Boolean);
  return text ? parseImageReference(text) : undefined;
}

/** Splits "REGISTRY/REPOSITORY[:TAG][@DIGEST]" as Docker does (pure). */
export function parseImageReference(text: string): ImageReference {
  const [name, digest] = text.split("@", 2) as [string, string | undefined];
  const colon = name.lastIndexOf(":");
  const hasTag = colon > name.lastIndexOf("/");
  const path = hasTag ? name.slice(0, colon) : name;
  const first = path.split("/")[0]!;
  const hasRegistry = path.includes("/") && (first.includes(".") || first.includes(":") || first === "localhost");
  const registry = hasRegistry ? first : "docker.io";
  let repository = hasRegistry ? path.slice(first.length + 1) : path;
  if (registry === "docker.io" && !repository.includes("/")) repository = `library/${repository}`;
  return { text, registry, repository, ...(hasTag ? { tag: name.slice(colon + 1) } : {}), ...(digest ? { digest } : {}) };
}

/** The registry's base URL: BRENDER_BASE_IMAGE_REGISTRY when set (a mirror, a test's loopback server), else https://REGISTRY. */
export function registryUrl(image: ImageReference, override: string | undefined): string {
  if (override?.trim()) return override.trim().replace(/\/+$/, "");
  return `https://${image.registry === "docker.io" ? "registry-1.docker.io" : image.registry}`;
}

const MANIFEST_TYPES = [
  "application/vnd.oci.image.index.v1+json",
  "application/vnd.docker.distribution.manifest.list.v2+json",
  "application/vnd.docker.distribution.manifest.v2+json",
  "application/vnd.oci.image.manifest.v1+json",
].join(", ");

export type ProbeResult = { readonly status: number } | { readonly error: unknown };

/**
 * GETs the manifest by digest (else tag). A 401 with a Bearer challenge is
 * answered with the anonymous pull token from the challenge's realm, as
 * Docker does, and the request made once more.
 */
export async function probeManifest(image: ImageReference, baseUrl: string, timeoutMs = 15_000): Promise<ProbeResult> {
  const url = `${baseUrl}/v2/${image.repository}/manifests/${image.digest ?? image.tag ?? "latest"}`;
  const get = (authorization?: string) =>
    fetch(url, { headers: { accept: MANIFEST_TYPES, ...(authorization ? { authorization } : {}) }, signal: AbortSignal.timeout(timeoutMs) });
  try {
    let response = await get();
    const challenge = response.headers.get("www-authenticate");
    if (response.status === 401 && challenge && /^Bearer\s/i.test(challenge)) {
      await response.body?.cancel();
      const token = await anonymousToken(challenge, image, timeoutMs);
      if (token !== undefined) response = await get(`Bearer ${token}`);
    }
    await response.body?.cancel();
    return { status: response.status };
  } catch (error) {
    return { error };
  }
}

async function anonymousToken(challenge: string, image: ImageReference, timeoutMs: number): Promise<string | undefined> {
  const fields = Object.fromEntries([...challenge.matchAll(/(\w+)="([^"]*)"/g)].map((match) => [match[1]!.toLowerCase(), match[2]!]));
  if (!fields.realm) return undefined;
  const url = new URL(fields.realm);
  if (fields.service) url.searchParams.set("service", fields.service);
  url.searchParams.set("scope", fields.scope ?? `repository:${image.repository}:pull`);
  const response = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
  if (!response.ok) return undefined;
  const body = (await response.json()) as { token?: string; access_token?: string };
  return body.token ?? body.access_token;
}

/**
 * The verdict (pure). An unreachable base only matters to image builds, so
 * it blocks only while an image is still to be built.
 */
export function baseImageCheck(image: ImageReference, baseUrl: string, probe: ProbeResult, imagesMissing: boolean, farm: string): DoctorCheck {
  const id = "base-image";
  const shown = image.digest ? `${image.registry}/${image.repository}@${image.digest.slice(0, 19)}…` : image.text;
  if ("status" in probe && probe.status === 200) return ok(id, `The worker's base image ${shown} resolves at ${baseUrl}.`);
  const problem =
    "status" in probe
      ? `${baseUrl} answered HTTP ${probe.status} for the worker's base image ${shown}${probe.status === 404 ? " (no such manifest: a wrong or withdrawn digest)" : ""}`
      : `Could not reach ${baseUrl} for the worker's base image ${shown} (${failureReason(probe.error)})`;
  const fix =
    "status" in probe && probe.status === 404
      ? `Put the tag's current digest in docker/Dockerfile's BASE_IMAGE ('docker buildx imagetools inspect ${image.registry}/${image.repository}:${image.tag ?? "TAG"}' prints it), then run 'brender farm deploy ${farm}'.`
      : `Check this machine's network and proxy (CodeBuild pulls from AWS's network; BRENDER_BASE_IMAGE_REGISTRY points this check at a mirror), then run 'brender farm doctor ${farm}' again.`;
  return imagesMissing
    ? blocked(id, `${problem}: the missing images cannot be built.`, fix)
    : warn(id, `${problem}: the images are built, but the next build would fail.`, fix);
}

export async function readBaseImageCheck(dockerfile: string | undefined, override: string | undefined, imagesMissing: boolean, farm: string): Promise<DoctorCheck> {
  const image = dockerfile === undefined ? undefined : baseImageOf(dockerfile);
  if (image === undefined) {
    return warn("base-image", "The worker's Dockerfile (docker/Dockerfile) was not found or names no base image: not checked.", "Run the doctor from a Brender installation that has docker/Dockerfile (a clone of the repository).");
  }
  const baseUrl = registryUrl(image, override);
  return baseImageCheck(image, baseUrl, await probeManifest(image, baseUrl), imagesMissing, farm);
}
