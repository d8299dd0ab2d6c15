import { describe, it } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { UserInputError } from "../../src/errors.ts";
import {
  MAX_ARRAY_SIZE,
  MAX_FRAME,
  MAX_FRAMES_PER_JOB,
  MIN_FRAME,
  arraySizeFor,
  compressFrames,
  expandFrames,
  formatFrameSet,
  frameCount,
  framesForChild,
  parseFrameSet,
  splitFrames,
} from "../../src/domain/frames.ts";
import type { FrameRange, FrameSet, FrameSplit } from "../../src/domain/frames.ts";

/** Asserts `run` throws a one-line UserInputError whose message contains every `fragments` entry. */
function assertUserError(run: () => unknown, ...fragments: string[]): void {
  assert.throws(run, (error: unknown) => {
    assert.ok(error instanceof UserInputError, `expected UserInputError, got ${String(error)}`);
    assert.equal(error.exitCode, 2);
    assert.ok(!error.message.includes("\n"), `message should be one line: ${error.message}`);
    for (const fragment of fragments) {
      assert.ok(error.message.includes(fragment), `message ${JSON.stringify(error.message)} lacks ${fragment}`);
    }
    return true;
  });
}

const range = (start: number, end: number, step = 1): FrameRange => ({ start, end, step });

describe("parseFrameSet", () => {
  const examples: [string, FrameRange[]][] = [
    ["7", [range(7, 7)]],
    ["1-250", [range(1, 250)]],
    ["1-10:2", [range(1, 9, 2)]],
    ["1-10:4", [range(1, 9, 4)]],
    ["1-9:4", [range(1, 9, 4)]],
    ["1-10:1", [range(1, 10)]],
    ["-3", [range(-3, -3)]],
    ["-5--1", [range(-5, -1)]],
    ["-10-10:2", [range(-10, 10, 2)]],
    ["-10--1:3", [range(-10, -1, 3)]],
    ["0", [range(0, 0)]],
    ["-0", [range(0, 0)]],
    ["007", [range(7, 7)]],
    ["5-5", [range(5, 5)]],
    ["5-5:3", [range(5, 5)]],
    ["1-2:5", [range(1, 1)]],
    ["1-5:4", [range(1, 5, 4)]],
    [" 1 , 3-5 ,\t10-20:5 ", [range(1, 1), range(3, 5), range(10, 20, 5)]],
    ["10,1-3", [range(10, 10), range(1, 3)]],
    ["1-9:2,2-10:2", [range(1, 9, 2), range(2, 10, 2)]],
    [`${MIN_FRAME}-${MAX_FRAME}:${MAX_FRAME}`, [range(MIN_FRAME, MAX_FRAME, MAX_FRAME)]],
    [`${MIN_FRAME},${MAX_FRAME}`, [range(MIN_FRAME, MIN_FRAME), range(MAX_FRAME, MAX_FRAME)]],
  ];
  for (const [text, ranges] of examples) {
    it(`parses ${JSON.stringify(text)}`, () => {
      assert.deepEqual(parseFrameSet(text), { ranges });
    });
  }

  it("has Blender's frame limits", () => {
    assert.equal(MIN_FRAME, -1_048_574);
    assert.equal(MAX_FRAME, 1_048_574);
    assert.equal(MAX_FRAMES_PER_JOB, 1_000_000);
  });

  it("rejects empty input", () => {
    assertUserError(() => parseFrameSet(""), "empty", "1-250");
    assertUserError(() => parseFrameSet("  \t "), "empty");
  });

  it("rejects empty parts, quoting the frame set", () => {
    assertUserError(() => parseFrameSet("1,,3"), '"1,,3"', "empty part", "part 2");
    assertUserError(() => parseFrameSet("1,"), '"1,"', "empty part");
    assertUserError(() => parseFrameSet(",1"), '",1"', "part 1");
    assertUserError(() => parseFrameSet("1, ,3"), '"1, ,3"', "empty part");
  });

  it("rejects reversed ranges, suggesting the right order", () => {
    assertUserError(() => parseFrameSet("10-1"), '"10-1"', "backwards", '"1-10"');
    assertUserError(() => parseFrameSet("1-5,10-1:3"), '"10-1:3"', "backwards", '"1-10:3"');
    assertUserError(() => parseFrameSet("-1--5"), '"-1--5"', "backwards");
  });

  it("rejects zero and negative steps", () => {
    assertUserError(() => parseFrameSet("1-10:0"), '"1-10:0"', "step 0", "at least 1");
    assertUserError(() => parseFrameSet("1-10:-2"), '"1-10:-2"', "step -2", "at least 1");
    assertUserError(() => parseFrameSet("3,1-10:-0"), '"1-10:-0"', "at least 1");
  });

  it("rejects parts that are not frames or ranges, saying what form is expected", () => {
    for (const bad of ["a-5", "1.5", "1-", "-", "1:2", "1 - 5", "--3", "1-10:", "1-10:2:3", "0x10", "1e3", "+3", "1-2-3", "five"]) {
      assertUserError(() => parseFrameSet(`1,${bad}`), JSON.stringify(bad), "A-B:S");
    }
  });

  it("rejects frames outside Blender's limits", () => {
    assertUserError(() => parseFrameSet("2000000"), '"2000000"', "outside Blender's frame limits", "1048574");
    assertUserError(() => parseFrameSet("1-1048575"), '"1-1048575"', "1048575", "limits");
    assertUserError(() => parseFrameSet("-1048575"), '"-1048575"', "limits");
    assertUserError(() => parseFrameSet("1-99999999999999999999999"), "99999999999999999999999", "limits");
  });

  it("rejects more than a million frames as an absurd size", () => {
    assertUserError(() => parseFrameSet("1-1000000,1000001"), '"1-1000000,1000001"', "1000001 frames", "absurd");
    assertUserError(() => parseFrameSet("-1048574-1048574"), '"-1048574-1048574"', "absurd", "1000000");
    assert.equal(frameCount(parseFrameSet("1-1000000")), MAX_FRAMES_PER_JOB);
  });

  it("rejects a frame selected twice, naming both parts", () => {
    assertUserError(() => parseFrameSet("1-10,5"), '"1-10"', '"5"', "frame 5");
    assertUserError(() => parseFrameSet("5,1-10"), '"5" and "1-10"', "frame 5");
    assertUserError(() => parseFrameSet("1-9:2, 3-7:4"), '"1-9:2" and "3-7:4"', "frame 3");
    assertUserError(() => parseFrameSet("20,1-10:3,0-12:5"), '"1-10:3" and "0-12:5"', "frame 10");
    assertUserError(() => parseFrameSet("-5--1,-1"), '"-5--1" and "-1"', "frame -1");
    assertUserError(() => parseFrameSet("4,4"), '"4" and "4"');
  });

  it("keeps the message readable for a huge bad input", () => {
    const huge = Array.from({ length: 5000 }, (_, i) => String(i * 2)).join(",") + ",,";
    assertUserError(() => parseFrameSet(huge), "empty part");
    assert.throws(() => parseFrameSet(huge), (error: Error) => error.message.length < 300);
  });
});

