import { describe, it } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { UserInputError } from "../../src/errors.ts";
import { parseFrameSet } from "../../src/domain/frames.ts";
import {
  COLOR_DEPTHS_BY_FORMAT,
  FORMATS_WITHOUT_ALPHA,
  OUTPUT_FORMATS,
  RENDER_PAYLOAD_SCHEMA_VERSION,
  parseRenderPayload,
  parseRenderPayloadJson,
  renderJobPayloadSchema,
  renderPayloadJsonSchema,
} from "../../src/domain/render-payload.ts";
import type { RenderJobPayload, RenderJobPayloadInput } from "../../src/domain/render-payload.ts";

const minimal = {
  schemaVersion: 1,
  renderId: "shot-010",
  project: { name: "my-film", blendFile: "shots/010.blend" },
  type: "animation",
  frames: "1-250",
} as const;

/** Parses `input` expecting failure; returns the error message. */
function rejection(input: unknown): string {
  try {
    parseRenderPayload(input);
  } catch (error) {
    assert.ok(error instanceof UserInputError, `expected UserInputError, got ${String(error)}`);
    assert.equal(error.exitCode, 2);
    assert.ok(!error.message.includes("\n"), `message must be one line: ${error.message}`);
    assert.match(error.message, /^Invalid render job payload: /);
    return error.message;
  }
  assert.fail(`expected ${JSON.stringify(input)} to be rejected`);
}

/** `minimal` with `changes` applied (undefined deletes a field). */
function payloadWith(changes: Record<string, unknown>): Record<string, unknown> {
  const payload: Record<string, unknown> = { ...minimal, ...changes };
  for (const [key, value] of Object.entries(changes)) if (value === undefined) delete payload[key];
  return payload;
}

describe("parseRenderPayload: valid payloads", () => {
  it("keeps every field of a full payload", () => {
    const full: RenderJobPayloadInput = {
      schemaVersion: 1,
      renderId: "abc-123",
      project: { name: "Film_2.final", blendFile: "scenes/main scene.blend" },
      type: "python",
      mode: "override",
      frames: "10-20:5",
      split: { chunkSize: 2 },
      scene: "Scene",
      viewLayer: "ViewLayer",
      camera: "Camera.001",
      gpu: true,
      render: {
        engine: "CYCLES",
        compositor: false,
        sequencer: true,
        stamp: true,
        fps: 24,
        resolution: { x: 1920, y: 1080, percentage: 50 },
        pixelAspect: { x: 1, y: 1.5 },
        output: {
          format: "OPEN_EXR",
          colorMode: "RGBA",
          colorDepth: "32",
          compression: 15,
          quality: 90,
          exrCodec: "DWAA",
        },
        cycles: {
          samples: 512,
          adaptiveSampling: true,
          noiseThreshold: 0.01,
          adaptiveMinSamples: 0,
          denoising: { enabled: true, denoiser: "OPENIMAGEDENOISE", passes: "RGB_ALBEDO", prefilter: "ACCURATE" },
          bounces: { total: 12, diffuse: 4, glossy: 4, transmission: 12, transparent: 8, volume: 0 },
          clamp: { direct: 0, indirect: 10 },
          caustics: { reflective: false, refractive: true },
          filterGlossy: 1,
        },
        eevee: { samples: 64 },
      },
      python: { script: "tools/bake.py", env: { QUALITY: "high", _X1: "" } },
      video: { enabled: false, quality: "HIGH", encodingSpeed: "BEST", container: "MKV", autosplit: true },
      notify: { email: "artist@example.com", onSuccess: false, onFailure: true },
    };
    const parsed = parseRenderPayload(structuredClone(full));
    // frames "10-20:5" is already canonical, so nothing changes.
    assert.deepEqual(parsed, full);
  });

  it("fills every default for a minimal payload", () => {
    assert.deepEqual(parseRenderPayload(minimal), {
      ...minimal,
      mode: "auto",
      split: { arraySize: 1 },
      gpu: false,
      video: { enabled: true, quality: "MEDIUM", encodingSpeed: "GOOD", container: "MPEG4", autosplit: false },
      notify: { onSuccess: true, onFailure: true },
    });
  });

  it("fills defaults inside partly given objects", () => {
    const parsed = parseRenderPayload(
      payloadWith({ video: { container: "AVI" }, notify: { email: "a@b.co" }, type: "python", python: { script: "x.py" } }),
    );
    assert.deepEqual(parsed.video, {
      enabled: true,
      quality: "MEDIUM",
      encodingSpeed: "GOOD",
      container: "AVI",
      autosplit: false,
    });
    assert.deepEqual(parsed.notify, { email: "a@b.co", onSuccess: true, onFailure: true });
    assert.deepEqual(parsed.python, { script: "x.py", env: {} });
  });

  it("does not share default objects between payloads", () => {
    const first = parseRenderPayload(minimal);
    (first.split as { arraySize: number }).arraySize = 7;
    first.video.enabled = false;
    const second = parseRenderPayload(minimal);
    assert.deepEqual(second.split, { arraySize: 1 });
    assert.equal(second.video.enabled, true);
  });

  it("canonicalizes frames", () => {
    assert.equal(parseRenderPayload(payloadWith({ frames: " 1-3 , 5,7-16:4 " })).frames, "1-3,5,7-15:4");
    assert.equal(parseRenderPayload(payloadWith({ frames: "4-4" })).frames, "4");
  });

  it("accepts a still with one frame and an EXR at 32 bits", () => {
    const parsed = parseRenderPayload(
      payloadWith({
        type: "still",
        frames: "42",
        mode: "override",
        render: { output: { format: "OPEN_EXR", colorDepth: "32" } },
      }),
    );
    assert.equal(parsed.frames, "42");
    assert.equal(parsed.render?.output?.colorDepth, "32");
  });

  it("accepts mode override without render overrides", () => {
    assert.equal(parseRenderPayload(payloadWith({ mode: "override" })).mode, "override");
  });

  it("exports the schema version the payload carries", () => {
    assert.equal(RENDER_PAYLOAD_SCHEMA_VERSION, 1);
    assert.equal(renderJobPayloadSchema.safeParse(minimal).success, true);
  });
});

