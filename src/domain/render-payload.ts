/**
 * The render job payload: everything the submitter tells a worker about one
 * render. It is versioned (`schemaVersion`) because payloads cross process
 * and machine boundaries (CLI -> queue -> worker), possibly between
 * different Brender releases.
 *
 * Every object is strict: an unknown field is almost always a typo, and a
 * silently ignored typo in a render setting costs a whole render.
 */
import { z } from "zod";
import { UserInputError } from "./errors.ts";
import { RENDER_ID_PATTERN } from "./ids.ts";
import { MAX_WEBHOOKS, webhookUrlSchema } from "./notify-target.ts";
import { storedEstimateSchema } from "./cost/cost-record.ts";
import { storedWebhooksKey, webhookReferenceSchema } from "./stored-webhooks.ts";
import { arraySizeFor, formatFrameSet, frameCount, parseFrameSet } from "./frames.ts";

/** The payload version this Brender writes and understands. */
export const RENDER_PAYLOAD_SCHEMA_VERSION = 1;

// ---------------------------------------------------------------------------
// Building blocks

/** An integer in [min, max] (max optional). */
function intIn(min: number, max?: number) {
  const atLeast = z.int().min(min);
  return max === undefined ? atLeast : atLeast.max(max);
}

/**
 * Limits the HTTP API's simple render settings (src/server/schemas.ts) share
 * with the payload: defined once here and used by both, so the API's schema
 * and its OpenAPI document cannot promise what the payload then refuses.
 */
export const samplesSchema = intIn(1, 1_000_000);
export const resolutionPercentageSchema = intIn(1, 1000);
export const arraySizeSchema = intIn(1, 10_000);
export const chunkSizeSchema = intIn(1);

/**
 * A POSIX path relative to the project folder that cannot escape it, e.g.
 * "shots/010/scene.blend". Workers join it onto the unpacked project, so an
 * absolute path or a ".." would read outside it.
 */
function projectRelativePath(extension: string) {
  return z.string().superRefine((path, ctx) => {
    const got = `(got ${quoteValue(path)})`;
    if (path.includes("\\")) {
      ctx.addIssue(`must use "/" between folders, not "\\" ${got}`);
    }
    if (path.includes("\0")) {
      ctx.addIssue(`must not contain a NUL character ${got}`);
    }
    if (path.startsWith("/")) {
      ctx.addIssue(`must be relative to the project folder, without a leading "/" ${got}`);
    }
    if (path.split("/").includes("..")) {
      ctx.addIssue(`must stay inside the project folder: ".." is not allowed ${got}`);
    }
    const fileName = path.slice(path.lastIndexOf("/") + 1);
    if (!fileName.endsWith(extension) || fileName.length === extension.length) {
      ctx.addIssue(`must name a ${extension} file, e.g. "scene${extension}" ${got}`);
    }
  });
}

/** A name Blender shows in its UI (scene, view layer, camera); empty names cannot match anything. */
const blenderNameSchema = z.string().min(1, "must not be empty — give the name exactly as Blender shows it");

// ---------------------------------------------------------------------------
// Render overrides

export const RENDER_ENGINES = ["CYCLES", "BLENDER_EEVEE", "BLENDER_EEVEE_NEXT", "BLENDER_WORKBENCH"] as const;

export const OUTPUT_FORMATS = [
  "BMP",
  "IRIS",
  "PNG",
  "JPEG",
  "JPEG2000",
  "TARGA",
  "TARGA_RAW",
  "CINEON",
  "DPX",
  "OPEN_EXR",
  "OPEN_EXR_MULTILAYER",
  "HDR",
  "TIFF",
  "WEBP",
] as const;
export type OutputFormat = (typeof OUTPUT_FORMATS)[number];

export const COLOR_DEPTHS = ["8", "10", "12", "16", "32"] as const;
export type ColorDepth = (typeof COLOR_DEPTHS)[number];