describe("formatFrameSet", () => {
  it("writes the canonical form", () => {
    assert.equal(formatFrameSet({ ranges: [range(7, 7)] }), "7");
    assert.equal(formatFrameSet({ ranges: [range(1, 250)] }), "1-250");
    assert.equal(formatFrameSet({ ranges: [range(1, 249, 4)] }), "1-249:4");
    assert.equal(formatFrameSet({ ranges: [range(-5, -1), range(-10, -10), range(0, 4, 2)] }), "-5--1,-10,0-4:2");
    assert.equal(formatFrameSet(parseFrameSet(" 1-10:4 , 20 , 30-31:1 ")), "1-9:4,20,30-31");
  });
});

describe("frameCount and expandFrames", () => {
  it("count and expand in the written order", () => {
    const set = parseFrameSet("10,1-3,20-30:5,-2");
    assert.equal(frameCount(set), 8);
    assert.deepEqual(expandFrames(set), [10, 1, 2, 3, 20, 25, 30, -2]);
    assert.deepEqual(expandFrames(parseFrameSet("-10-10:7")), [-10, -3, 4]);
  });
});

describe("compressFrames", () => {
  const examples: [number[], string][] = [
    [[1, 3, 5, 6, 7], "1-5:2,6-7"],
    [[1, 2, 4, 5, 6], "1-2,4-6"],
    [[1, 10, 11, 12], "1,10-12"],
    [[1, 5], "1,5"],
    [[1, 2], "1-2"],
    [[5, 4, 3], "5,4,3"],
    [[10, 1, 2, 3], "10,1-3"],
    [[-5, -4, -3, 0, 3], "-5--3,0,3"],
    [[-5, -4, -3, 0, 3, 6], "-5--3,0-6:3"],
    [[7], "7"],
  ];
  for (const [frames, text] of examples) {
    it(`compresses ${JSON.stringify(frames)} to ${text}`, () => {
      assert.equal(formatFrameSet(compressFrames(frames)), text);
    });
  }

  it("gives an empty set for no frames", () => {
    assert.deepEqual(compressFrames([]), { ranges: [] });
  });
});

