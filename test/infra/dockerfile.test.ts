import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { bundleImageSource } from "../../src/infra/image-source.ts";
import { zipEntryNames } from "../helpers/archives.ts";

const REPO_ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const DOCKERFILE = readFileSync(join(REPO_ROOT, "docker/Dockerfile"), "utf8");
const BUILDSPEC = readFileSync(join(REPO_ROOT, "docker/buildspec.yml"), "utf8");
const BUILT = existsSync(join(REPO_ROOT, "dist/cli/main.js"));

type Instruction = { readonly keyword: string; readonly args: string };

/** The Dockerfile's instructions, continuation lines joined and comments dropped (as Docker reads them). */
function instructions(text: string): Instruction[] {
  const result: Instruction[] = [];
  let pending = "";
  for (const line of text.split("\n")) {
    if (/^\s*#/.test(line)) continue;
    if (pending === "" && line.trim() === "") continue;
    if (line.endsWith("\\")) {
      pending += `${line.slice(0, -1)} `;
      continue;
    }
    const whole = (pending + line).trim();
    pending = "";
    const match = /^(\S+)\s+(.*)$/s.exec(whole);
    assert.ok(match, `unreadable Dockerfile line: ${whole}`);
    result.push({ keyword: (match[1] ?? "").toUpperCase(), args: (match[2] ?? "").replace(/\s+/g, " ").trim() });
  }
  return result;
}

const STEPS = instructions(DOCKERFILE);
const indexOf = (predicate: (step: Instruction) => boolean): number => STEPS.findIndex(predicate);
const runContaining = (fragment: string): Instruction => {
  const step = STEPS.find((candidate) => candidate.keyword === "RUN" && candidate.args.includes(fragment));
  assert.ok(step, `no RUN step contains ${JSON.stringify(fragment)}`);
  return step;
};
/** ARG NAME=default → default (undefined when the ARG has no default or is missing). */
const argDefault = (name: string): string | undefined =>
  STEPS.find((step) => step.keyword === "ARG" && step.args.startsWith(`${name}=`))?.args.slice(name.length + 1);
/** Every NAME=value that an ENV step sets (values here have no spaces). */
function envValues(): Map<string, string> {
  const values = new Map<string, string>();
  for (const step of STEPS.filter((candidate) => candidate.keyword === "ENV")) {
    for (const pair of step.args.split(" ")) {
      const at = pair.indexOf("=");
      if (at > 0) values.set(pair.slice(0, at), pair.slice(at + 1));
    }
  }
  return values;
}

/** Runs a shell fragment taken from the Dockerfile with bash (the Dockerfile's SHELL). */
function bash(script: string): { status: number | null; stdout: string; stderr: string } {
  const result = spawnSync("bash", ["-o", "pipefail", "-c", script], { encoding: "utf8" });
  return { status: result.status, stdout: result.stdout.trim(), stderr: result.stderr };
}

describe("docker/Dockerfile", () => {
  it("starts from the CUDA runtime base, chosen by an ARG", () => {
    const from = indexOf((step) => step.keyword === "FROM");
    assert.equal(STEPS[from]?.args, "${BASE_IMAGE}");
    assert.match(argDefault("BASE_IMAGE") ?? "", /^nvcr\.io\/nvidia\/cuda:12\.4\.1-runtime-ubuntu22\.04@sha256:[0-9a-f]{64}$/);
    assert.ok(indexOf((step) => step.keyword === "ARG" && step.args.startsWith("BASE_IMAGE=")) < from);
    assert.equal(STEPS.filter((step) => step.keyword === "FROM").length, 1);
    assert.deepEqual(STEPS.find((step) => step.keyword === "SHELL")?.args, '["/bin/bash", "-o", "pipefail", "-c"]');
  });

  it("pulls its base from NVIDIA's registry pinned by digest, never anonymously from Docker Hub", () => {
    // Docker Hub is the default registry: a name without a registry host (nvidia/cuda:…, docker.io/…) pulls
    // from it, anonymously on CodeBuild, whose shared addresses often exhaust the anonymous pull limit.
    const base = argDefault("BASE_IMAGE") ?? "";
    const host = base.split("/")[0] ?? "";
    assert.ok(host.includes(".") && !/(^|\.)docker\.io$/.test(host), `base ${base} comes from Docker Hub`);
    assert.match(base, /@sha256:[0-9a-f]{64}$/, "the base is not pinned by digest");
  });

  it("takes BLENDER_VERSION as a build ARG in the build stage, defaulting to a release like 4.2.0", () => {
    const from = indexOf((step) => step.keyword === "FROM");
    const arg = indexOf((step) => step.keyword === "ARG" && step.args.startsWith("BLENDER_VERSION"));
    assert.ok(arg > from, "ARG BLENDER_VERSION must come after FROM to reach the RUN steps");
    assert.match(argDefault("BLENDER_VERSION") ?? "", /^\d+\.\d+\.\d+$/);
  });

  it("downloads Blender's official linux-x64 tarball, deriving the release folder from BLENDER_VERSION", () => {
    const run = runContaining("download.blender.org").args;
    const url = /"(https:\/\/download\.blender\.org\/release\/Blender\$\{\w+\}\/blender-\$\{BLENDER_VERSION\}-linux-x64\.tar\.xz)"/.exec(run)?.[1];
    assert.ok(url, "the official tarball URL pattern is missing");
    const series = /Blender\$\{(\w+)\}/.exec(url)?.[1] ?? "";
    const assignment = new RegExp(`${series}="[^"]+"`).exec(run)?.[0];
    assert.ok(assignment, `no assignment of ${series}`);
    for (const [version, expected] of [
      ["4.2.0", "https://download.blender.org/release/Blender4.2/blender-4.2.0-linux-x64.tar.xz"],
      ["3.6.14", "https://download.blender.org/release/Blender3.6/blender-3.6.14-linux-x64.tar.xz"],
      ["10.11.1", "https://download.blender.org/release/Blender10.11/blender-10.11.1-linux-x64.tar.xz"],
      // The LTS and current releases artists use: the same layout on the download site.
      ["4.5.3", "https://download.blender.org/release/Blender4.5/blender-4.5.3-linux-x64.tar.xz"],
      ["5.2.2", "https://download.blender.org/release/Blender5.2/blender-5.2.2-linux-x64.tar.xz"],
    ] as const) {
      assert.equal(bash(`BLENDER_VERSION=${version}; ${assignment}; echo "${url}"`).stdout, expected);
    }
    // No checksum is pinned per version: each build checks the tarball against the release's published .sha256 list.
    const manifest = /"(https:\/\/download\.blender\.org\/release\/Blender\$\{\w+\}\/blender-\$\{BLENDER_VERSION\}\.sha256)"/.exec(run)?.[1];
    assert.ok(manifest, "the release's .sha256 list is not fetched");
    for (const [version, expected] of [
      ["4.5.3", "https://download.blender.org/release/Blender4.5/blender-4.5.3.sha256"],
      ["5.2.2", "https://download.blender.org/release/Blender5.2/blender-5.2.2.sha256"],
    ] as const) {
      assert.equal(bash(`BLENDER_VERSION=${version}; ${assignment}; echo "${manifest}"`).stdout, expected);
    }
    assert.match(run, /grep -F " \$\{archive\}" \| sha256sum -c -/, "only the tarball's line of the list is checked");
    assert.match(run, /sha256sum -c -/);
    assert.match(run, /tar -xJf "\$\{archive\}" -C \/opt\/blender --strip-components=1/);
    assert.match(run, /\/opt\/blender\/blender --version/);
  });

  it("rejects a BLENDER_VERSION that is not X.Y.Z before downloading anything", () => {
    const run = runContaining("download.blender.org").args;
    const check = /if ! \[\[.*?\bfi\b/.exec(run)?.[0];
    assert.ok(check, "no version check");
    for (const good of ["4.2.0", "3.6.14"]) assert.equal(bash(`BLENDER_VERSION=${good}; ${check}`).status, 0, good);
    for (const bad of ["4.2", "latest", "4.2.0; rm -rf /", ""]) {
      const result = bash(`BLENDER_VERSION=${JSON.stringify(bad)}; ${check}`);
      assert.equal(result.status, 2, bad);
      assert.match(result.stderr, /is not a Blender release like 4\.2\.0/);
    }
    assert.ok(run.indexOf(check) < run.indexOf("curl"));
  });

  it("installs Node 24 from the official tarball with a pinned SHA-256", () => {
    const version = argDefault("NODE_VERSION") ?? "";
    assert.match(version, /^24\.\d+\.\d+$/);
    assert.match(argDefault("NODE_SHA256") ?? "", /^[0-9a-f]{64}$/);
    const run = runContaining("nodejs.org").args;
    assert.ok(run.includes('"https://nodejs.org/dist/v${NODE_VERSION}/node-v${NODE_VERSION}-linux-x64.tar.xz"'));
    assert.match(run, /echo "\$\{NODE_SHA256\} +\/tmp\/node\.tar\.xz" \| sha256sum -c -/);
    assert.match(envValues().get("PATH") ?? "", /^\/opt\/node\/bin:/);
    assert.match(run, /-C \/opt\/node /);
  });

  it("installs the system packages Blender needs headless, plus ffmpeg and image tools", () => {
    const run = runContaining("apt-get install").args;
    const packages = new Set(run.split(" "));
    for (const name of [
      "xz-utils", "curl", "ca-certificates", "ffmpeg", "imagemagick", "openimageio-tools", "xvfb",
      "libgl1", "libegl1", "libxi6", "libxrender1", "libxkbcommon0", "libsm6", "libxfixes3", "libxxf86vm1",
    ]) {
      assert.ok(packages.has(name), `${name} is not installed`);
    }
    assert.match(run, /--no-install-recommends/);
    assert.match(run, /rm -rf \/var\/lib\/apt\/lists\/\*$/);
  });

  it("sets the environment the job definitions and the worker expect", () => {
    const env = envValues();
    assert.equal(env.get("EFS_BLENDER_FOLDER_PATH"), "/mnt/efs");
    assert.equal(env.get("BLENDER_EXECUTABLE"), "/opt/blender/blender");
  });

  it("runs `brender worker` from /app", () => {
    const entrypoints = STEPS.filter((step) => step.keyword === "ENTRYPOINT");
    assert.equal(entrypoints.length, 1);
    assert.deepEqual(JSON.parse(entrypoints[0]?.args ?? "null"), ["/app/bin/brender", "worker"]);
    assert.equal(STEPS.find((step) => step.keyword === "WORKDIR")?.args, "/app");
    assert.equal(STEPS.filter((step) => step.keyword === "CMD").length, 0);
  });

  it("orders layers for the cache: system, Node, Blender, npm dependencies, then the app", () => {
    const apt = indexOf((step) => step.keyword === "RUN" && step.args.includes("apt-get install"));
    const node = indexOf((step) => step.keyword === "RUN" && step.args.includes("nodejs.org"));
    const blender = indexOf((step) => step.keyword === "RUN" && step.args.includes("download.blender.org"));
    const packageFiles = indexOf((step) => step.keyword === "COPY" && step.args.includes("package-lock.json"));
    const npmCi = indexOf((step) => step.keyword === "RUN" && /\bnpm ci --omit=dev\b/.test(step.args));
    const firstAppCopy = indexOf((step) => step.keyword === "COPY" && /^(dist|bin)\//.test(step.args));
    for (const [name, at] of Object.entries({ apt, node, blender, packageFiles, npmCi, firstAppCopy })) {
      assert.ok(at >= 0, `${name} step is missing`);
    }
    assert.ok(apt < node && node < blender && blender < packageFiles && packageFiles < npmCi && npmCi < firstAppCopy);
    // The Blender layer must not depend on anything copied from the source.
    assert.ok(indexOf((step) => step.keyword === "COPY") > blender);
  });

  it("COPYs only files that the source zip contains", { skip: !BUILT && "not built (npm test builds first)" }, async () => {
    const dir = await mkdtemp(join(tmpdir(), "brender-dockerfile-"));
    try {
      const zip = join(dir, "source.zip");
      await bundleImageSource(REPO_ROOT, zip);
      const names = await zipEntryNames(zip);
      const sources = STEPS.filter((step) => step.keyword === "COPY" || step.keyword === "ADD").flatMap((step) => {
        assert.equal(step.keyword, "COPY", "use COPY, not ADD");
        const parts = step.args.split(" ").filter((part) => !part.startsWith("--"));
        return parts.slice(0, -1);
      });
      assert.deepEqual(sources.toSorted(), ["bin/", "dist/", "package-lock.json", "package.json"]);
      for (const source of sources) {
        const present = source.endsWith("/") ? names.some((name) => name.startsWith(source)) : names.includes(source);
        assert.ok(present, `COPY ${source} is not in the source zip`);
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe("docker/buildspec.yml", () => {
  const lines = BUILDSPEC.split("\n");
  const commands = lines.map((line) => /^\s+- (.*)$/.exec(line)?.[1]).filter((command) => command !== undefined);
  const commandIndex = (pattern: RegExp): number => commands.findIndex((command) => pattern.test(command));

  it("is a version 0.2 buildspec with pre_build and build phases that stop at the first failure", () => {
    assert.ok(lines.includes("version: 0.2"));
    assert.ok(lines.includes("phases:"));
    assert.ok(lines.includes("  pre_build:"));
    assert.ok(lines.includes("  build:"));
    assert.equal(lines.filter((line) => line === "    on-failure: ABORT").length, 2);
    assert.ok(!lines.some((line) => line.includes("\t")), "YAML forbids tabs for indentation");
  });

  it("logs in to ECR, builds with the BLENDER_VERSION build-arg and pushes <repository>:blender-<version>", () => {
    const login = commandIndex(/^aws ecr get-login-password --region "\$AWS_DEFAULT_REGION" \| docker login --username AWS --password-stdin "\$\{REPOSITORY_URI%%\/\*\}"$/);
    const build = commandIndex(/^docker build .*--build-arg BLENDER_VERSION="\$BLENDER_VERSION" .*--tag "\$REPOSITORY_URI:blender-\$BLENDER_VERSION" .*--tag "\$REPOSITORY_URI:blender-\$BLENDER_VERSION-\$CODEBUILD_BUILD_NUMBER" \.$/);
    const push = commandIndex(/^docker push "\$REPOSITORY_URI:blender-\$BLENDER_VERSION"$/);
    assert.ok(login >= 0, "no ECR login");
    assert.ok(build > login, "no docker build after the login");
    assert.ok(push > build, "no push of blender-$BLENDER_VERSION after the build");
  });

  it("derives the registry host for docker login from REPOSITORY_URI", () => {
    const host = bash('REPOSITORY_URI=123456789012.dkr.ecr.eu-west-1.amazonaws.com/brender-farm-studio; echo "${REPOSITORY_URI%%/*}"');
    assert.equal(host.stdout, "123456789012.dkr.ecr.eu-west-1.amazonaws.com");
  });

  it("fails early, naming the variable, when REPOSITORY_URI or BLENDER_VERSION is not set", () => {
    const checks = commands.filter((command) => command.startsWith("test -n"));
    assert.equal(checks.length, 2);
    // CodeBuild stops a phase at the first command that fails, so run them one by one.
    const run = (env: Record<string, string>) => {
      for (const check of checks) {
        const result = spawnSync("bash", ["-c", check], { encoding: "utf8", env: { PATH: process.env.PATH ?? "", ...env } });
        if (result.status !== 0) return result;
      }
      return { status: 0, stderr: "" };
    };
    assert.equal(run({ REPOSITORY_URI: "r", BLENDER_VERSION: "4.2.0" }).status, 0);
    const noRepository = run({ BLENDER_VERSION: "4.2.0" });
    assert.notEqual(noRepository.status, 0);
    assert.match(noRepository.stderr, /REPOSITORY_URI is not set/);
    const noVersion = run({ REPOSITORY_URI: "r" });
    assert.notEqual(noVersion.status, 0);
    assert.match(noVersion.stderr, /BLENDER_VERSION is not set/);
  });

  it("uses only the variables the CodeBuild project provides", () => {
    const used = new Set([...BUILDSPEC.matchAll(/\$\{?([A-Z_][A-Z0-9_]*)/g)].map((match) => match[1]));
    // CODEBUILD_BUILD_NUMBER is one of the variables CodeBuild itself sets in every build.
    assert.deepEqual([...used].sort(), ["AWS_DEFAULT_REGION", "BLENDER_VERSION", "CODEBUILD_BUILD_NUMBER", "REPOSITORY_URI"]);
  });
});

