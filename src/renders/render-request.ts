import { basename, extname } from "node:path";
import { frameCount, parseFrameSet } from "../domain/frames.ts";
import { parseRenderPayload, type RenderJobPayload, type RenderJobPayloadInput, type RenderOverrides } from "../domain/render-payload.ts";
import type { SceneInspection } from "../domain/scene-inspection.ts";
import { UserInputError } from "../errors.ts";
import { cliFlag, ENGINES, RESOLUTION_PATTERN, SettingError, type RenderSettings, type SettingName, type SettingNamer } from "./render-settings.ts";

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

/**
 * The command line's options as render settings: strings become numbers,
 * `NAME=value` pairs a record, with the flag named when one is wrong.
 */
export function settingsFromFlags(options: RenderCliOptions): RenderSettings {
  let engine: keyof typeof ENGINES | undefined;
  if (options.engine) {
    const name = options.engine.toLowerCase();
    if (!(name in ENGINES)) throw new SettingError(`--engine "${options.engine}" is not an engine; use cycles, eevee or workbench.`, "engine");
    engine = name as keyof typeof ENGINES;
  }
  if (options.resolution && !RESOLUTION_PATTERN.test(options.resolution)) throw new SettingError(`--resolution "${options.resolution}" must look like 1920x1080.`, "resolution");
  const number = (name: "samples" | "percentage" | "arraySize" | "chunkSize") => {
    const text = options[name];
    return text === undefined || text === "" ? {} : { [name]: wholeNumber(text, cliFlag(name), name) };
  };
  return {
    ...(options.frames !== undefined ? { frames: options.frames } : {}),
    ...(engine ? { engine } : {}),
    ...number("samples"),
    ...(options.resolution ? { resolution: options.resolution } : {}),
    ...number("percentage"),
    ...(options.format ? { format: options.format } : {}),
    ...(options.scene ? { scene: options.scene } : {}),
    ...(options.layer ? { layer: options.layer } : {}),
    ...(options.camera ? { camera: options.camera } : {}),
    ...(options.gpu !== undefined ? { gpu: options.gpu } : {}),
    ...number("arraySize"),
    ...number("chunkSize"),
    ...(options.notify ? { notify: options.notify } : {}),
    ...(options.project ? { project: options.project } : {}),
    ...(options.python ? { python: options.python } : {}),
    ...(options.env?.length ? { env: parseEnv(options.env) } : {}),
  };
}

/** `brender render`'s options and the file's inspection as a validated payload (see buildPayload). */
export function buildRenderPayload(
  options: RenderCliOptions,
  inspection: SceneInspection,
  context: { readonly renderId: string; readonly blendFile: string; readonly defaultProject: string },
): RenderJobPayload {
  return buildPayload(settingsFromFlags(options), inspection, context, cliFlag);
}

/**
 * Turns render settings and the file's inspection into a validated payload.
 * Settings not given keep the file's own ("auto" mode); frames default to
 * the scene's own range and step. Everything the file can be checked against
 * (scene, view layer, camera) is checked here, before anything is submitted;
 * a refused setting is a SettingError naming it as `name` says.
 */