describe("splitting frames across an array job", () => {
  const tenByTwo = expandFrames(parseFrameSet("1-10:2"));

  it("shares 1-10:2 between 2 children as [1,3,5] and [7,9]", () => {
    assert.deepEqual(splitFrames(tenByTwo, { arraySize: 2 }), [[1, 3, 5], [7, 9]]);
    assert.deepEqual(framesForChild(tenByTwo, { arraySize: 2 }, 0), [1, 3, 5]);
    assert.deepEqual(framesForChild(tenByTwo, { arraySize: 2 }, 1), [7, 9]);
  });

  it("splits by chunk size, the last chunk taking the rest", () => {
    assert.equal(arraySizeFor(5, { chunkSize: 2 }), 3);
    assert.deepEqual(splitFrames(tenByTwo, { chunkSize: 2 }), [[1, 3], [5, 7], [9]]);
    assert.deepEqual(splitFrames(tenByTwo, { chunkSize: 5 }), [[1, 3, 5, 7, 9]]);
    assert.deepEqual(splitFrames(tenByTwo, { chunkSize: 50 }), [[1, 3, 5, 7, 9]]);
    assert.deepEqual(splitFrames([], { chunkSize: 3 }), [[]]);
  });

  it("gives the first children one frame each when there are fewer frames than children", () => {
    assert.deepEqual(splitFrames([8, 9], { arraySize: 4 }), [[8], [9], [], []]);
    assert.deepEqual(framesForChild([8, 9], { arraySize: 4 }, 3), []);
  });

  it("keeps the array size as given", () => {
    assert.equal(arraySizeFor(3, { arraySize: 7 }), 7);
    assert.equal(arraySizeFor(0, { arraySize: MAX_ARRAY_SIZE }), MAX_ARRAY_SIZE);
  });

  it("rejects array sizes outside 1..10000", () => {
    for (const arraySize of [0, -1, 10_001, 1.5, Number.NaN]) {
      assertUserError(() => arraySizeFor(10, { arraySize }), `array size ${arraySize}`, "10000");
      assertUserError(() => splitFrames(tenByTwo, { arraySize }), `array size ${arraySize}`);
      assertUserError(() => framesForChild(tenByTwo, { arraySize }, 0), `array size ${arraySize}`);
    }
  });

  it("rejects chunk sizes that are not positive whole numbers", () => {
    for (const chunkSize of [0, -3, 2.5, Number.POSITIVE_INFINITY]) {
      assertUserError(() => arraySizeFor(10, { chunkSize }), `chunk size ${chunkSize}`, "at least 1");
    }
  });

  it("rejects a chunk size that needs more children than AWS Batch allows", () => {
    assertUserError(() => arraySizeFor(20_000, { chunkSize: 1 }), "chunk size 1", "20000 children", "at least 2");
    assert.equal(arraySizeFor(20_000, { chunkSize: 2 }), MAX_ARRAY_SIZE);
  });

  it("rejects a child index outside the array", () => {
    for (const index of [-1, 2, 0.5]) {
      assertUserError(() => framesForChild(tenByTwo, { arraySize: 2 }, index), `child index ${index}`, "0 to 1");
    }
    assertUserError(() => framesForChild(tenByTwo, { chunkSize: 2 }, 3), "child index 3", "0 to 2");
  });
});

// ---- property tests ----

