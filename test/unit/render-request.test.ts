import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { buildPayload, buildRenderPayload, parseDuration, projectNameFrom, settingsFromFlags, withRenderOverrides } from "../../src/renders/render-request.ts";
import { apiField, cliFlag, type SettingError } from "../../src/renders/render-settings.ts";
import type { SceneInspection, SceneInfo } from "../../src/domain/scene-inspection.ts";
import { UserInputError } from "../../src/errors.ts";

function scene(name: string, overrides: Partial<SceneInfo> = {}): SceneInfo {
  return {
    name, frameStart: 1, frameEnd: 48, frameStep: 2, frameCurrent: 1, fps: 24, engine: "CYCLES",
    resolution: { x: 1920, y: 1080, percentage: 100 }, pixelAspect: { x: 1, y: 1 },
    output: { format: "PNG", colorMode: "RGBA", colorDepth: "8", filepath: "//out/" },
    camera: "Cam", cameras: ["Cam"], viewLayers: [{ name: "ViewLayer", use: true }],
    compositor: { enabled: false, fileOutputs: [] }, sequencer: false, cycles: null, ...overrides,
  };
}

const inspection: SceneInspection = {
  file: "/p/shot.blend", savedWith: "3.4", compression: "none", blenderVersion: "3.4.1", fileVersion: "3.4.1",
  activeScene: "Main", scenes: [scene("Main"), scene("Eevee", { engine: "BLENDER_EEVEE", camera: null })],
  cameras: ["Cam", "Side"], externalFiles: [], missingFiles: [], warnings: [],
  renderBlender: { path: "/usr/bin/blender", version: "3.4.1" },
};
const context = { renderId: "r-test-1", blendFile: "shot.blend", defaultProject: "/p/My Shot 01.blend" };

describe("buildRenderPayload", () => {
  it("keeps the file's settings (auto mode) and its frame range and step when nothing is given", () => {
    const payload = buildRenderPayload({}, inspection, context);
    assert.equal(payload.mode, "auto");
    assert.equal(payload.render, undefined);
    assert.equal(payload.frames, "1-47:2");
    assert.equal(payload.type, "animation");
    assert.deepEqual(payload.split, { arraySize: 1 });
    assert.equal(payload.project.name, "My-Shot-01");
  });

  it("turns options into overrides: engine, samples for that engine, resolution, percentage, format", () => {
    const payload = buildRenderPayload({ engine: "eevee", samples: "32", resolution: "640x360", percentage: "50", format: "jpeg", camera: "Side", frames: "7" }, inspection, context);
    assert.equal(payload.mode, "override");
    assert.equal(payload.type, "still");
    assert.deepEqual(payload.render, { engine: "BLENDER_EEVEE", eevee: { samples: 32 }, resolution: { x: 640, y: 360, percentage: 50 }, output: { format: "JPEG" } });
    assert.equal(buildRenderPayload({ samples: "64" }, inspection, context).render?.cycles?.samples, 64, "the file's engine (Cycles) decides");
  });

  it("makes a python job with its variables", () => {
    const payload = buildRenderPayload({ python: "tools/job.py", env: ["SHOT=010", "MODE=a=b"], chunkSize: "4" }, inspection, context);
    assert.equal(payload.type, "python");
    assert.deepEqual(payload.python, { script: "tools/job.py", env: { SHOT: "010", MODE: "a=b" } });
    assert.deepEqual(payload.split, { chunkSize: 4 });
  });

  it("refuses what the file cannot do, naming the option and the choices", () => {
    const cases: Array<[Parameters<typeof buildRenderPayload>[0], RegExp]> = [
      [{ scene: "Nope" }, /--scene "Nope" is not in \/p\/shot\.blend; its scenes are "Main", "Eevee"/],
      [{ layer: "Fg" }, /--layer "Fg" is not in scene "Main"; its view layers are "ViewLayer"/],
      [{ camera: "Top" }, /--camera "Top" is not in .*"Cam", "Side"/],
      [{ scene: "Eevee" }, /Scene "Eevee" has no active camera; pick one with --camera/],
      [{ arraySize: "2", chunkSize: "3" }, /--array-size or --chunk-size, not both/],
      [{ engine: "octane" }, /--engine "octane" is not an engine; use cycles, eevee or workbench/],
      [{ resolution: "big" }, /--resolution "big" must look like 1920x1080/],
      [{ samples: "many" }, /--samples "many" must be a whole number/],
      [{ env: ["A=1"] }, /--env sets variables for a --python script/],
      [{ frames: "10-1" }, /10-1/],
      [{ engine: "workbench", samples: "8" }, /--samples applies to Cycles and Eevee, not BLENDER_WORKBENCH/],
    ];
    for (const [options, message] of cases) {
      assert.throws(() => buildRenderPayload(options, inspection, context), (error: unknown) => error instanceof UserInputError && message.test(error.message), JSON.stringify(options));
    }
  });
});