describe("parseRenderPayload: rejections name the dotted field path", () => {
  const cases: { name: string; input: Record<string, unknown>; expected: RegExp }[] = [
    { name: "wrong schema version", input: payloadWith({ schemaVersion: 2 }), expected: /schemaVersion: must be 1 \(got 2\)/ },
    { name: "missing schema version", input: payloadWith({ schemaVersion: undefined }), expected: /schemaVersion: is required/ },
    { name: "upper-case render id", input: payloadWith({ renderId: "Shot" }), expected: /renderId: must be 3 to 63 .*\(got "Shot"\)/ },
    { name: "too short render id", input: payloadWith({ renderId: "ab" }), expected: /renderId: / },
    { name: "render id starting with -", input: payloadWith({ renderId: "-abc" }), expected: /renderId: / },
    { name: "render id of 64 characters", input: payloadWith({ renderId: "a".repeat(64) }), expected: /renderId: / },
    {
      name: "bad project name",
      input: payloadWith({ project: { name: ".hidden", blendFile: "a.blend" } }),
      expected: /project\.name: must be 1 to 100 .*\(got "\.hidden"\)/,
    },
    {
      name: "absolute blend file",
      input: payloadWith({ project: { name: "p", blendFile: "/home/me/a.blend" } }),
      expected: /project\.blendFile: must be relative to the project folder/,
    },
    {
      name: "blend file escaping the project",
      input: payloadWith({ project: { name: "p", blendFile: "shots/../../a.blend" } }),
      expected: /project\.blendFile: must stay inside the project folder: "\.\." is not allowed/,
    },
    {
      name: "backslash in blend file",
      input: payloadWith({ project: { name: "p", blendFile: "shots\\a.blend" } }),
      expected: /project\.blendFile: must use "\/" between folders, not "\\"/,
    },
    {
      name: "blend file with another extension",
      input: payloadWith({ project: { name: "p", blendFile: "a.blend1" } }),
      expected: /project\.blendFile: must name a \.blend file/,
    },
    {
      name: "missing blend file",
      input: payloadWith({ project: { name: "p" } }),
      expected: /project\.blendFile: is required/,
    },
    { name: "unknown type", input: payloadWith({ type: "movie" }), expected: /type: must be one of "still", "animation", "python" \(got "movie"\)/ },
    { name: "unknown mode", input: payloadWith({ mode: "manual" }), expected: /mode: must be one of "auto", "override"/ },
    { name: "frames not a string", input: payloadWith({ frames: 5 }), expected: /frames: must be a string \(got 5\)/ },
    { name: "array size 0", input: payloadWith({ split: { arraySize: 0 } }), expected: /split\.arraySize: must be at least 1 \(got 0\)/ },
    {
      name: "array size above AWS Batch's limit",
      input: payloadWith({ split: { arraySize: 10001 } }),
      expected: /split\.arraySize: must be at most 10000 \(got 10001\)/,
    },
    { name: "fractional chunk size", input: payloadWith({ split: { chunkSize: 1.5 } }), expected: /split\.chunkSize: must be a whole number \(got 1\.5\)/ },
    {
      name: "both array size and chunk size",
      input: payloadWith({ split: { arraySize: 2, chunkSize: 2 } }),
      expected: /split: must be either \{ "arraySize": N \}.* or \{ "chunkSize": N \}/,
    },
    {
      name: "chunk size giving too many children",
      input: payloadWith({ frames: "1-20001", split: { chunkSize: 2 } }),
      expected: /split: chunk size 2 splits 20001 frames into 10001 children/,
    },
    { name: "empty scene name", input: payloadWith({ scene: "" }), expected: /scene: must not be empty/ },
    { name: "gpu not a boolean", input: payloadWith({ gpu: "yes" }), expected: /gpu: must be true or false \(got "yes"\)/ },
    {
      name: "python script outside the project",
      input: payloadWith({ type: "python", python: { script: "../x.py" } }),
      expected: /python\.script: must stay inside the project folder/,
    },
    {
      name: "python script not a .py file",
      input: payloadWith({ type: "python", python: { script: "x.sh" } }),
      expected: /python\.script: must name a \.py file/,
    },
    {
      name: "lower-case environment variable",
      input: payloadWith({ type: "python", python: { script: "x.py", env: { path: "/x" } } }),
      expected: /python\.env\.path: name "path" must be upper-case letters, digits and _/,
    },
    {
      name: "environment variable with a number value",
      input: payloadWith({ type: "python", python: { script: "x.py", env: { N: 3 } } }),
      expected: /python\.env\.N: must be a string \(got 3\)/,
    },
    { name: "bad video quality", input: payloadWith({ video: { quality: "ULTRA" } }), expected: /video\.quality: must be one of "LOWEST", .*"LOSSLESS" \(got "ULTRA"\)/ },
    { name: "bad e-mail address", input: payloadWith({ notify: { email: "artist" } }), expected: /notify\.email: must be an e-mail address .*\(got "artist"\)/ },
    {
      name: "zero samples",
      input: payloadWith({ mode: "override", render: { cycles: { samples: 0 } } }),
      expected: /render\.cycles\.samples: must be at least 1 \(got 0\)/,
    },
    {
      name: "noise threshold above 1",
      input: payloadWith({ mode: "override", render: { cycles: { noiseThreshold: 1.5 } } }),
      expected: /render\.cycles\.noiseThreshold: must be at most 1 \(got 1\.5\)/,
    },
    {
      name: "too many bounces",
      input: payloadWith({ mode: "override", render: { cycles: { bounces: { glossy: 1025 } } } }),
      expected: /render\.cycles\.bounces\.glossy: must be at most 1024 \(got 1025\)/,
    },
    {
      name: "negative clamp",
      input: payloadWith({ mode: "override", render: { cycles: { clamp: { direct: -1 } } } }),
      expected: /render\.cycles\.clamp\.direct: must be at least 0 \(got -1\)/,
    },
    {
      name: "unknown denoiser",
      input: payloadWith({ mode: "override", render: { cycles: { denoising: { denoiser: "NLM" } } } }),
      expected: /render\.cycles\.denoising\.denoiser: must be one of "OPENIMAGEDENOISE", "OPTIX" \(got "NLM"\)/,
    },
    {
      name: "resolution too small",
      input: payloadWith({ mode: "override", render: { resolution: { x: 2 } } }),
      expected: /render\.resolution\.x: must be at least 4 \(got 2\)/,
    },
    {
      name: "pixel aspect below 1",
      input: payloadWith({ mode: "override", render: { pixelAspect: { y: 0.5 } } }),
      expected: /render\.pixelAspect\.y: must be at least 1 \(got 0\.5\)/,
    },
    {
      name: "fps of 0",
      input: payloadWith({ mode: "override", render: { fps: 0 } }),
      expected: /render\.fps: must be at least 1 \(got 0\)/,
    },
    {
      name: "unknown engine",
      input: payloadWith({ mode: "override", render: { engine: "LUXCORE" } }),
      expected: /render\.engine: must be one of "CYCLES", "BLENDER_EEVEE", "BLENDER_EEVEE_NEXT", "BLENDER_WORKBENCH" \(got "LUXCORE"\)/,
    },
    {
      name: "JPEG quality above 100",
      input: payloadWith({ mode: "override", render: { output: { quality: 101 } } }),
      expected: /render\.output\.quality: must be at most 100 \(got 101\)/,
    },
    {
      name: "eevee samples of 0",
      input: payloadWith({ mode: "override", render: { eevee: { samples: 0 } } }),
      expected: /render\.eevee\.samples: must be at least 1 \(got 0\)/,
    },
    { name: "a payload that is not an object", input: [] as unknown as Record<string, unknown>, expected: /payload: must be an object \(got an array\)/ },
  ];
  for (const { name, input, expected } of cases) {
    it(`rejects ${name}`, () => {
      assert.match(rejection(input), expected);
    });
  }

  it("names every missing required field", () => {
    const message = rejection({});
    for (const field of ["schemaVersion", "renderId", "project", "type", "frames"]) {
      assert.match(message, new RegExp(`${field}: is required`));
    }
  });

  it("names unknown fields at any depth and suggests removing them", () => {
    const message = rejection(
      payloadWith({
        colour: "red",
        project: { name: "p", blendFile: "a.blend", owner: "me" },
        mode: "override",
        render: { cycles: { samples: 0, sampels: 4, denoising: { strength: 1 } } },
      }),
    );
    assert.match(message, /colour: unknown field "colour" — remove it or check the spelling/);
    assert.match(message, /project\.owner: unknown field "owner" — remove it/);
    assert.match(message, /render\.cycles\.sampels: unknown field "sampels" — remove it/);
    assert.match(message, /render\.cycles\.denoising\.strength: unknown field "strength" — remove it/);
    // Unknown fields do not hide other problems in the same object.
    assert.match(message, /render\.cycles\.samples: must be at least 1 \(got 0\)/);
  });

  it("lists every problem, separated by semicolons", () => {
    const message = rejection(payloadWith({ renderId: "X", gpu: 1, split: { arraySize: 0 } }));
    assert.equal(message.split("; ").length, 3);
    assert.match(message, /renderId: /);
    assert.match(message, /gpu: /);
    assert.match(message, /split\.arraySize: /);
  });

  it("carries the frames module's message for bad frames", () => {
    let framesMessage = "";
    try {
      parseFrameSet("10-1");
    } catch (error) {
      framesMessage = (error as Error).message;
    }
    assert.notEqual(framesMessage, "");
    assert.ok(rejection(payloadWith({ frames: "10-1" })).includes(`frames: ${framesMessage}`));
  });

  it("rejects a still with two frames", () => {
    assert.match(
      rejection(payloadWith({ type: "still", frames: "1,2" })),
      /frames: a still renders exactly one frame \(got 2 frames: "1,2"\)/,
    );
  });

  it("requires python settings when type is python", () => {
    assert.match(rejection(payloadWith({ type: "python" })), /python: is required when type is "python"/);
  });

  it("forbids python settings for other types", () => {
    assert.match(
      rejection(payloadWith({ type: "still", frames: "1", python: { script: "x.py" } })),
      /python: is only allowed when type is "python" \(type is "still"\)/,
    );
  });

  it("rejects render overrides in mode auto, explicit or defaulted, and says to use override", () => {
    const expected = /render: render overrides need mode "override"/;
    assert.match(rejection(payloadWith({ render: { fps: 24 } })), expected);
    assert.match(rejection(payloadWith({ mode: "auto", render: {} })), expected);
  });

  it("reports cross-field problems alongside field problems", () => {
    const message = rejection(payloadWith({ type: "still", frames: "1-2", gpu: "no", render: { stamp: true } }));
    assert.match(message, /gpu: must be true or false/);
    assert.match(message, /frames: a still renders exactly one frame/);
    assert.match(message, /render: render overrides need mode "override"/);
  });
});

