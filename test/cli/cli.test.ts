import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { readFile, rm, truncate, writeFile, copyFile, readdir } from "node:fs/promises";
import { join } from "node:path";
import sharp from "sharp";
import { sceneInspectionSchema } from "../../src/domain/scene-inspection.ts";
import { brender, makeScene, tempDir, REPO } from "../helpers/blender.ts";

describe("bin/brender", () => {
  it("prints the package version", async () => {
    const pkg = JSON.parse(await readFile(join(REPO, "package.json"), "utf8")) as { version: string };
    const result = await brender(["--version"]);
    assert.equal(result.code, 0);
    assert.equal(result.stdout.trim(), pkg.version);
  });

  it("exits 2 on an unknown command or option", async () => {
    assert.equal((await brender(["paint"])).code, 2);
    assert.equal((await brender(["inspect", "--colour"])).code, 2);
  });
});

describe("brender inspect", () => {
  it("reports scenes, cameras, view layers, File Output nodes and missing files as JSON", async (t) => {
    const dir = await tempDir(t);
    const texture = join(dir, "wood.png");
    await sharp({ create: { width: 4, height: 4, channels: 3, background: "#884422" } }).png().toFile(texture);
    const blend = await makeScene(join(dir, "shot.blend"), {
      frames: [5, 40], extra_cameras: 2, extra_scene: "Small", file_output: true, compress: true, texture,
    });
    await rm(texture);

    const result = await brender(["inspect", blend, "--json"]);
    assert.equal(result.code, 0, result.stderr);
    const report = sceneInspectionSchema.parse(JSON.parse(result.stdout));
    assert.equal(report.savedWith, "3.4");
    assert.equal(report.compression, "zstd");
    assert.deepEqual(report.scenes.map((scene) => scene.name).sort(), ["Demo", "Small"]);
    const demo = report.scenes.find((scene) => scene.name === "Demo")!;
    assert.deepEqual([demo.frameStart, demo.frameEnd, demo.frameStep, demo.fps], [5, 40, 1, 24]);
    assert.equal(demo.engine, "CYCLES");
    assert.deepEqual(demo.resolution, { x: 64, y: 36, percentage: 100 });
    assert.equal(demo.output.format, "PNG");
    assert.equal(demo.camera, "MainCamera");
    assert.deepEqual(demo.cameras, ["MainCamera", "SideCamera1", "SideCamera2"]);
    assert.deepEqual(demo.viewLayers, [{ name: "ViewLayer", use: true }]);
    // Blender's defaults for what the scene generator leaves alone: the web form shows them.
    const { maxBounces, clampDirect, clampIndirect, causticsReflective, causticsRefractive, filterGlossy, adaptiveSampling, noiseThreshold } = demo.cycles!;
    assert.deepEqual(
      { maxBounces, clampDirect, clampIndirect, causticsReflective, causticsRefractive, filterGlossy, adaptiveSampling, noiseThreshold },
      { maxBounces: 12, clampDirect: 0, clampIndirect: 10, causticsReflective: true, causticsRefractive: true, filterGlossy: 1, adaptiveSampling: false, noiseThreshold: 0.01 },
    );
    assert.deepEqual(demo.compositor.fileOutputs.map((node) => [node.node, node.basePath]), [["Beauty Copy", "//file_output/"]]);
    assert.equal(report.scenes.find((scene) => scene.name === "Small")!.resolution.x, 32);
    assert.deepEqual(report.missingFiles.map((file) => [file.type, file.name, file.path]), [["image", "wood.png", "//wood.png"]]);

    const human = await brender(["inspect", blend]);
    assert.equal(human.code, 0);
    assert.match(human.stdout, /saved with Blender 3\.4 \(zstd-compressed\)/);
    assert.match(human.stdout, /frames 5-40 at 24 fps/);
    assert.match(human.stdout, /MISSING image "wood\.png": \/\/wood\.png/);
  });

  it("refuses a missing, non-.blend or truncated file with one line and exit 2", async (t) => {
    const dir = await tempDir(t);
    const png = join(dir, "picture.blend");
    await sharp({ create: { width: 2, height: 2, channels: 3, background: "#000" } }).png().toFile(png);
    const blend = await makeScene(join(dir, "good.blend"));
    const cut = join(dir, "cut.blend");
    await copyFile(blend, cut);
    await truncate(cut, 20_000);
    await writeFile(join(dir, "empty.blend"), "");

    const cases: Array<[string, RegExp]> = [
      [join(dir, "absent.blend"), /absent\.blend.*does not exist/],
      [png, /picture\.blend.*not a \.blend file/],
      [cut, /cut\.blend.*truncated/],
      [join(dir, "empty.blend"), /empty\.blend.*empty/],
    ];
    for (const [file, message] of cases) {
      const result = await brender(["inspect", file, "--json"]);
      assert.equal(result.code, 2, file);
      assert.equal(result.stdout, "");
      assert.match(result.stderr, message);
      assert.equal(result.stderr.trim().split("\n").length, 1, `one line: ${result.stderr}`);
    }
  });
});

describe("brender demo", () => {
  it("makes the demo scene and renders it through copy, render and upload", async (t) => {
    const home = await tempDir(t);
    const result = await brender(["demo", "--frames", "1-2", "--array-size", "2"], { BRENDER_HOME: home });
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /Done: render r-[0-9a-f-]+, 2\/2 frames/);
    const outputs = join(home, "bucket", "demo", "output");
    const [renderId] = await readdir(outputs);
    const files = await readdir(join(outputs, renderId!));
    assert.deepEqual(files.sort(), ["frames", "manifest.json", "output.zip", "preview.mp4", "thumbnail.jpg"]);
    const frame = await sharp(join(outputs, renderId!, "frames", "frame_0001.png")).metadata();
    assert.deepEqual([frame.width, frame.height], [320, 180]);
  });
});