/** The bit depths Blender offers for each output format (its image-format UI). */
export const COLOR_DEPTHS_BY_FORMAT: Readonly<Record<OutputFormat, readonly ColorDepth[]>> = {
  BMP: ["8"],
  IRIS: ["8"],
  PNG: ["8", "16"],
  JPEG: ["8"],
  JPEG2000: ["8", "12", "16"],
  TARGA: ["8"],
  TARGA_RAW: ["8"],
  CINEON: ["10"],
  DPX: ["8", "10", "12", "16"],
  OPEN_EXR: ["16", "32"],
  OPEN_EXR_MULTILAYER: ["16", "32"],
  HDR: ["32"],
  TIFF: ["8", "16"],
  WEBP: ["8"],
};

/** Formats that cannot store an alpha channel, so colorMode "RGBA" is refused. */
export const FORMATS_WITHOUT_ALPHA: readonly OutputFormat[] = ["JPEG", "BMP", "CINEON"];

export const outputOverridesSchema = z
  .strictObject({
    format: z.enum(OUTPUT_FORMATS).optional(),
    colorMode: z.enum(["BW", "RGB", "RGBA"]).optional(),
    colorDepth: z.enum(COLOR_DEPTHS).optional(),
    compression: intIn(0, 100).optional(),
    quality: intIn(0, 100).optional(),
    exrCodec: z.enum(["NONE", "PXR24", "ZIP", "PIZ", "RLE", "ZIPS", "B44", "B44A", "DWAA", "DWAB"]).optional(),
  })
  .superRefine(
    (parsed, ctx) => {
      const output: unknown = parsed;
      if (!isRecord(output) || !isOutputFormat(output["format"])) return;
      const format = output["format"];
      const depth = output["colorDepth"];
      const allowed = COLOR_DEPTHS_BY_FORMAT[format];
      if (isColorDepth(depth) && !allowed.includes(depth)) {
        ctx.addIssue({
          code: "custom",
          path: ["colorDepth"],
          message: `"${depth}" is not available for format "${format}" — use ${listOfValues(allowed)}`,
        });
      }
      if (output["colorMode"] === "RGBA" && FORMATS_WITHOUT_ALPHA.includes(format)) {
        ctx.addIssue({
          code: "custom",
          path: ["colorMode"],
          message: `"RGBA" is not available for format "${format}" (no alpha channel) — use "BW" or "RGB"`,
        });
      }
    },
    // Run even when other output fields are wrong, so every problem is reported at once.
    { when: () => true },
  );

export const cyclesOverridesSchema = z.strictObject({
  samples: samplesSchema.optional(),
  adaptiveSampling: z.boolean().optional(),
  // 0 is allowed: Blender reads a threshold of 0 as "choose automatically".
  noiseThreshold: z.number().min(0).max(1).optional(),
  adaptiveMinSamples: intIn(0).optional(),
  denoising: z
    .strictObject({
      enabled: z.boolean().optional(),
      denoiser: z.enum(["OPENIMAGEDENOISE", "OPTIX"]).optional(),
      passes: z.enum(["RGB", "RGB_ALBEDO", "RGB_ALBEDO_NORMAL"]).optional(),
      prefilter: z.enum(["NONE", "FAST", "ACCURATE"]).optional(),
    })
    .optional(),
  bounces: z
    .strictObject({
      total: intIn(0, 1024).optional(),
      diffuse: intIn(0, 1024).optional(),
      glossy: intIn(0, 1024).optional(),
      transmission: intIn(0, 1024).optional(),
      transparent: intIn(0, 1024).optional(),
      volume: intIn(0, 1024).optional(),
    })
    .optional(),
  clamp: z
    .strictObject({
      direct: z.number().min(0).optional(),
      indirect: z.number().min(0).optional(),
    })
    .optional(),
  caustics: z
    .strictObject({
      reflective: z.boolean().optional(),
      refractive: z.boolean().optional(),
    })
    .optional(),
  filterGlossy: z.number().min(0).optional(),
});

