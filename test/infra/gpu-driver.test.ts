import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { GPU_IMAGE_TYPE } from "../../src/infra/constructs/batch-compute.ts";
import { GPU_AMI_IMAGE_TYPE, cudaVersionOf, driverAtLeast, driverProblem } from "../../src/infra/constructs/gpu-driver.ts";

const DOCKERFILE = readFileSync(join(dirname(fileURLToPath(import.meta.url)), "..", "..", "docker", "Dockerfile"), "utf8");
const BASE_IMAGE = /^ARG BASE_IMAGE=(\S+)$/m.exec(DOCKERFILE)?.[1] ?? "";

describe("GPU hosts' driver against the worker image's CUDA", () => {
  it("the GPU compute environments use the AMI whose driver is checked", () => {
    assert.equal(GPU_IMAGE_TYPE, GPU_AMI_IMAGE_TYPE);
    assert.equal(GPU_AMI_IMAGE_TYPE, "ECS_AL2023_NVIDIA");
  });

  it("the image's CUDA runs on the oldest driver the AL2023 GPU AMI has shipped", () => {
    const cuda = cudaVersionOf(BASE_IMAGE);
    assert.equal(cuda, "12.4.1");
    assert.equal(driverProblem(cuda), undefined);
  });

  it("refuses a CUDA whose minimum driver is not recorded, or is newer than the hosts' driver", () => {
    assert.match(driverProblem("12.9.0") ?? "", /minimum NVIDIA driver of CUDA 12\.9\.0 is not recorded/);
    assert.match(driverProblem(cudaVersionOf("nvidia/cuda:latest")) ?? "", /names no CUDA version/);
  });

  it("compares driver versions part by part, not as text", () => {
    assert.equal(driverAtLeast("560.35.03", "550.54.15"), true);
    assert.equal(driverAtLeast("550.54.15", "550.54.15"), true);
    assert.equal(driverAtLeast("550.144.03", "550.54.15"), true, "144 > 54 although '1' < '5'");
    assert.equal(driverAtLeast("535.183.01", "550.54.15"), false);
  });
});
