import { describe, it } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { chooseRenderProcesses, dealFrames } from "../../src/domain/render-processes.ts";

describe("chooseRenderProcesses", () => {
  it("keeps one Blender with every thread below 8 cores (what Brender always did)", () => {
    for (const cores of [1, 2, 4, 7]) assert.deepEqual(chooseRenderProcesses({ cores, frames: 100 }), { processes: 1 });
  });

  it("runs one Blender per 4 cores on bigger machines, each with its share of the threads", () => {
    assert.deepEqual(chooseRenderProcesses({ cores: 8, frames: 100 }), { processes: 2, threads: 4 });
    assert.deepEqual(chooseRenderProcesses({ cores: 16, frames: 100 }), { processes: 4, threads: 4 });
    assert.deepEqual(chooseRenderProcesses({ cores: 64, frames: 240 }), { processes: 16, threads: 4 });
  });

  it("uses no more Blenders than finish the frames in the same number of rounds", () => {
    // 6 frames on 16 cores: 4 Blenders would need 2 rounds with 2 idle in the second; 3 do it in 2 rounds with none idle.
    assert.deepEqual(chooseRenderProcesses({ cores: 16, frames: 6 }), { processes: 3, threads: 5 });
    assert.deepEqual(chooseRenderProcesses({ cores: 16, frames: 1 }), { processes: 1 });
    assert.deepEqual(chooseRenderProcesses({ cores: 16, frames: 3 }), { processes: 3, threads: 5 });
  });

  it("keeps one Blender for a GPU render, and follows a fixed number when one is given", () => {
    assert.deepEqual(chooseRenderProcesses({ cores: 32, frames: 50, gpu: true }), { processes: 1 });
    assert.deepEqual(chooseRenderProcesses({ cores: 2, frames: 6, processes: 2 }), { processes: 2, threads: 1 });
    assert.deepEqual(chooseRenderProcesses({ cores: 2, frames: 1, processes: 4 }), { processes: 1 });
  });

  it("never asks for more threads than cores, nor more Blenders than frames", () => {
    fc.assert(fc.property(fc.integer({ min: 1, max: 256 }), fc.integer({ min: 1, max: 1000 }), (cores, frames) => {
      const split = chooseRenderProcesses({ cores, frames });
      assert.ok(split.processes >= 1 && split.processes <= frames);
      if (split.threads !== undefined) assert.ok(split.threads >= 1 && split.processes * split.threads <= cores);
      // Every Blender has work in the last round but at most one frame less than the others.
      const shares = dealFrames(Array.from({ length: frames }, (_, index) => index + 1), split.processes);
      assert.equal(shares.length, split.processes);
      assert.ok(Math.max(...shares.map((s) => s.length)) - Math.min(...shares.map((s) => s.length)) <= 1);
    }));
  });
});

describe("dealFrames", () => {
  it("deals frames in turn, each share in order, and every frame once", () => {
    assert.deepEqual(dealFrames([1, 2, 3, 4, 5, 6, 7], 3), [[1, 4, 7], [2, 5], [3, 6]]);
    assert.deepEqual(dealFrames([10, 20], 4), [[10], [20]]);
    assert.deepEqual(dealFrames([5], 1), [[5]]);
  });
});