/** Render settings to force on the .blend file; an absent field keeps the file's own value. */
export const renderOverridesSchema = z.strictObject({
  engine: z.enum(RENDER_ENGINES).optional(),
  compositor: z.boolean().optional(),
  sequencer: z.boolean().optional(),
  stamp: z.boolean().optional(),
  fps: intIn(1, 1000).optional(),
  resolution: z
    .strictObject({
      x: intIn(4, 65536).optional(),
      y: intIn(4, 65536).optional(),
      percentage: resolutionPercentageSchema.optional(),
    })
    .optional(),
  pixelAspect: z
    .strictObject({
      x: z.number().min(1).max(200).optional(),
      y: z.number().min(1).max(200).optional(),
    })
    .optional(),
  output: outputOverridesSchema.optional(),
  cycles: cyclesOverridesSchema.optional(),
  eevee: z.strictObject({ samples: samplesSchema.optional() }).optional(),
});

export type RenderOverrides = z.output<typeof renderOverridesSchema>;

// ---------------------------------------------------------------------------
// The payload

const PROJECT_NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/;
const ENV_NAME_PATTERN = /^[A-Z_][A-Z0-9_]*$/;

/** Frames as the user wrote them, replaced by their canonical text ("1-3, 5" -> "1-3,5"). */
const framesSchema = z.string().transform((text, ctx) => {
  try {
    return formatFrameSet(parseFrameSet(text));
  } catch (error) {
    if (!(error instanceof UserInputError)) throw error;
    ctx.addIssue({ code: "custom", message: error.message, input: text });
    return z.NEVER;
  }
});

export const splitSchema = z.union(
  [z.strictObject({ arraySize: arraySizeSchema }), z.strictObject({ chunkSize: chunkSizeSchema })],
  { error: 'must be either { "arraySize": N } (N children, 1 to 10000) or { "chunkSize": N } (N frames per child)' },
);

export const pythonJobSchema = z.strictObject({
  script: projectRelativePath(".py"),
  env: z
    .record(
      z.string().regex(ENV_NAME_PATTERN, "must be upper-case letters, digits and _, not starting with a digit"),
      z.string(),
    )
    .default(() => ({})),
});

export const videoSchema = z.strictObject({
  enabled: z.boolean().default(true),
  quality: z.enum(["LOWEST", "VERYLOW", "LOW", "MEDIUM", "HIGH", "PERC_LOSSLESS", "LOSSLESS"]).default("MEDIUM"),
  encodingSpeed: z.enum(["REALTIME", "GOOD", "BEST"]).default("GOOD"),
  container: z.enum(["MPEG4", "QUICKTIME", "MKV", "AVI"]).default("MPEG4"),
  autosplit: z.boolean().default(false),
});

export const notifySchema = z.strictObject({
  email: z
    .email({ error: (issue) => `must be an e-mail address like name@example.com (got ${describeValue(issue.input)})` })
    .optional(),
  /** Slack, Discord or any HTTPS URLs (http only on loopback) that get the render's events. */
  webhooks: z.array(webhookUrlSchema).max(MAX_WEBHOOKS, `at most ${MAX_WEBHOOKS} webhooks per render`).optional(),
  /** On AWS farms, instead of `webhooks`: where the URLs are stored in the farm's bucket, and their redacted forms (stored-webhooks.ts). */
  storedWebhooks: webhookReferenceSchema.optional(),
  onSuccess: z.boolean().default(true),
  onFailure: z.boolean().default(true),
});

