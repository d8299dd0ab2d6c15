import { describe, it } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import {
  DEFAULT_SERVER_PRESET,
  LIMITS,
  resolveResources,
  SERVER_PRESET_NAMES,
  SERVER_PRESETS,
} from "../../../src/backends/aws/server-sizes.ts";
import { UserInputError } from "../../../src/errors.ts";

function refuses(request: Parameters<typeof resolveResources>[0], pattern: RegExp): void {
  assert.throws(
    () => resolveResources(request),
    (error: unknown) => error instanceof UserInputError && pattern.test(error.message) && !error.message.includes("\n"),
  );
}

describe("server sizes", () => {
  it("span 2 vCPU / 8 GB to 192 vCPU and up to 8 GPUs, each memory fitting under its instance's", () => {
    assert.deepEqual(resolveResources({ preset: "small" }), { vcpus: 2, memoryMiB: 7168, gpus: 0 });
    assert.deepEqual(resolveResources({ preset: "2xlarge" }), { vcpus: 192, memoryMiB: 737_280, gpus: 0 });
    assert.deepEqual(resolveResources({ preset: "gpu-1" }).gpus, 1);
    assert.deepEqual(resolveResources({ preset: "gpu-4" }).gpus, 4);
    assert.deepEqual(resolveResources({ preset: "gpu-8" }), { vcpus: 192, memoryMiB: 737_280, gpus: 8 });
    for (const name of SERVER_PRESET_NAMES) {
      const preset = SERVER_PRESETS[name];
      const instanceGiB = Number(/\/ (\d+) GiB/.exec(preset.fits)![1]);
      assert.ok(preset.memoryMiB < instanceGiB * 1024, `${name} leaves room for the OS and ECS agent`);
      assert.ok(preset.memoryMiB >= instanceGiB * 1024 * 0.85, `${name} uses most of the instance`);
    }
  });

  it("defaults to the small preset, and lets explicit values override a preset", () => {
    assert.deepEqual(resolveResources({}), resolveResources({ preset: DEFAULT_SERVER_PRESET }));
    assert.deepEqual(resolveResources({ preset: "medium", memoryMiB: 16_384 }), { vcpus: 8, memoryMiB: 16_384, gpus: 0 });
    assert.deepEqual(resolveResources({ preset: "gpu-1", vcpus: 16 }), { vcpus: 16, memoryMiB: 16 * 3840, gpus: 1 });
    assert.deepEqual(resolveResources({ vcpus: 4 }), { vcpus: 4, memoryMiB: 15_360, gpus: 0 });
    assert.deepEqual(resolveResources({ vcpus: 4, memoryMiB: 8000, gpus: 1 }), { vcpus: 4, memoryMiB: 8000, gpus: 1 });
  });

  it("refuses unknown presets and values no instance can satisfy, saying what is allowed", () => {
    refuses({ preset: "huge" }, /Unknown server size "huge": use one of small \(.*\), .*gpu-8/);
    refuses({ vcpus: 0 }, /--vcpus 0 .*from 1 to 192/);
    refuses({ vcpus: 193 }, /--vcpus 193/);
    refuses({ vcpus: 2.5 }, /--vcpus 2.5/);
    refuses({ vcpus: 2, memoryMiB: 100 }, /--memory 100 .*from 512 to 786432/);
    refuses({ vcpus: 2, gpus: 9 }, /--gpus 9 .*from 0 to 8/);
    refuses({ memoryMiB: 4096 }, /without --vcpus: give --vcpus N too/);
    refuses({ preset: "gpu-8", vcpus: 4 }, /8 GPUs with 4 vCPUs/);
  });

  it("always resolves within the limits (property)", () => {
    fc.assert(
      fc.property(
        fc.option(fc.constantFrom(...SERVER_PRESET_NAMES), { nil: undefined }),
        fc.option(fc.integer({ min: 1, max: LIMITS.vcpus }), { nil: undefined }),
        fc.option(fc.integer({ min: LIMITS.minMemoryMiB, max: LIMITS.memoryMiB }), { nil: undefined }),
        (preset, vcpus, memoryMiB) => {
          if (preset === undefined && vcpus === undefined && memoryMiB !== undefined) return;
          const gpus = preset === undefined ? 0 : SERVER_PRESETS[preset].gpus;
          if (vcpus !== undefined && vcpus < gpus) {
            assert.throws(() => resolveResources({ preset, vcpus, memoryMiB }), /at least one vCPU per GPU/);
            return;
          }
          const resolved = resolveResources({ preset, vcpus, memoryMiB });
          assert.ok(resolved.vcpus >= 1 && resolved.vcpus <= LIMITS.vcpus);
          assert.ok(resolved.memoryMiB >= LIMITS.minMemoryMiB && resolved.memoryMiB <= LIMITS.memoryMiB);
          if (vcpus !== undefined) assert.equal(resolved.vcpus, vcpus);
          if (memoryMiB !== undefined) assert.equal(resolved.memoryMiB, memoryMiB);
        },
      ),
    );
  });
});