describe("output format and colour depth", () => {
  function output(settings: Record<string, unknown>): Record<string, unknown> {
    return payloadWith({ mode: "override", render: { output: settings } });
  }
  const accepted: [string, string][] = [
    ["OPEN_EXR", "32"],
    ["OPEN_EXR_MULTILAYER", "16"],
    ["PNG", "16"],
    ["DPX", "10"],
    ["JPEG2000", "12"],
    ["HDR", "32"],
    ["TIFF", "8"],
    ["CINEON", "10"],
  ];
  const rejected: [string, string, string][] = [
    ["PNG", "32", '"8", "16"'],
    ["JPEG", "16", '"8"'],
    ["CINEON", "8", '"10"'],
    ["HDR", "16", '"32"'],
    ["OPEN_EXR", "8", '"16", "32"'],
    ["TIFF", "32", '"8", "16"'],
    ["WEBP", "10", '"8"'],
  ];
  for (const [format, depth] of accepted) {
    it(`accepts ${format} at ${depth} bits`, () => {
      assert.equal(parseRenderPayload(output({ format, colorDepth: depth })).render?.output?.colorDepth, depth);
    });
  }
  for (const [format, depth, allowed] of rejected) {
    it(`rejects ${format} at ${depth} bits, naming the allowed depths`, () => {
      const message = rejection(output({ format, colorDepth: depth }));
      assert.ok(
        message.includes(`render.output.colorDepth: "${depth}" is not available for format "${format}" — use ${allowed}`),
        message,
      );
    });
  }

  it("rejects RGBA for formats without alpha and accepts it for PNG", () => {
    for (const format of ["JPEG", "BMP", "CINEON"]) {
      assert.match(
        rejection(output({ format, colorMode: "RGBA" })),
        new RegExp(`render\\.output\\.colorMode: "RGBA" is not available for format "${format}".*use "BW" or "RGB"`),
      );
    }
    assert.equal(parseRenderPayload(output({ format: "PNG", colorMode: "RGBA" })).render?.output?.colorMode, "RGBA");
  });

  it("checks depth only when both format and depth are given", () => {
    assert.doesNotThrow(() => parseRenderPayload(output({ colorDepth: "32" })));
    assert.doesNotThrow(() => parseRenderPayload(output({ format: "CINEON" })));
  });
});