const renderJobPayloadObject = z.strictObject({
  schemaVersion: z.literal(RENDER_PAYLOAD_SCHEMA_VERSION, {
    error: (issue) =>
      issue.input === undefined
        ? `is required — set it to ${RENDER_PAYLOAD_SCHEMA_VERSION}`
        : `must be ${RENDER_PAYLOAD_SCHEMA_VERSION} (got ${describeValue(issue.input)}) — this Brender reads payload version ${RENDER_PAYLOAD_SCHEMA_VERSION}, so submit with a matching Brender`,
  }),
  renderId: z
    .string()
    .regex(RENDER_ID_PATTERN, {
      error: (issue) =>
        `must be 3 to 63 lower-case letters, digits or -, starting with a letter or digit (got ${describeValue(issue.input)})`,
    }),
  project: z.strictObject({
    name: z
      .string()
      .regex(PROJECT_NAME_PATTERN, {
        error: (issue) =>
          `must be 1 to 100 letters, digits, ., _ or -, starting with a letter or digit (got ${describeValue(issue.input)})`,
      }),
    blendFile: projectRelativePath(".blend").describe(
      'Path of the .blend file inside the project, with "/" separators, e.g. "shots/010.blend".',
    ),
  }),
  type: z.enum(["still", "animation", "python"]),
  mode: z
    .enum(["auto", "override"])
    .default("auto")
    .describe('"auto" keeps the file\'s own render settings; "override" applies `render`.'),
  frames: framesSchema.describe('Frames to render, e.g. "1-250", "1,5,10-20:2". A still takes exactly one frame.'),
  split: splitSchema
    .default(() => ({ arraySize: 1 }))
    .describe("How the frames are shared out: into arraySize children, or chunkSize frames per child."),
  scene: blenderNameSchema.optional(),
  viewLayer: blenderNameSchema.optional(),
  camera: blenderNameSchema.optional(),
  gpu: z.boolean().default(false),
  render: renderOverridesSchema.optional().describe('Render settings to force; only with mode "override".'),
  python: pythonJobSchema.optional().describe('The script to run; required when type is "python", forbidden otherwise.'),
  // prefault (not default): the empty object is parsed, so the field defaults inside apply.
  video: videoSchema.prefault({}),
  notify: notifySchema.prefault({}),
  estimate: storedEstimateSchema
    .optional()
    .describe("the estimate made before submitting (render --estimate, --max-cost, the web form's Estimate), kept so the outputs can show estimate next to actual"),
});

/** The render job payload (version 1), with cross-field rules. Parse with parseRenderPayload for readable errors. */
export const renderJobPayloadSchema = renderJobPayloadObject.superRefine(
  (parsed, ctx) => {
    // Runs even when some fields are wrong (see `when`), so read it as unknown.
    const payload: unknown = parsed;
    if (!isRecord(payload)) return;
    const type = payload["type"];

    if (payload["mode"] === "auto" && payload["render"] !== undefined) {
      ctx.addIssue({
        code: "custom",
        path: ["render"],
        message:
          'render overrides need mode "override" (mode "auto" keeps the file\'s own render settings) — set mode to "override" or remove render',
      });
    }

    if (type === "python" && payload["python"] === undefined) {
      ctx.addIssue({
        code: "custom",
        path: ["python"],
        message: 'is required when type is "python" — add { "script": "path/to/script.py" }',
      });
    }
    if ((type === "still" || type === "animation") && payload["python"] !== undefined) {
      ctx.addIssue({
        code: "custom",
        path: ["python"],
        message: `is only allowed when type is "python" (type is "${type}") — remove it or set type to "python"`,
      });
    }

    checkStoredWebhooks(payload, ctx);

    const frames = payload["frames"];
    if (typeof frames !== "string") return;
    let count: number;
    try {
      count = frameCount(parseFrameSet(frames));
    } catch {
      return; // already reported by the frames field
    }
    if (type === "still" && count !== 1) {
      ctx.addIssue({
        code: "custom",
        path: ["frames"],
        message: `a still renders exactly one frame (got ${count} frames: ${quoteValue(frames)}) — give one frame or use type "animation"`,
      });
    }
    const split = payload["split"];
    // arraySize is fully checked by its schema; a chunk size is only wrong relative to the frame count.
    if (isRecord(split) && isPositiveInt(split["chunkSize"])) {
      try {
        arraySizeFor(count, { chunkSize: split["chunkSize"] as number });
      } catch (error) {
        if (!(error instanceof UserInputError)) throw error;
        ctx.addIssue({ code: "custom", path: ["split"], message: error.message });
      }
    }
  },
  { when: () => true },
);

