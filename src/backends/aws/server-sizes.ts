/**
 * Server sizes for the render job: what one render child asks AWS Batch for.
 * Presets span Brender Studio's range (2 vCPU / 8 GB up to 192 vCPU, up to
 * 8 GPUs); explicit values override a preset's fields.
 *
 * Memory is set a little below the instance's (about 6-12%): the OS and the
 * ECS agent keep part of it, and a job asking for the full 8 GiB of an 8 GiB
 * instance never fits on one, so it would wait for a bigger, dearer instance.
 */
import { UserInputError } from "../../errors.ts";

export type ServerResources = {
  readonly vcpus: number;
  readonly memoryMiB: number;
  readonly gpus: number;
};

export type ServerPreset = ServerResources & {
  /** The EC2 size this preset fills (for help text). */
  readonly fits: string;
};

export const SERVER_PRESETS = {
  small: { vcpus: 2, memoryMiB: 7_168, gpus: 0, fits: "2 vCPU / 8 GiB (m7i.large)" },
  medium: { vcpus: 8, memoryMiB: 30_720, gpus: 0, fits: "8 vCPU / 32 GiB (m7i.2xlarge)" },
  large: { vcpus: 32, memoryMiB: 122_880, gpus: 0, fits: "32 vCPU / 128 GiB (m7i.8xlarge)" },
  xlarge: { vcpus: 96, memoryMiB: 368_640, gpus: 0, fits: "96 vCPU / 384 GiB (m7i.24xlarge)" },
  "2xlarge": { vcpus: 192, memoryMiB: 737_280, gpus: 0, fits: "192 vCPU / 768 GiB (m7i.48xlarge)" },
  "gpu-1": { vcpus: 8, memoryMiB: 30_720, gpus: 1, fits: "1 GPU, 8 vCPU / 32 GiB (g6.2xlarge)" },
  "gpu-4": { vcpus: 48, memoryMiB: 180_224, gpus: 4, fits: "4 GPUs, 48 vCPU / 192 GiB (g6.12xlarge)" },
  "gpu-8": { vcpus: 192, memoryMiB: 737_280, gpus: 8, fits: "8 GPUs, 192 vCPU / 768 GiB (g6.48xlarge)" },
} as const satisfies Record<string, ServerPreset>;

export type ServerPresetName = keyof typeof SERVER_PRESETS;
export const SERVER_PRESET_NAMES = Object.keys(SERVER_PRESETS) as ServerPresetName[];

/** Used when neither a preset nor explicit values are given: the cheapest size, which every new account's quota allows. */
export const DEFAULT_SERVER_PRESET: ServerPresetName = "small";

/** Largest values a render child may ask for: anything bigger matches no instance the farm can start and would wait forever. */
export const LIMITS = { vcpus: 192, memoryMiB: 786_432, gpus: 8, minMemoryMiB: 512 } as const;

/** Memory given to explicit --vcpus without --memory: about 4 GiB a vCPU (general-purpose instances), less the headroom. */
const MEMORY_PER_VCPU_MIB = 3_840;

export type ResourceRequest = {
  readonly preset?: string;
  readonly vcpus?: number;
  readonly memoryMiB?: number;
  readonly gpus?: number;
};

/**
 * Resolves a preset and/or explicit values into what one render child needs.
 * Explicit values override the preset's; with neither, DEFAULT_SERVER_PRESET.
 * Without a preset, `vcpus` is required. Explicit vCPUs without memory get
 * 3,840 MiB each (a preset's memory belongs to its vCPU count); GPUs default
 * to the preset's, else 0.
 * Throws UserInputError naming the bad value and the allowed range.
 */
export function resolveResources(request: ResourceRequest): ServerResources {
  const base = request.preset === undefined ? undefined : presetNamed(request.preset);
  const anyExplicit = request.vcpus !== undefined || request.memoryMiB !== undefined || request.gpus !== undefined;
  if (base === undefined && !anyExplicit) return stripFits(SERVER_PRESETS[DEFAULT_SERVER_PRESET]);

  if (request.vcpus !== undefined) checkWhole("vCPUs", "--vcpus", request.vcpus, 1, LIMITS.vcpus);
  if (request.memoryMiB !== undefined) checkWhole("memory (MiB)", "--memory", request.memoryMiB, LIMITS.minMemoryMiB, LIMITS.memoryMiB);
  if (request.gpus !== undefined) checkWhole("GPUs", "--gpus", request.gpus, 0, LIMITS.gpus);

  if (base === undefined && request.vcpus === undefined) {
    throw new UserInputError(
      `--memory or --gpus without --vcpus: give --vcpus N too, or pick a size with --size (${SERVER_PRESET_NAMES.join(", ")}).`,
    );
  }
  const vcpus = request.vcpus ?? base!.vcpus;
  const memoryMiB =
    request.memoryMiB ?? (base !== undefined && request.vcpus === undefined ? base.memoryMiB : Math.min(vcpus * MEMORY_PER_VCPU_MIB, LIMITS.memoryMiB));
  const gpus = request.gpus ?? base?.gpus ?? 0;
  if (gpus > 0 && vcpus < gpus) {
    throw new UserInputError(`${gpus} GPUs with ${vcpus} vCPUs: give at least one vCPU per GPU (--vcpus ${gpus} or more).`);
  }
  return { vcpus, memoryMiB, gpus };
}

function presetNamed(name: string): ServerPreset {
  if (Object.hasOwn(SERVER_PRESETS, name)) return SERVER_PRESETS[name as ServerPresetName];
  const list = SERVER_PRESET_NAMES.map((preset) => `${preset} (${SERVER_PRESETS[preset].fits})`).join(", ");
  throw new UserInputError(`Unknown server size ${JSON.stringify(name)}: use one of ${list}.`);
}

function checkWhole(what: string, flag: string, value: number, min: number, max: number): void {
  if (!Number.isSafeInteger(value) || value < min || value > max) {
    throw new UserInputError(`${flag} ${value} is not a valid number of ${what}: give a whole number from ${min} to ${max}.`);
  }
}

function stripFits(preset: ServerPreset): ServerResources {
  return { vcpus: preset.vcpus, memoryMiB: preset.memoryMiB, gpus: preset.gpus };
}
