import { basename, extname } from "node:path";
import { frameCount, parseFrameSet } from "../domain/frames.ts";
import { parseRenderPayload, type RenderJobPayload, type RenderJobPayloadInput, type RenderOverrides } from "../domain/render-payload.ts";
import type { SceneInspection } from "../domain/scene-inspection.ts";
import { UserInputError } from "../errors.ts";

/** The render options the CLI accepts (commander's parsed values, all strings). */
export type RenderCliOptions = {
  frames?: string;
  engine?: string;
  samples?: string;
  resolution?: string;
  percentage?: string;
  format?: string;
  scene?: string;
  layer?: string;
  camera?: string;
  arraySize?: string;
  chunkSize?: string;
  python?: string;
  env?: string[];
  notify?: string;
  project?: string;
  gpu?: boolean;
};

const ENGINES: Record<string, string> = {
  cycles: "CYCLES",
  eevee: "BLENDER_EEVEE",
  blender_eevee: "BLENDER_EEVEE",
  blender_eevee_next: "BLENDER_EEVEE_NEXT",
  workbench: "BLENDER_WORKBENCH",
  blender_workbench: "BLENDER_WORKBENCH",
};

/**
 * Turns command-line options and the file's inspection into a validated
 * payload. Settings not given keep the file's own ("auto" mode); frames
 * default to the scene's own range and step. Everything the file can be
 * checked against (scene, view layer, camera) is checked here, before
 * anything is submitted.
 */
export function buildRenderPayload(
  options: RenderCliOptions,
  inspection: SceneInspection,
  context: { readonly renderId: string; readonly blendFile: string; readonly defaultProject: string },
): RenderJobPayload {
  const scene = options.scene
    ? inspection.scenes.find((candidate) => candidate.name === options.scene)
    : inspection.scenes.find((candidate) => candidate.name === inspection.activeScene);
  if (!scene) {
    throw new UserInputError(`--scene "${options.scene}" is not in ${inspection.file}; its scenes are ${inspection.scenes.map((s) => `"${s.name}"`).join(", ")}.`);
  }
  if (options.layer && !scene.viewLayers.some((layer) => layer.name === options.layer)) {
    throw new UserInputError(`--layer "${options.layer}" is not in scene "${scene.name}"; its view layers are ${scene.viewLayers.map((l) => `"${l.name}"`).join(", ")}.`);
  }
  if (options.camera && !inspection.cameras.includes(options.camera)) {
    throw new UserInputError(`--camera "${options.camera}" is not in ${inspection.file}; its cameras are ${inspection.cameras.map((c) => `"${c}"`).join(", ") || "none"}.`);
  }
  if (!options.camera && !scene.camera) {
    throw new UserInputError(`Scene "${scene.name}" has no active camera; pick one with --camera (cameras: ${inspection.cameras.join(", ") || "none"}).`);
  }
  if (options.arraySize && options.chunkSize) throw new UserInputError("Give --array-size or --chunk-size, not both.");

  const frames = options.frames ?? `${scene.frameStart}-${scene.frameEnd}${scene.frameStep > 1 ? `:${scene.frameStep}` : ""}`;
  const count = frameCount(parseFrameSet(frames));
  const overrides = renderOverrides(options, scene.engine);
  const input: RenderJobPayloadInput = {
    schemaVersion: 1,
    renderId: context.renderId,
    project: { name: options.project ?? projectNameFrom(context.defaultProject), blendFile: context.blendFile },
    type: options.python ? "python" : count === 1 ? "still" : "animation",
    mode: overrides ? "override" : "auto",
    frames,
    split: options.chunkSize ? { chunkSize: wholeNumber(options.chunkSize, "--chunk-size") } : { arraySize: options.arraySize ? wholeNumber(options.arraySize, "--array-size") : 1 },
    ...(options.scene ? { scene: options.scene } : {}),
    ...(options.layer ? { viewLayer: options.layer } : {}),
    ...(options.camera ? { camera: options.camera } : {}),
    gpu: options.gpu ?? false,
    ...(overrides ? { render: overrides } : {}),
    ...(options.python ? { python: { script: options.python, env: parseEnv(options.env ?? []) } } : {}),
    ...(options.notify ? { notify: { email: options.notify } } : {}),
  };
  if (!options.python && options.env?.length) throw new UserInputError("--env sets variables for a --python script; add --python SCRIPT or drop --env.");
  return parseRenderPayload(input);
}