/** Stored webhooks replace the URLs (never both), and their object is this render's, so a job reads no other render's URLs. */
function checkStoredWebhooks(payload: Record<string, unknown>, ctx: z.core.$RefinementCtx): void {
  const notify = payload["notify"];
  const project = payload["project"];
  if (!isRecord(notify) || !isRecord(notify["storedWebhooks"])) return;
  if (notify["webhooks"] !== undefined) {
    ctx.addIssue({ code: "custom", path: ["notify"], message: "has both webhooks and storedWebhooks — give the URLs in webhooks only" });
  }
  if (!isRecord(project) || typeof project["name"] !== "string" || typeof payload["renderId"] !== "string") return;
  const expected = storedWebhooksKey(project["name"], payload["renderId"]);
  if (notify["storedWebhooks"]["key"] !== expected) {
    ctx.addIssue({ code: "custom", path: ["notify", "storedWebhooks", "key"], message: `must be ${quoteValue(expected)}, this render's own` });
  }
}

/** A validated payload: frames canonical, every default filled in. */
export type RenderJobPayload = z.output<typeof renderJobPayloadSchema>;
/** What a submitter may send: defaults may be left out. */
export type RenderJobPayloadInput = z.input<typeof renderJobPayloadSchema>;

// ---------------------------------------------------------------------------
// Parsing with readable errors

/**
 * Validates a payload and returns it with defaults filled in and frames in
 * canonical form. Throws UserInputError listing every problem on one line as
 * `<dotted.path>: <what is wrong>`.
 */
export function parseRenderPayload(input: unknown): RenderJobPayload {
  const result = renderJobPayloadSchema.safeParse(input, { error: describeIssue });
  if (result.success) return result.data;
  const problems = [...new Set(issueLines(result.error.issues, []))];
  throw new UserInputError(`Invalid render job payload: ${problems.join("; ")}`);
}

/** Parses JSON text (e.g. a payload file) and validates it like parseRenderPayload. */
export function parseRenderPayloadJson(text: string): RenderJobPayload {
  let input: unknown;
  try {
    input = JSON.parse(text);
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    // Our own "line L, column C" replaces V8's position details.
    const detail = oneLine(reason.replace(/ at position \d+.*$/, ""));
    throw new UserInputError(
      `Invalid render job payload: not valid JSON${whereInText(text, reason)} (${detail}) — fix the JSON syntax`,
    );
  }
  return parseRenderPayload(input);
}

/** The JSON Schema of what a submitter may send (defaults optional), for the HTTP API and docs. */
export function renderPayloadJsonSchema(): object {
  return z.toJSONSchema(renderJobPayloadSchema, { io: "input", unrepresentable: "any" });
}

/** Turns zod issues into "path: problem" lines; unions are reported through their closest branch. */
function issueLines(issues: readonly z.core.$ZodIssue[], base: readonly PropertyKey[]): string[] {
  const lines: string[] = [];
  for (const issue of issues) {
    const path = [...base, ...issue.path];
    if (issue.code === "unrecognized_keys") {
      for (const key of issue.keys) {
        lines.push(`${dottedPath([...path, key])}: unknown field "${key}" — remove it or check the spelling`);
      }
    } else if (issue.code === "invalid_union" && issue.errors.length > 0) {
      const branch = closestBranch(issue.errors);
      lines.push(...(branch === undefined ? [`${dottedPath(path)}: ${issue.message}`] : issueLines(branch, path)));
    } else if (issue.code === "invalid_key") {
      const key = issue.path.at(-1);
      for (const keyIssue of issue.issues) {
        lines.push(`${dottedPath(path)}: name ${quoteValue(String(key))} ${keyIssue.message}`);
      }
    } else {
      lines.push(`${dottedPath(path)}: ${issue.message}`);
    }
  }
  return lines;
}