/** Disjoint ranges laid out left to right, then written in any order. */
const sequentialSet: fc.Arbitrary<FrameSet> = fc
  .record({
    base: fc.oneof(fc.integer({ min: -3000, max: 3000 }), fc.constant(MIN_FRAME), fc.constant(MAX_FRAME - 2000)),
    parts: fc.array(
      fc.record({ gap: fc.nat(20), count: fc.integer({ min: 1, max: 30 }), step: fc.integer({ min: 1, max: 4 }) }),
      { minLength: 1, maxLength: 8 },
    ),
  })
  .chain(({ base, parts }) => {
    let cursor = base;
    const ranges = parts.map(({ gap, count, step }) => {
      const start = cursor + gap;
      const end = start + (count - 1) * step;
      cursor = end + 1;
      return range(start, end, count === 1 ? 1 : step);
    });
    return fc.shuffledSubarray(ranges, { minLength: ranges.length, maxLength: ranges.length });
  })
  .map((ranges) => ({ ranges }));

/** Ranges sharing one step and interleaving on distinct residues, e.g. 1-9:2,2-10:2. */
const interleavedSet: fc.Arbitrary<FrameSet> = fc
  .record({
    base: fc.integer({ min: -1000, max: 1000 }),
    step: fc.integer({ min: 2, max: 6 }),
    counts: fc.array(fc.integer({ min: 1, max: 20 }), { minLength: 1, maxLength: 6 }),
  })
  .map(({ base, step, counts }) => ({
    ranges: counts.slice(0, step).map((count, residue) => {
      const start = base + residue;
      return count === 1 ? range(start, start) : range(start, start + (count - 1) * step, step);
    }),
  }));

const validSet = fc.oneof(sequentialSet, interleavedSet);

/** A non-canonical way to write a set: extra spaces, ends past the last frame, explicit step 1. */
function writeLoosely(set: FrameSet): fc.Arbitrary<string> {
  return fc
    .tuple(
      ...set.ranges.map((r) =>
        fc.record({
          before: fc.constantFrom("", " ", "  ", "\t"),
          after: fc.constantFrom("", " "),
          overshoot: fc.nat(r.step - 1),
          explicitStep: fc.boolean(),
        }),
      ),
    )
    .map((styles) =>
      set.ranges
        .map((r, i) => {
          const { before, after, overshoot, explicitStep } = styles[i]!;
          const end = Math.min(MAX_FRAME, r.end + overshoot);
          const written =
            r.start === r.end && end === r.end && !explicitStep
              ? `${r.start}`
              : `${r.start}-${end}${r.step !== 1 || explicitStep ? `:${r.step}` : ""}`;
          return `${before}${written}${after}`;
        })
        .join(","),
    );
}

const distinctFrames = fc.uniqueArray(fc.integer({ min: -5000, max: 5000 }), { maxLength: 200 });
const anySplit: fc.Arbitrary<FrameSplit> = fc.oneof(
  fc.integer({ min: 1, max: 60 }).map((arraySize) => ({ arraySize })),
  fc.integer({ min: 1, max: 60 }).map((chunkSize) => ({ chunkSize })),
);

describe("frame set properties", () => {
  it("canonical round trip: parse(format(x)) equals x", () => {
    fc.assert(
      fc.property(validSet, (set) => {
        assert.deepEqual(parseFrameSet(formatFrameSet(set)), set);
      }),
    );
  });

  it("loosely written sets parse to the same set, and formatting is idempotent", () => {
    fc.assert(
      fc.property(validSet.chain((set) => fc.tuple(fc.constant(set), writeLoosely(set))), ([set, text]) => {
        const parsed = parseFrameSet(text);
        assert.deepEqual(parsed, set);
        const canonical = formatFrameSet(parsed);
        assert.equal(formatFrameSet(parseFrameSet(canonical)), canonical);
      }),
    );
  });

  it("frameCount matches the expansion, which has no duplicates", () => {
    fc.assert(
      fc.property(validSet, (set) => {
        const frames = expandFrames(set);
        assert.equal(frames.length, frameCount(set));
        assert.equal(new Set(frames).size, frames.length);
      }),
    );
  });

  it("a set with a frame written twice is rejected", () => {
    fc.assert(
      fc.property(
        validSet.chain((set) => fc.tuple(fc.constant(set), fc.constantFrom(...expandFrames(set)))),
        ([set, frame]) => {
          assertUserError(() => parseFrameSet(`${formatFrameSet(set)},${frame}`), `frame ${frame}`, `"${frame}"`);
        },
      ),
    );
  });

  it("compressFrames expands back to the same list and is a valid frame set", () => {
    fc.assert(
      fc.property(fc.oneof(distinctFrames, validSet.map(expandFrames)), (frames) => {
        const compressed = compressFrames(frames);
        assert.deepEqual(expandFrames(compressed), frames);
        assert.ok(compressed.ranges.length <= frames.length);
        if (frames.length > 0) assert.deepEqual(parseFrameSet(formatFrameSet(compressed)), compressed);
      }),
    );
  });
});

