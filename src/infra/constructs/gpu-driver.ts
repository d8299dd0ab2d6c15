/**
 * Whether the GPU hosts' NVIDIA driver can run the worker image's CUDA.
 *
 * The image carries the CUDA runtime (docker/Dockerfile's BASE_IMAGE); the
 * driver comes from the host's AMI, which Batch picks by image type. A CUDA
 * runtime newer than the driver fails on the first GPU call ("CUDA driver
 * version is insufficient"), and Cycles would silently fall back to the CPU
 * were the worker not told to fail (see src/blender/bpy). So the pairing is
 * checked here, from published figures, whenever either side changes.
 */

/** The Amazon ECS-optimized Amazon Linux 2023 GPU AMI (AL2 and its GPU AMI reach end of life on 2026-06-30). */
export const GPU_AMI_IMAGE_TYPE = "ECS_AL2023_NVIDIA";

/**
 * The oldest NVIDIA driver that AMI has shipped: 560.35.03 in its first
 * release (aws/amazon-ecs-ami, January 2025, "Introducing AL2023 GPU AMIs");
 * later releases moved on (580.126.09 in February 2026). Batch starts hosts
 * from the newest release, so the oldest is the safe bound.
 */
export const GPU_AMI_OLDEST_DRIVER = "560.35.03";

/**
 * The minimum Linux driver of each CUDA toolkit release the image may carry,
 * from NVIDIA's CUDA Toolkit release notes ("CUDA Toolkit and Corresponding
 * Driver Versions"). A CUDA release missing here fails the check on purpose:
 * look its driver up before moving the image to it.
 */
export const CUDA_MINIMUM_DRIVER: Readonly<Record<string, string>> = {
  "12.4.0": "550.54.14",
  "12.4.1": "550.54.15",
};

/** The CUDA version of a base image reference like nvcr.io/nvidia/cuda:12.4.1-runtime-ubuntu22.04@sha256:…, or undefined. */
export function cudaVersionOf(imageReference: string): string | undefined {
  return /\/cuda:(\d+\.\d+\.\d+)-/.exec(imageReference)?.[1];
}

/** Whether driver `installed` is at least `required` (dotted numbers compared part by part). */
export function driverAtLeast(installed: string, required: string): boolean {
  const a = installed.split(".").map(Number);
  const b = required.split(".").map(Number);
  for (let index = 0; index < Math.max(a.length, b.length); index += 1) {
    const difference = (a[index] ?? 0) - (b[index] ?? 0);
    if (difference !== 0) return difference > 0;
  }
  return true;
}

/** Why the GPU hosts cannot run an image with this CUDA version, or undefined when they can. */
export function driverProblem(cudaVersion: string | undefined): string | undefined {
  if (cudaVersion === undefined) return "the worker image's base names no CUDA version (expected …/cuda:X.Y.Z-…)";
  const required = CUDA_MINIMUM_DRIVER[cudaVersion];
  if (required === undefined) return `the minimum NVIDIA driver of CUDA ${cudaVersion} is not recorded in CUDA_MINIMUM_DRIVER`;
  if (!driverAtLeast(GPU_AMI_OLDEST_DRIVER, required)) {
    return `CUDA ${cudaVersion} needs NVIDIA driver ${required} or newer, but ${GPU_AMI_IMAGE_TYPE} hosts may run ${GPU_AMI_OLDEST_DRIVER}`;
  }
  return undefined;
}
