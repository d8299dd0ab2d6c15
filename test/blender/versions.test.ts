/**
 * The test matrix: the Blender-facing path (inspection, copy → render → upload through the local
 * farm, custom Python, compositor outputs, scene and camera overrides, a folder project, Eevee)
 * on the host's Blender and on every Blender listed in BRENDER_TEST_BLENDERS
 * (scripts/test-blenders.sh builds Debian trixie's 4.3 and sid's 5.x for it). Each Blender makes
 * its own scenes, so every file is saved by the Blender under test, and every frame is compared
 * with that same Blender's own `blender -b FILE -a`.
 */
import { before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdir, readdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";
import sharp from "sharp";
import { brender, makeScene, pixels, tempDir, testBlenders } from "../helpers/blender.ts";

const run = promisify(execFile);

type Summary = {
  status: string;
  reason?: string;
  warnings: string[];
  blender?: { path: string; version: string };
  outputs?: { location: string; frames: string };
};

const blenders = await testBlenders();

for (const blender of blenders) {
  const release = blender.version.split(".").slice(0, 2).join(".");
  // The host's Blender is found on PATH; the others are what a user points BLENDER_EXECUTABLE at.
  const blenderEnv = blender.path === "blender" ? {} : { BLENDER_EXECUTABLE: blender.path };

  describe(`Blender ${blender.version} (${blender.path})`, () => {
    let started = 0;
    before(() => {
      started = performance.now();
    });

    async function render(home: string, args: string[]): Promise<Summary> {
      const result = await brender(["render", ...args, "--json"], { BRENDER_HOME: home, ...blenderEnv });
      assert.ok(result.stdout.trim().startsWith("{"), `expected a JSON summary, got: ${result.stdout}\n${result.stderr}`);
      const summary = JSON.parse(result.stdout) as Summary;
      assert.equal(result.code, 0, `${summary.status}: ${summary.reason ?? ""}\n${result.stderr}`);
      assert.equal(summary.status, "SUCCEEDED");
      return summary;
    }

    /** `blender -b FILE [setup] -o FOLDER/frame_#### -F PNG [render]` with this Blender (the scene is chosen before the output is set). */
    async function direct(blend: string, folder: string, render: string[], setup: string[] = []): Promise<void> {
      await run(blender.path, ["-b", blend, ...setup, "-o", join(folder, "frame_####"), "-F", "PNG", ...render], { maxBuffer: 64 << 20 });
    }

    async function assertSamePixels(ours: string, theirs: string, what: string): Promise<void> {
      const [a, b] = [await pixels(ours), await pixels(theirs)];
      assert.deepEqual([a.width, a.height], [b.width, b.height], `${what}: size`);
      assert.ok(a.data.equals(b.data), `${what} differs from Blender ${blender.version}'s own render`);
    }

    it("inspects a scene it saved: scenes, cameras, layers, compositor outputs", async (t) => {
      const home = await tempDir(t);
      const blend = await makeScene(join(home, "shot.blend"), { frames: [1, 3], extra_cameras: 1, extra_scene: "Small", file_output: true }, blender.path);
      const result = await brender(["inspect", blend, "--json"], { BRENDER_HOME: home, ...blenderEnv });
      assert.equal(result.code, 0, result.stderr);
      const inspection = JSON.parse(result.stdout);
      assert.equal(inspection.savedWith, release);
      assert.match(inspection.blenderVersion, new RegExp(`^${blender.version.replaceAll(".", "\\.")}`));
      assert.deepEqual(inspection.scenes.map((scene: { name: string }) => scene.name).sort(), ["Demo", "Small"]);
      const demo = inspection.scenes.find((scene: { name: string }) => scene.name === "Demo");
      assert.deepEqual([demo.frameStart, demo.frameEnd, demo.engine, demo.camera], [1, 3, "CYCLES", "MainCamera"]);
      assert.deepEqual(demo.cameras, ["MainCamera", "SideCamera1"]);
      assert.deepEqual(demo.viewLayers, [{ name: "ViewLayer", use: true }]);
      assert.equal(demo.compositor.enabled, true);
      assert.deepEqual(demo.compositor.fileOutputs.map((node: { node: string; basePath: string; format: string; inputs: string[] }) => [node.node, node.basePath, node.format, node.inputs]), [
        ["Beauty Copy", "//file_output/", "PNG", ["Image"]],
      ]);
      assert.deepEqual(inspection.missingFiles, []);
    });

    it("renders split across 2 children pixel-identical to its own blender -a, with the compositor's outputs per frame", async (t) => {
      const home = await tempDir(t);
      const blend = await makeScene(join(home, "shot.blend"), { frames: [1, 3], file_output: true }, blender.path);
      await direct(blend, join(home, "direct"), ["-a"]);
      const summary = await render(home, [blend, "--array-size", "2"]);
      if (summary.blender) assert.equal(summary.blender.version, blender.version, "rendered by the Blender under test");
      const frames = summary.outputs!.frames;
      assert.deepEqual((await readdir(frames)).sort(), ["frame_0001.png", "frame_0002.png", "frame_0003.png"]);
      for (const name of await readdir(frames)) await assertSamePixels(join(frames, name), join(home, "direct", name), name);
      // File Output nodes write one file per frame (their names differ between versions: Image0001.png, shotImage0001.png).
      const compositor = (await readdir(join(summary.outputs!.location, "compositor", "Beauty_Copy"))).sort();
      assert.equal(compositor.length, 3, `one compositor file per frame: ${compositor.join(", ")}`);
      const directCompositor = (await readdir(join(home, "file_output"))).sort();
      assert.deepEqual(compositor, directCompositor, "named as Blender's own render names them");
    });

    it("applies scene and camera overrides as Blender's own -S and camera choice render them", async (t) => {
      const home = await tempDir(t);
      const blend = await makeScene(join(home, "shot.blend"), { frames: [1, 3], extra_cameras: 1, extra_scene: "Small" }, blender.path);
      const small = await render(home, [blend, "--scene", "Small", "--frames", "2"]);
      await direct(blend, join(home, "small"), ["-f", "2"], ["-S", "Small"]);
      await assertSamePixels(join(small.outputs!.frames, "frame_0002.png"), join(home, "small", "frame_0002.png"), "scene Small");

      const side = await render(home, [blend, "--camera", "SideCamera1", "--frames", "2"]);
      await direct(blend, join(home, "side"), ["-f", "2"], ["--python-expr", "import bpy; bpy.context.scene.camera = bpy.data.objects['SideCamera1']"]);
      await assertSamePixels(join(side.outputs!.frames, "frame_0002.png"), join(home, "side", "frame_0002.png"), "camera SideCamera1");
    });

    it("renders a project folder (texture in a sibling folder) and runs a custom Python script from it", async (t) => {
      const home = await tempDir(t);
      const project = join(home, "project");
      await mkdir(join(project, "textures"), { recursive: true });
      await mkdir(join(project, "tools"), { recursive: true });
      await mkdir(join(project, "shots"), { recursive: true });
      await sharp({ create: { width: 8, height: 8, channels: 3, background: { r: 0, g: 255, b: 0 } } }).png().toFile(join(project, "textures", "green.png"));
      const blend = await makeScene(join(project, "shots", "shot.blend"), { frames: [1, 2], texture: join(project, "textures", "green.png") }, blender.path);
      const folder = await render(home, [project, "--blend", "shots/shot.blend", "--frames", "1"]);
      await direct(blend, join(home, "direct"), ["-f", "1"]);
      await assertSamePixels(join(folder.outputs!.frames, "frame_0001.png"), join(home, "direct", "frame_0001.png"), "folder project frame 1");
      const stats = await sharp(join(folder.outputs!.frames, "frame_0001.png")).stats();
      // A missing texture renders magenta (red and blue, no green); 4.x's AgX view keeps the found one less saturated than 3.x's Filmic.
      const [red, green, blue] = stats.channels.map((channel) => channel.mean);
      assert.ok(green! > 1.2 * red! && green! > 1.2 * blue!, `the green texture was found (mean rgb ${red}, ${green}, ${blue})`);

      await writeFile(join(project, "tools", "job.py"), [
        "import bpy, os",
        "scene = bpy.context.scene",
        "for frame in [int(f) for f in os.environ['BRENDER_FRAMES'].split(',')]:",
        "    scene.frame_set(frame)",
        "    scene.render.filepath = os.path.join(os.environ['BRENDER_FRAMES_FOLDER'], 'frame_%04d' % frame)",
        "    bpy.ops.render.render(write_still=True)",
      ].join("\n"));
      const scripted = await render(home, [project, "--blend", "shots/shot.blend", "--python", "tools/job.py", "--frames", "1-2", "--array-size", "2"]);
      assert.deepEqual((await readdir(scripted.outputs!.frames)).sort(), ["frame_0001.png", "frame_0002.png"]);
      await assertSamePixels(join(scripted.outputs!.frames, "frame_0001.png"), join(home, "direct", "frame_0001.png"), "custom Python frame 1");
    });

    it("renders one Eevee frame headless, pixel-identical to its own render", async (t) => {
      const home = await tempDir(t);
      const blend = await makeScene(join(home, "eevee.blend"), { frames: [1, 1], engine: "BLENDER_EEVEE", samples: 2 }, blender.path);
      const summary = await render(home, [blend, "--frames", "1"]);
      await direct(blend, join(home, "direct"), ["-f", "1"]);
      await assertSamePixels(join(summary.outputs!.frames, "frame_0001.png"), join(home, "direct", "frame_0001.png"), "Eevee frame 1");
      const stats = await sharp(join(summary.outputs!.frames, "frame_0001.png")).stats();
      assert.ok(stats.channels.slice(0, 3).reduce((sum, channel) => sum + channel.mean, 0) > 30, "the Eevee frame is not black");
    });

    it("took its time", (t) => {
      t.diagnostic(`Blender ${blender.version}: ${((performance.now() - started) / 1000).toFixed(0)} s for the matrix`);
    });
  });
}