describe("split properties", () => {
  it("children concatenate to the list: every frame once, order kept", () => {
    fc.assert(
      fc.property(distinctFrames, anySplit, (frames, split) => {
        const shares = splitFrames(frames, split);
        assert.equal(shares.length, arraySizeFor(frames.length, split));
        assert.deepEqual(shares.flat(), frames);
        const seen = new Map<number, number>();
        for (const frame of shares.flat()) seen.set(frame, (seen.get(frame) ?? 0) + 1);
        assert.ok([...seen.values()].every((times) => times === 1));
        assert.equal(seen.size, frames.length);
      }),
    );
  });

  it("by array size, shares differ by at most one, larger first, none empty unless frames < children", () => {
    fc.assert(
      fc.property(distinctFrames, fc.integer({ min: 1, max: 300 }), (frames, arraySize) => {
        const sizes = splitFrames(frames, { arraySize }).map((share) => share.length);
        assert.equal(sizes.length, arraySize);
        assert.ok(Math.max(...sizes) - Math.min(...sizes) <= 1);
        for (let i = 1; i < sizes.length; i++) assert.ok(sizes[i]! <= sizes[i - 1]!);
        if (frames.length >= arraySize) assert.ok(sizes.every((size) => size > 0));
        else assert.equal(sizes.filter((size) => size > 0).length, frames.length);
      }),
    );
  });

  it("by chunk size, every chunk is full except possibly the last, which is not empty", () => {
    fc.assert(
      fc.property(distinctFrames, fc.integer({ min: 1, max: 60 }), (frames, chunkSize) => {
        const sizes = splitFrames(frames, { chunkSize }).map((share) => share.length);
        assert.equal(sizes.length, Math.max(1, Math.ceil(frames.length / chunkSize)));
        assert.ok(sizes.slice(0, -1).every((size) => size === chunkSize));
        const last = sizes.at(-1)!;
        assert.ok(last <= chunkSize && (last > 0 || frames.length === 0));
      }),
    );
  });

  it("framesForChild(i) equals splitFrames()[i]", () => {
    fc.assert(
      fc.property(distinctFrames, anySplit, (frames, split) => {
        const shares = splitFrames(frames, split);
        shares.forEach((share, index) => assert.deepEqual(framesForChild(frames, split, index), share));
      }),
    );
  });
});

describe("a million frames", () => {
  it("parses, expands and splits quickly", () => {
    const began = performance.now();
    // Interleaved halves make the overlap check visit every frame.
    const set = parseFrameSet("-500000-499998:2,-499999-499999:2");
    assert.equal(frameCount(set), 1_000_000);
    const frames = expandFrames(set);
    assert.equal(frames.length, 1_000_000);
    assert.equal(frames[500_000], -499_999);

    const split: FrameSplit = { arraySize: MAX_ARRAY_SIZE };
    let total = 0;
    for (let index = 0; index < MAX_ARRAY_SIZE; index++) {
      const share = framesForChild(frames, split, index);
      assert.equal(share.length, 100);
      total += share.length;
    }
    assert.equal(total, 1_000_000);
    assert.deepEqual(splitFrames(frames, split).flat().length, 1_000_000);
    assert.equal(splitFrames(frames, { chunkSize: 100 }).length, MAX_ARRAY_SIZE);
    assert.deepEqual(formatFrameSet(compressFrames(frames)), "-500000-499998:2,-499999-499999:2");
    assert.equal(formatFrameSet(parseFrameSet("1-1000000")), "1-1000000");

    const elapsed = performance.now() - began;
    assert.ok(elapsed < 5000, `took ${Math.round(elapsed)} ms`);
  });
});
