import { describe, it } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { mergeFrameTimes } from "../../src/domain/render-manifest.ts";

describe("mergeFrameTimes", () => {
  it("keeps earlier times only for frames still rendered and not timed again, sorted by frame", () => {
    assert.deepEqual(
      mergeFrameTimes([{ frame: 2, seconds: 7 }, { frame: 3, seconds: 9 }, { frame: 8, seconds: 1 }], [{ frame: 3, seconds: 4 }, { frame: 1, seconds: 5 }], [1, 2, 3]),
      [{ frame: 1, seconds: 5 }, { frame: 2, seconds: 7 }, { frame: 3, seconds: 4 }],
    );
    assert.deepEqual(mergeFrameTimes(undefined, [{ frame: 4, seconds: 1 }], [4]), [{ frame: 4, seconds: 1 }]);
  });

  it("has one entry per frame, every current time kept as it is", () => {
    const times = fc.array(fc.record({ frame: fc.integer({ min: -5, max: 30 }), seconds: fc.double({ min: 0, max: 100, noNaN: true }) }), { maxLength: 20 });
    fc.assert(
      fc.property(times, times, fc.array(fc.integer({ min: -5, max: 30 })), (earlier, now, rendered) => {
        const merged = mergeFrameTimes(earlier, now, rendered);
        const frames = merged.map((time) => time.frame);
        assert.deepEqual(frames, [...new Set(frames)].sort((a, b) => a - b));
        const lastNow = new Map(now.map((time) => [time.frame, time.seconds]));
        for (const [frame, seconds] of lastNow) assert.equal(merged.find((time) => time.frame === frame)?.seconds, seconds);
        for (const time of merged) assert.ok(lastNow.has(time.frame) || rendered.includes(time.frame));
      }),
    );
  });
});