describe("parseRenderPayloadJson", () => {
  it("parses JSON text like parseRenderPayload", () => {
    assert.deepEqual(parseRenderPayloadJson(JSON.stringify(minimal)), parseRenderPayload(minimal));
  });

  it("says where the JSON is broken", () => {
    assert.throws(
      () => parseRenderPayloadJson('{\n  "renderId": "abc",\n}'),
      (error: unknown) =>
        error instanceof UserInputError &&
        /^Invalid render job payload: not valid JSON at line 3, column 1 \(.*\) — fix the JSON syntax$/.test(error.message),
    );
    assert.throws(
      () => parseRenderPayloadJson('{"renderId": '),
      (error: unknown) => error instanceof UserInputError && /not valid JSON at the end of the text/.test(error.message),
    );
  });

  it("reports schema problems of valid JSON", () => {
    assert.throws(() => parseRenderPayloadJson("[1]"), (error: unknown) => error instanceof UserInputError && /payload: must be an object/.test(error.message));
  });
});

describe("renderPayloadJsonSchema", () => {
  it("describes the input side: strict objects, required fields and defaults", () => {
    const schema = renderPayloadJsonSchema() as {
      type: string;
      required: string[];
      additionalProperties: boolean;
      properties: Record<string, { default?: unknown; enum?: string[]; additionalProperties?: boolean }>;
    };
    assert.equal(schema.type, "object");
    assert.equal(schema.additionalProperties, false);
    assert.deepEqual([...schema.required].sort(), ["frames", "project", "renderId", "schemaVersion", "type"]);
    assert.equal(schema.properties["mode"]?.default, "auto");
    assert.deepEqual(schema.properties["split"]?.default, { arraySize: 1 });
    assert.deepEqual(schema.properties["type"]?.enum, ["still", "animation", "python"]);
    assert.equal(schema.properties["render"]?.additionalProperties, false);
    assert.doesNotThrow(() => JSON.stringify(schema));
  });
});