describe("small parsers", () => {
  it("parses durations and refuses others", () => {
    assert.deepEqual(["900", "15m", "2h", "30s"].map((text) => parseDuration(text, "--timeout")), [900, 900, 7200, 30]);
    assert.throws(() => parseDuration("soon", "--timeout"), /--timeout "soon" must be a duration like 900, 15m or 2h/);
  });

  it("makes project names safe for object keys", () => {
    assert.equal(projectNameFrom("/x/My Shot (final).blend"), "My-Shot-final");
    assert.equal(projectNameFrom("/x/..blend"), "project");
  });
});

describe("withRenderOverrides", () => {
  it("adds advanced overrides, nested, with the simple options winning where both speak", () => {
    const built = buildRenderPayload({ samples: "64", resolution: "640x360" }, inspection, context);
    const payload = withRenderOverrides(built, { cycles: { samples: 8, noiseThreshold: 0.05, bounces: { total: 4 } }, resolution: { percentage: 50 } });
    assert.equal(payload.mode, "override");
    assert.deepEqual(payload.render, {
      cycles: { samples: 64, noiseThreshold: 0.05, bounces: { total: 4 } },
      resolution: { x: 640, y: 360, percentage: 50 },
    });
    assert.deepEqual(withRenderOverrides(built, {}), built);
    assert.equal(withRenderOverrides(buildRenderPayload({}, inspection, context), { cycles: { denoising: { enabled: false } } }).mode, "override");
  });

  it("names the bad field of an override the payload schema refuses", () => {
    const built = buildRenderPayload({}, inspection, context);
    assert.throws(
      () => withRenderOverrides(built, { cycles: { noiseThreshold: 2 } } as never),
      (error: unknown) => error instanceof UserInputError && /render\.cycles\.noiseThreshold/.test(error.message),
    );
  });
});

describe("one settings schema for the CLI and the API", () => {
  it("the CLI's flags parse into the settings the API takes as they are, and both build the same payload", () => {
    const flags = { engine: "eevee", samples: "32", resolution: "640x360", arraySize: "2", python: "job.py", env: ["A=1"], camera: "Side" };
    const settings = settingsFromFlags(flags);
    assert.deepEqual(settings, { engine: "eevee", samples: 32, resolution: "640x360", arraySize: 2, python: "job.py", env: { A: "1" }, camera: "Side" });
    assert.deepEqual(buildPayload(settings, inspection, context, apiField), buildRenderPayload(flags, inspection, context));
  });

  it("names a refused setting in each front end's words, and says which setting it is", () => {
    const refused = (name: typeof cliFlag) => {
      try {
        buildPayload({ scene: "Nope" }, inspection, context, name);
      } catch (error) {
        return error as SettingError;
      }
      assert.fail("not refused");
    };
    assert.match(refused(apiField).message, /^settings\.scene "Nope" is not in/);
    assert.match(refused(cliFlag).message, /^--scene "Nope" is not in/);
    assert.equal(refused(apiField).setting, "scene");
    assert.equal(cliFlag("arraySize"), "--array-size");
    assert.throws(() => buildPayload({ arraySize: 2, chunkSize: 3 }, inspection, context, apiField), /^SettingError: Give settings\.arraySize or settings\.chunkSize, not both\.$/);
  });
});
