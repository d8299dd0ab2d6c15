import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { cyclesOverridesOf, defaultBlend, EMPTY_FORM, formOfScene, notifyTargetsOf, settingsOf } from "../../web/src/render-form.ts";
import { formatBytes, formatDuration, formatSeconds } from "../../web/src/format.ts";
import type { SceneInfo } from "../../web/src/types.ts";

const scene: SceneInfo = {
  name: "Shot",
  frameStart: 1,
  frameEnd: 250,
  frameStep: 5,
  frameCurrent: 1,
  fps: 24,
  engine: "CYCLES",
  resolution: { x: 1920, y: 1080, percentage: 50 },
  pixelAspect: { x: 1, y: 1 },
  output: { format: "PNG", colorMode: "RGBA", colorDepth: "8", filepath: "//render/" },
  camera: "Cam",
  cameras: ["Cam", "Wide"],
  viewLayers: [{ name: "ViewLayer", use: true }],
  compositor: { enabled: false, fileOutputs: [] },
  sequencer: false,
  cycles: { denoiser: "OPENIMAGEDENOISE", device: "CPU", samples: 128, adaptiveSampling: true, noiseThreshold: 0.05, denoising: false, maxBounces: 4, clampDirect: 0, clampIndirect: 10, causticsReflective: false, causticsRefractive: true, filterGlossy: 1 },
};

describe("the new-render form", () => {
  it("is pre-filled from the scene: frames with their step, engine, resolution, samples, Cycles options", () => {
    const form = formOfScene(scene, EMPTY_FORM);
    assert.deepEqual(
      [form.scene, form.camera, form.frames, form.engine, form.resolution, form.samples, form.format],
      ["Shot", "Cam", "1-250:5", "cycles", "1920x1080", "128", "PNG"],
    );
    assert.deepEqual(form.cycles, {
      adaptiveSampling: true,
      noiseThreshold: "0.05",
      denoising: false,
      maxBounces: "4",
      clampDirect: "0",
      clampIndirect: "10",
      causticsReflective: false,
      causticsRefractive: true,
      filterGlossy: "1",
    });
  });

  it("keeps job options (farm, split) when another scene is picked", () => {
    const form = formOfScene(scene, { ...EMPTY_FORM, farm: "studio", queue: "spot-cpu", split: "array", splitSize: "4" });
    assert.deepEqual([form.farm, form.queue, form.split, form.splitSize], ["studio", "spot-cpu", "array", "4"]);
  });

  it("sends what the form says, leaving out empty fields, and the farm only when it is not this machine", () => {
    const form = { ...formOfScene(scene, EMPTY_FORM), layer: "ViewLayer", priority: "5", split: "chunk" as const, splitSize: "10", timeout: " 15m " };
    assert.deepEqual(settingsOf(form, undefined), {
      scene: "Shot",
      layer: "ViewLayer",
      camera: "Cam",
      frames: "1-250:5",
      engine: "cycles",
      resolution: "1920x1080",
      samples: 128,
      format: "PNG",
      chunkSize: 10,
      attempts: 1,
      timeout: "15m",
      priority: 5,
    });
    assert.deepEqual(settingsOf({ ...EMPTY_FORM, attempts: "" }, "shots/a.blend"), { blend: "shots/a.blend" });
    assert.deepEqual(settingsOf({ ...EMPTY_FORM, farm: "studio", queue: "spot-cpu" }, undefined), { attempts: 1, farm: "studio", queue: "spot-cpu" });
  });

  it("sends the notify field as a list of targets split at commas and spaces, and nothing when it is empty", () => {
    const slack = "https://hooks.slack.com/services/T0/B0/secret";
    assert.deepEqual(settingsOf({ ...EMPTY_FORM, attempts: "", notify: ` me@studio.com,${slack}\n  https://discord.com/api/webhooks/1/x ; me@studio.com ` }, undefined), {
      notify: ["me@studio.com", slack, "https://discord.com/api/webhooks/1/x"],
    });
    assert.deepEqual(settingsOf({ ...EMPTY_FORM, attempts: "", notify: "  " }, undefined), {});
    assert.deepEqual(notifyTargetsOf("a@b.co"), ["a@b.co"]);
    assert.deepEqual(notifyTargetsOf(", ,"), []);
  });

  it("sends only the Cycles options the user changed from the file's, and none for other engines", () => {
    const file = formOfScene(scene, EMPTY_FORM);
    assert.equal(settingsOf(file, undefined, file).render, undefined);
    const changed = { ...file, cycles: { ...file.cycles, noiseThreshold: "0.1", denoising: true, causticsReflective: true, clampIndirect: "" } };
    assert.deepEqual(settingsOf(changed, undefined, file).render, {
      cycles: { noiseThreshold: 0.1, denoising: { enabled: true }, caustics: { reflective: true } },
    });
    assert.equal(settingsOf({ ...changed, engine: "eevee" }, undefined, file).render, undefined);
    assert.deepEqual(cyclesOverridesOf({ ...file.cycles, maxBounces: "8", clampDirect: "3", filterGlossy: "0.5" }, file.cycles), {
      bounces: { total: 8 },
      clamp: { direct: 3 },
      filterGlossy: 0.5,
    });
  });

  it("opens the shallowest .blend of a project first", () => {
    assert.equal(defaultBlend(["shots/alt/b.blend", "shots/a.blend", "z/main.blend"]), "shots/a.blend");
    assert.equal(defaultBlend(["main.blend", "lib/assets.blend"]), "main.blend");
    assert.equal(defaultBlend([]), undefined);
  });
});

describe("display formats", () => {
  it("writes durations, seconds and sizes as a person reads them", () => {
    assert.deepEqual([0, 42.4, 185, 7440].map(formatDuration), ["0 s", "42 s", "3 min 5 s", "2 h 4 min"]);
    assert.deepEqual([0.42, 9.96, 12.4].map(formatSeconds), ["0.4 s", "10 s", "12 s"]);
    assert.deepEqual([812, 14_000, 3.2 * 1024 ** 2, 5 * 1024 ** 3].map(formatBytes), ["812 B", "14 KiB", "3.2 MiB", "5.00 GiB"]);
  });
});