// ---------------------------------------------------------------------------
// Property: any payload built from valid parts parses, and survives a JSON round trip.

const name = fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9._-]{0,20}$/);
const segment = fc.stringMatching(/^[A-Za-z0-9 _-]{1,8}$/);
const relativePath = (extension: string) =>
  fc.tuple(fc.array(segment, { maxLength: 3 }), segment).map(([folders, file]) => [...folders, `${file}${extension}`].join("/"));
// JSON has no -0: keep generated floats away from it so the round trip compares equal.
const float = (min: number, max: number) => fc.double({ min, max, noNaN: true }).map((x) => x + 0);
const int = (min: number, max: number) => fc.integer({ min, max });
const optional = { requiredKeys: [] as never[] };

// Ranges in disjoint 3000-frame blocks never overlap; spaces around parts get canonicalized away.
const animationFrames = fc
  .array(fc.tuple(int(-1000, 1000), int(0, 500), int(1, 10)), { minLength: 1, maxLength: 4 })
  .map((ranges) =>
    ranges
      .map(([from, length, step], index) => {
        const start = from + index * 3000;
        return length === 0 ? `${start}` : ` ${start}-${start + length}:${step} `;
      })
      .join(","),
  );

const outputSettings = fc.constantFrom(...OUTPUT_FORMATS).chain((format) =>
  fc.record(
    {
      format: fc.constant(format),
      colorMode: fc.constantFrom(...(FORMATS_WITHOUT_ALPHA.includes(format) ? (["BW", "RGB"] as const) : (["BW", "RGB", "RGBA"] as const))),
      colorDepth: fc.constantFrom(...COLOR_DEPTHS_BY_FORMAT[format]),
      compression: int(0, 100),
      quality: int(0, 100),
      exrCodec: fc.constantFrom("NONE", "PXR24", "ZIP", "PIZ", "RLE", "ZIPS", "B44", "B44A", "DWAA", "DWAB"),
    },
    optional,
  ),
);

