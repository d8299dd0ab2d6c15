/** The new-render form's state, pre-filled from a scene, and the API settings it stands for. */
import type { RenderSettings, SceneInfo } from "./types.ts";

type Engine = NonNullable<RenderSettings["engine"]>;
type QueueKind = NonNullable<RenderSettings["queue"]>;

export type Form = {
  scene: string;
  layer: string;
  camera: string;
  frames: string;
  /** "" keeps the file's engine. */
  engine: "" | Engine;
  resolution: string;
  samples: string;
  format: string;
  split: "none" | "array" | "chunk";
  splitSize: string;
  attempts: string;
  timeout: string;
  priority: string;
  /** "local", or an AWS farm's name. */
  farm: string;
  queue: "" | QueueKind;
  /** E-mail addresses and webhook URLs, separated by commas or spaces; the server checks each. */
  notify: string;
  /** Cycles options: the file's values once inspected; only changed ones are sent. */
  cycles: CyclesForm;
};

export type CyclesForm = {
  adaptiveSampling: boolean;
  noiseThreshold: string;
  denoising: boolean;
  maxBounces: string;
  clampDirect: string;
  clampIndirect: string;
  causticsReflective: boolean;
  causticsRefractive: boolean;
  filterGlossy: string;
};

/** Blender's own defaults: the form's values before a file is read. */
const CYCLES_DEFAULTS: CyclesForm = {
  adaptiveSampling: true,
  noiseThreshold: "0.01",
  denoising: true,
  maxBounces: "12",
  clampDirect: "0",
  clampIndirect: "10",
  causticsReflective: true,
  causticsRefractive: true,
  filterGlossy: "1",
};

export const EMPTY_FORM: Form = {
  scene: "",
  layer: "",
  camera: "",
  frames: "",
  engine: "",
  resolution: "",
  samples: "",
  format: "",
  split: "none",
  splitSize: "2",
  attempts: "1",
  timeout: "",
  priority: "0",
  farm: "local",
  queue: "",
  notify: "",
  cycles: CYCLES_DEFAULTS,
};

/** Blender's engine identifiers to the API's names. */
export function engineOf(blenderEngine: string): "" | Engine {
  if (blenderEngine === "CYCLES") return "cycles";
  if (blenderEngine.startsWith("BLENDER_EEVEE")) return "eevee";
  if (blenderEngine === "BLENDER_WORKBENCH") return "workbench";
  return "";
}

/** The form as the file has it for one scene; job options (split, farm …) are kept. */
export function formOfScene(scene: SceneInfo, previous: Form): Form {
  const range = `${scene.frameStart}-${scene.frameEnd}${scene.frameStep > 1 ? `:${scene.frameStep}` : ""}`;
  return {
    ...previous,
    scene: scene.name,
    layer: "",
    camera: scene.camera ?? "",
    frames: range,
    engine: engineOf(scene.engine),
    resolution: `${scene.resolution.x}x${scene.resolution.y}`,
    samples: scene.cycles ? String(scene.cycles.samples) : "",
    format: scene.output.format,
    cycles: scene.cycles
      ? {
          adaptiveSampling: scene.cycles.adaptiveSampling,
          noiseThreshold: String(scene.cycles.noiseThreshold),
          denoising: scene.cycles.denoising,
          maxBounces: scene.cycles.maxBounces === undefined ? CYCLES_DEFAULTS.maxBounces : String(scene.cycles.maxBounces),
          clampDirect: scene.cycles.clampDirect === undefined ? CYCLES_DEFAULTS.clampDirect : String(scene.cycles.clampDirect),
          clampIndirect: scene.cycles.clampIndirect === undefined ? CYCLES_DEFAULTS.clampIndirect : String(scene.cycles.clampIndirect),
          causticsReflective: scene.cycles.causticsReflective ?? CYCLES_DEFAULTS.causticsReflective,
          causticsRefractive: scene.cycles.causticsRefractive ?? CYCLES_DEFAULTS.causticsRefractive,
          filterGlossy: scene.cycles.filterGlossy === undefined ? CYCLES_DEFAULTS.filterGlossy : String(scene.cycles.filterGlossy),
        }
      : CYCLES_DEFAULTS,
  };
}

