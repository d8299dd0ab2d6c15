import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { parseBlenderLine } from "../../src/blender/output-parser.ts";

describe("parseBlenderLine", () => {
  it("reads Cycles and Eevee sample lines as Blender 3.x and 4.x print them", () => {
    assert.deepEqual(
      parseBlenderLine("Fra:1 Mem:14.82M (Peak 14.82M) | Time:00:00.44 | Remaining:00:06.51 | Mem:3.50M, Peak:3.50M | Demo, ViewLayer | Sample 1/16"),
      { kind: "samples", frame: 1, sample: 1, samples: 16 },
    );
    assert.deepEqual(
      parseBlenderLine("Fra:12 Mem:13.47M (Peak 14.30M) | Time:00:01.25 | Rendering 3 / 16 samples"),
      { kind: "samples", frame: 12, sample: 3, samples: 16 },
    );
  });

  it("reads them as Blender 5.x prints them: a time and log category first, spaces after the colons", () => {
    assert.deepEqual(
      parseBlenderLine("00:01.430  render           | Fra: 1 | Remaining: 00:05.86 | Mem: 4M | Sample 1/16"),
      { kind: "samples", frame: 1, sample: 1, samples: 16 },
    );
    assert.deepEqual(parseBlenderLine("00:07.867  render           | Fra: 250 | Mem: 4M | Sample 16/16"), { kind: "samples", frame: 250, sample: 16, samples: 16 });
    assert.deepEqual(parseBlenderLine("00:00.964  render           | Fra: 1 | Mem: 0M | Synchronizing object | Sun"), { kind: "other" });
    assert.deepEqual(parseBlenderLine("00:08.253  render           | Saved: '/tmp/f_0001.png'"), { kind: "other" });
  });
});