const renderOverrides = fc.record(
  {
    engine: fc.constantFrom("CYCLES", "BLENDER_EEVEE", "BLENDER_EEVEE_NEXT", "BLENDER_WORKBENCH"),
    compositor: fc.boolean(),
    sequencer: fc.boolean(),
    stamp: fc.boolean(),
    fps: int(1, 1000),
    resolution: fc.record({ x: int(4, 65536), y: int(4, 65536), percentage: int(1, 1000) }, optional),
    pixelAspect: fc.record({ x: float(1, 200), y: float(1, 200) }, optional),
    output: outputSettings,
    cycles: fc.record(
      {
        samples: int(1, 1_000_000),
        adaptiveSampling: fc.boolean(),
        noiseThreshold: float(0, 1),
        adaptiveMinSamples: int(0, 100_000),
        denoising: fc.record(
          {
            enabled: fc.boolean(),
            denoiser: fc.constantFrom("OPENIMAGEDENOISE", "OPTIX"),
            passes: fc.constantFrom("RGB", "RGB_ALBEDO", "RGB_ALBEDO_NORMAL"),
            prefilter: fc.constantFrom("NONE", "FAST", "ACCURATE"),
          },
          optional,
        ),
        bounces: fc.record(
          {
            total: int(0, 1024),
            diffuse: int(0, 1024),
            glossy: int(0, 1024),
            transmission: int(0, 1024),
            transparent: int(0, 1024),
            volume: int(0, 1024),
          },
          optional,
        ),
        clamp: fc.record({ direct: float(0, 1e6), indirect: float(0, 1e6) }, optional),
        caustics: fc.record({ reflective: fc.boolean(), refractive: fc.boolean() }, optional),
        filterGlossy: float(0, 10),
      },
      optional,
    ),
    eevee: fc.record({ samples: int(1, 1_000_000) }, optional),
  },
  optional,
);