export function buildPayload(
  settings: RenderSettings,
  inspection: SceneInspection,
  context: { readonly renderId: string; readonly blendFile: string; readonly defaultProject: string },
  name: SettingNamer,
): RenderJobPayload {
  const scene = settings.scene
    ? inspection.scenes.find((candidate) => candidate.name === settings.scene)
    : inspection.scenes.find((candidate) => candidate.name === inspection.activeScene);
  if (!scene) {
    throw new SettingError(`${name("scene")} "${settings.scene}" is not in ${inspection.file}; its scenes are ${inspection.scenes.map((s) => `"${s.name}"`).join(", ")}.`, "scene");
  }
  if (settings.layer && !scene.viewLayers.some((layer) => layer.name === settings.layer)) {
    throw new SettingError(`${name("layer")} "${settings.layer}" is not in scene "${scene.name}"; its view layers are ${scene.viewLayers.map((l) => `"${l.name}"`).join(", ")}.`, "layer");
  }
  if (settings.camera && !inspection.cameras.includes(settings.camera)) {
    throw new SettingError(`${name("camera")} "${settings.camera}" is not in ${inspection.file}; its cameras are ${inspection.cameras.map((c) => `"${c}"`).join(", ") || "none"}.`, "camera");
  }
  if (!settings.camera && !scene.camera) {
    throw new SettingError(`Scene "${scene.name}" has no active camera; pick one with ${name("camera")} (cameras: ${inspection.cameras.join(", ") || "none"}).`, "camera");
  }
  if (settings.arraySize !== undefined && settings.chunkSize !== undefined) throw new SettingError(`Give ${name("arraySize")} or ${name("chunkSize")}, not both.`, "chunkSize");
  if (!settings.python && settings.env && Object.keys(settings.env).length > 0) {
    throw new SettingError(`${name("env")} sets variables for a ${name("python")} script; add ${name("python")} SCRIPT or drop ${name("env")}.`, "env");
  }

  const frames = settings.frames ?? `${scene.frameStart}-${scene.frameEnd}${scene.frameStep > 1 ? `:${scene.frameStep}` : ""}`;
  const count = frameCount(parseFrameSet(frames));
  const overrides = renderOverrides(settings, scene.engine, name);
  const input: RenderJobPayloadInput = {
    schemaVersion: 1,
    renderId: context.renderId,
    project: { name: settings.project ?? projectNameFrom(context.defaultProject), blendFile: context.blendFile },
    type: settings.python ? "python" : count === 1 ? "still" : "animation",
    mode: overrides ? "override" : "auto",
    frames,
    split: settings.chunkSize !== undefined ? { chunkSize: settings.chunkSize } : { arraySize: settings.arraySize ?? 1 },
    ...(settings.scene ? { scene: settings.scene } : {}),
    ...(settings.layer ? { viewLayer: settings.layer } : {}),
    ...(settings.camera ? { camera: settings.camera } : {}),
    gpu: settings.gpu ?? false,
    ...(overrides ? { render: overrides } : {}),
    ...(settings.python ? { python: { script: settings.python, env: settings.env ?? {} } } : {}),
    ...(settings.notify ? { notify: { email: settings.notify } } : {}),
  };
  return withRenderOverrides(parseRenderPayload(input), settings.render);
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

function renderOverrides(settings: RenderSettings, fileEngine: string, name: SettingNamer): RenderOverrides | undefined {
  const overrides: Record<string, unknown> = {};
  let engine = fileEngine;
  if (settings.engine) overrides.engine = engine = ENGINES[settings.engine];
  if (settings.samples !== undefined) {
    if (engine === "CYCLES") overrides.cycles = { samples: settings.samples };
    else if (engine.startsWith("BLENDER_EEVEE")) overrides.eevee = { samples: settings.samples };
    else throw new SettingError(`${name("samples")} applies to Cycles and Eevee, not ${engine}; drop it or pick ${name("engine")}.`, "samples");
  }
  const resolution: Record<string, number> = {};
  if (settings.resolution) {
    const [x, y] = settings.resolution.toLowerCase().split("x").map(Number);
    resolution.x = x!;
    resolution.y = y!;
  }
  if (settings.percentage !== undefined) resolution.percentage = settings.percentage;
  if (Object.keys(resolution).length) overrides.resolution = resolution;
  if (settings.format) overrides.output = { format: settings.format.toUpperCase() };
  return Object.keys(overrides).length ? (overrides as RenderOverrides) : undefined;
}

function wholeNumber(text: string, option: string, setting: SettingName): number {
  if (!/^\d+$/.test(text)) throw new SettingError(`${option} "${text}" must be a whole number.`, setting);
  return Number(text);
}

function parseEnv(pairs: readonly string[]): Record<string, string> {
  const env: Record<string, string> = {};
  for (const pair of pairs) {
    const at = pair.indexOf("=");
    if (at <= 0) throw new SettingError(`--env "${pair}" must look like NAME=value.`, "env");
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