/** The union branch with strictly the fewest problems, if there is one; a tie means the input matches no branch in particular. */
function closestBranch(branches: readonly (readonly z.core.$ZodIssue[])[]): readonly z.core.$ZodIssue[] | undefined {
  const sorted = [...branches].sort((a, b) => a.length - b.length);
  const [best, runnerUp] = sorted;
  return best !== undefined && (runnerUp === undefined || best.length < runnerUp.length) ? best : undefined;
}

function dottedPath(path: readonly PropertyKey[]): string {
  return path.length === 0 ? "payload" : path.map(String).join(".");
}

/** Default wording for zod's issues; schema-specific messages above take precedence. */
function describeIssue(issue: z.core.$ZodRawIssue): string {
  const got = `(got ${describeValue(issue.input)})`;
  switch (issue.code) {
    case "invalid_type":
      return issue.input === undefined ? "is required" : `must be ${expectedType(issue.expected)} ${got}`;
    case "too_small":
      if (issue.origin === "string") return issue.minimum === 1 ? "must not be empty" : `must be at least ${issue.minimum} characters`;
      return issue.inclusive === false
        ? `must be greater than ${issue.minimum} ${got}`
        : `must be at least ${issue.minimum} ${got}`;
    case "too_big":
      if (issue.origin === "string") return `must be at most ${issue.maximum} characters`;
      return issue.inclusive === false
        ? `must be less than ${issue.maximum} ${got}`
        : `must be at most ${issue.maximum} ${got}`;
    case "invalid_value":
      if (issue.input === undefined) return `is required — use ${listOfValues(issue.values)}`;
      return issue.values.length === 1
        ? `must be ${describeValue(issue.values[0])} ${got}`
        : `must be one of ${listOfValues(issue.values)} ${got}`;
    case "invalid_format":
      return `has the wrong format ${got}`;
    default:
      return `is invalid ${got}`;
  }
}

function expectedType(expected: string): string {
  switch (expected) {
    case "int":
      return "a whole number";
    case "number":
      return "a number";
    case "string":
      return "a string";
    case "boolean":
      return "true or false";
    case "object":
    case "record":
      return "an object";
    case "array":
      return "an array";
    default:
      return expected;
  }
}

/** A short, one-line rendering of a bad value for "(got ...)". */
function describeValue(value: unknown): string {
  if (value === null) return "null";
  if (value === undefined) return "nothing";
  if (Array.isArray(value)) return "an array";
  if (typeof value === "object") return "an object";
  if (typeof value === "string") return quoteValue(value);
  return String(value);
}

function quoteValue(text: string): string {
  const limit = 80;
  return JSON.stringify(text.length > limit ? `${text.slice(0, limit)}…` : text);
}

function listOfValues(values: readonly unknown[]): string {
  return values.map((value) => (typeof value === "string" ? `"${value}"` : String(value))).join(", ");
}

/** " at line L, column C" from the position in V8's JSON.parse message, " at the end" if the text stops early, else "" (V8's message then quotes the spot). */
function whereInText(text: string, reason: string): string {
  const match = / at position (\d+)/.exec(reason);
  if (match === null) return /end of JSON input/.test(reason) ? " at the end of the text" : "";
  const before = text.slice(0, Number(match[1]));
  const line = before.split("\n").length;
  const column = before.length - before.lastIndexOf("\n");
  return ` at line ${line}, column ${column}`;
}

function oneLine(text: string): string {
  return text.replace(/\s+/g, " ").trim();
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function isOutputFormat(value: unknown): value is OutputFormat {
  return typeof value === "string" && (OUTPUT_FORMATS as readonly string[]).includes(value);
}

function isColorDepth(value: unknown): value is ColorDepth {
  return typeof value === "string" && (COLOR_DEPTHS as readonly string[]).includes(value);
}

function isPositiveInt(value: unknown): boolean {
  return Number.isSafeInteger(value) && (value as number) >= 1;
}