const commonParts = fc.record(
  {
    renderId: fc.stringMatching(/^[a-z0-9][a-z0-9-]{2,62}$/),
    project: fc.record({ name, blendFile: relativePath(".blend") }),
    split: fc.oneof(fc.record({ arraySize: int(1, 10_000) }), fc.record({ chunkSize: int(100, 100_000) })),
    scene: name,
    viewLayer: name,
    camera: name,
    gpu: fc.boolean(),
    video: fc.record(
      {
        enabled: fc.boolean(),
        quality: fc.constantFrom("LOWEST", "VERYLOW", "LOW", "MEDIUM", "HIGH", "PERC_LOSSLESS", "LOSSLESS"),
        encodingSpeed: fc.constantFrom("REALTIME", "GOOD", "BEST"),
        container: fc.constantFrom("MPEG4", "QUICKTIME", "MKV", "AVI"),
        autosplit: fc.boolean(),
      },
      optional,
    ),
    notify: fc.record(
      {
        email: fc.tuple(fc.stringMatching(/^[a-z0-9]{1,10}$/), fc.stringMatching(/^[a-z]{1,10}$/)).map(([user, host]) => `${user}@${host}.com`),
        onSuccess: fc.boolean(),
        onFailure: fc.boolean(),
      },
      optional,
    ),
  },
  { requiredKeys: ["renderId", "project"] },
);

// Type-specific parts, kept consistent with the cross-field rules.
const typeParts = fc.oneof(
  fc.record({ type: fc.constant("still"), frames: int(-1000, 1000).map(String) }),
  fc.record({ type: fc.constant("animation"), frames: animationFrames }),
  fc.record({
    type: fc.constant("python"),
    frames: animationFrames,
    python: fc.record(
      {
        script: relativePath(".py"),
        env: fc.dictionary(fc.stringMatching(/^[A-Z_][A-Z0-9_]{0,10}$/), fc.string({ maxLength: 20 }), { maxKeys: 4 }),
      },
      { requiredKeys: ["script"] },
    ),
  }),
);

const modeParts = fc.oneof(
  fc.record({ mode: fc.constant("auto") }, optional),
  fc.record({ mode: fc.constant("override"), render: renderOverrides }, { requiredKeys: ["mode"] }),
);

const validPayload = fc
  .tuple(commonParts, typeParts, modeParts)
  .map(([common, typed, mode]) => ({ schemaVersion: 1, ...common, ...typed, ...mode }));

describe("property: valid payloads", () => {
  it("parse, keep the given values, and round-trip through JSON unchanged", () => {
    fc.assert(
      fc.property(validPayload, (input) => {
        const parsed: RenderJobPayload = parseRenderPayload(input);
        // fast-check may build null-prototype objects; compare against plain copies.
        const given = JSON.parse(JSON.stringify(input)) as typeof input;
        assert.equal(parsed.renderId, given.renderId);
        assert.deepEqual(parsed.project, given.project);
        assert.deepEqual(parsed.render, "render" in given ? given.render : undefined);
        assert.doesNotMatch(parsed.frames, /\s/);
        assert.deepEqual(parseRenderPayloadJson(JSON.stringify(parsed)), parsed);
      }),
      { numRuns: 300 },
    );
  });
});