/**
 * The Cycles options the user changed from `baseline` (the file's own), as
 * the payload's render.cycles overrides; undefined when nothing changed.
 */
export function cyclesOverridesOf(form: CyclesForm, baseline: CyclesForm): Record<string, unknown> | undefined {
  const changed = <K extends keyof CyclesForm>(key: K) => form[key] !== baseline[key] && form[key] !== "";
  const overrides: Record<string, unknown> = {};
  if (changed("adaptiveSampling")) overrides.adaptiveSampling = form.adaptiveSampling;
  if (changed("noiseThreshold")) overrides.noiseThreshold = Number(form.noiseThreshold);
  if (changed("denoising")) overrides.denoising = { enabled: form.denoising };
  if (changed("maxBounces")) overrides.bounces = { total: Number(form.maxBounces) };
  const clamp: Record<string, number> = {};
  if (changed("clampDirect")) clamp.direct = Number(form.clampDirect);
  if (changed("clampIndirect")) clamp.indirect = Number(form.clampIndirect);
  if (Object.keys(clamp).length) overrides.clamp = clamp;
  const caustics: Record<string, boolean> = {};
  if (changed("causticsReflective")) caustics.reflective = form.causticsReflective;
  if (changed("causticsRefractive")) caustics.refractive = form.causticsRefractive;
  if (Object.keys(caustics).length) overrides.caustics = caustics;
  if (changed("filterGlossy")) overrides.filterGlossy = Number(form.filterGlossy);
  return Object.keys(overrides).length ? overrides : undefined;
}

/** The API's settings from the form; empty fields keep the file's own. */
export function settingsOf(form: Form, blend: string | undefined, baseline: Form = form): RenderSettings {
  const settings: RenderSettings = {};
  const number = (text: string) => Number(text.trim());
  if (blend) settings.blend = blend;
  if (form.scene) settings.scene = form.scene;
  if (form.layer) settings.layer = form.layer;
  if (form.camera) settings.camera = form.camera;
  if (form.frames.trim()) settings.frames = form.frames.trim();
  if (form.engine) settings.engine = form.engine;
  if (form.resolution.trim()) settings.resolution = form.resolution.trim();
  if (form.samples.trim()) settings.samples = number(form.samples);
  if (form.format.trim()) settings.format = form.format.trim();
  if (form.split === "array") settings.arraySize = number(form.splitSize);
  if (form.split === "chunk") settings.chunkSize = number(form.splitSize);
  if (form.attempts.trim()) settings.attempts = number(form.attempts);
  if (form.timeout.trim()) settings.timeout = form.timeout.trim();
  if (form.priority.trim() && number(form.priority) !== 0) settings.priority = number(form.priority);
  const cycles = form.engine === "cycles" ? cyclesOverridesOf(form.cycles, baseline.cycles) : undefined;
  if (cycles) settings.render = { cycles };
  const notify = notifyTargetsOf(form.notify);
  if (notify.length) settings.notify = notify;
  if (form.farm && form.farm !== "local") {
    settings.farm = form.farm;
    if (form.queue) settings.queue = form.queue;
  }
  return settings;
}

/**
 * The notify field's targets: split at commas, semicolons and white space
 * (none of which an e-mail address or a URL holds unescaped), empty parts and
 * repeats dropped. Checking each is the server's job, whose 400 names the bad one.
 */
export function notifyTargetsOf(text: string): string[] {
  return [...new Set(text.split(/[\s,;]+/).filter((part) => part !== ""))];
}

/** The .blend to open first: the only one, else the shallowest (a project's main file sits at its top). */
export function defaultBlend(blendFiles: readonly string[]): string | undefined {
  return [...blendFiles].sort((a, b) => a.split("/").length - b.split("/").length || a.localeCompare(b))[0];
}