/**
 * Adds advanced overrides in the payload's own shape (render.cycles … , as the
 * API's `settings.render` gives them) to a built payload. Values the payload
 * already sets from the simple options (engine, samples, resolution, format)
 * win, so a form's "Samples" field and its advanced panel cannot disagree.
 */
export function withRenderOverrides(payload: RenderJobPayload, extra: RenderOverrides | undefined): RenderJobPayload {
  if (!extra || Object.keys(extra).length === 0) return payload;
  return parseRenderPayload({ ...payload, mode: "override", render: mergeDeep(extra, payload.render ?? {}) });
}

/** `over` laid on `base`, nested objects merged key by key. */
function mergeDeep(base: Record<string, unknown>, over: Record<string, unknown>): Record<string, unknown> {
  const merged: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(over)) {
    const under = merged[key];
    merged[key] =
      isPlainObject(value) && isPlainObject(under) ? mergeDeep(under, value) : value;
  }
  return merged;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function renderOverrides(options: RenderCliOptions, fileEngine: string): RenderOverrides | undefined {
  const overrides: Record<string, unknown> = {};
  let engine = fileEngine;
  if (options.engine) {
    const mapped = ENGINES[options.engine.toLowerCase()];
    if (!mapped) throw new UserInputError(`--engine "${options.engine}" is not an engine; use cycles, eevee or workbench.`);
    overrides.engine = engine = mapped;
  }
  if (options.samples) {
    const samples = wholeNumber(options.samples, "--samples");
    if (engine === "CYCLES") overrides.cycles = { samples };
    else if (engine.startsWith("BLENDER_EEVEE")) overrides.eevee = { samples };
    else throw new UserInputError(`--samples applies to Cycles and Eevee, not ${engine}; drop it or pick --engine.`);
  }
  const resolution: Record<string, number> = {};
  if (options.resolution) {
    const match = /^(\d+)x(\d+)$/i.exec(options.resolution);
    if (!match) throw new UserInputError(`--resolution "${options.resolution}" must look like 1920x1080.`);
    resolution.x = Number(match[1]);
    resolution.y = Number(match[2]);
  }
  if (options.percentage) resolution.percentage = wholeNumber(options.percentage, "--percentage");
  if (Object.keys(resolution).length) overrides.resolution = resolution;
  if (options.format) overrides.output = { format: options.format.toUpperCase() };
  return Object.keys(overrides).length ? (overrides as RenderOverrides) : undefined;
}

function wholeNumber(text: string, option: string): number {
  if (!/^\d+$/.test(text)) throw new UserInputError(`${option} "${text}" must be a whole number.`);
  return Number(text);
}

function parseEnv(pairs: readonly string[]): Record<string, string> {
  const env: Record<string, string> = {};
  for (const pair of pairs) {
    const at = pair.indexOf("=");
    if (at <= 0) throw new UserInputError(`--env "${pair}" must look like NAME=value.`);
    env[pair.slice(0, at)] = pair.slice(at + 1);
  }
  return env;
}

/** A project name from a file or folder name: letters, digits, . _ - only. */
export function projectNameFrom(path: string): string {
  const stem = basename(path, extname(path)).replace(/[^A-Za-z0-9._-]+/g, "-").replace(/^[^A-Za-z0-9]+|[^A-Za-z0-9]+$/g, "");
  return stem.slice(0, 100) || "project";
}

/** Parses a duration like 90, 90s, 15m, 2h (to seconds). */
export function parseDuration(text: string, option: string): number {
  const match = /^(\d+)\s*(s|m|h)?$/i.exec(text.trim());
  if (!match) throw new UserInputError(`${option} "${text}" must be a duration like 900, 15m or 2h.`);
  const unit = { s: 1, m: 60, h: 3600 }[(match[2] ?? "s").toLowerCase() as "s" | "m" | "h"];
  return Number(match[1]) * unit;
}
