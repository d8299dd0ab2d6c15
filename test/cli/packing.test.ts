import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { access, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";
import { brender, pixels, REPO, tempDir } from "../helpers/blender.ts";
import { blenderMovingAway, makeDepsScene, moveBack, renderDirect } from "../helpers/deps-scene.ts";

const run = promisify(execFile);
const exists = (path: string) => access(path).then(() => true, () => false);

type Summary = {
  status: string;
  warnings: string[];
  upload: { files: number; bytesUploaded: number; bytesSkipped: number; dependencies?: { traced: number; files: number; outside: number; missing: string[] } };
  outputs: { frames: string };
};

/** Every occurrence of `from` replaced by `to`, of the same length, in a file's bytes. */
function swapAll(bytes: Buffer, from: string, to: string): Buffer {
  assert.equal(from.length, to.length);
  const copy = Buffer.from(bytes);
  let found = 0;
  for (let at = copy.indexOf(from); at >= 0; at = copy.indexOf(from, at + 1)) {
    copy.write(to, at, "latin1");
    found += 1;
  }
  assert.ok(found > 0, `"${from}" is not in the file`);
  return copy;
}

async function assertSameFrames(framesFolder: string, directFolder: string, frames: readonly number[]): Promise<void> {
  for (const frame of frames) {
    const name = String(frame).padStart(4, "0");
    const ours = await pixels(join(framesFolder, `frame_${name}.png`));
    const direct = await pixels(join(directFolder, `f_${name}.png`));
    assert.ok(ours.data.equals(direct.data), `frame ${frame} differs from Blender rendering the original`);
  }
}

describe("packing: a lone .blend whose files live elsewhere (local farm, real Blender)", () => {
  it("renders pixel-identical to the untouched original with every original moved away, and a re-submit uploads 0 bytes", async (t) => {
    const home = await tempDir(t);
    const scene = await makeDepsScene(join(home, "files"), join(home, "elsewhere"));
    await renderDirect(scene.blend, join(home, "direct"), [1, 3]);
    const originals = [scene.root, scene.outside];
    const blender = await blenderMovingAway(home, originals);

    const first = await brender(["render", scene.blend, "--frames", "1-3:2", "--json"], { BRENDER_HOME: join(home, "farm"), BLENDER_EXECUTABLE: blender });
    assert.equal(first.code, 0, first.stderr);
    const summary = JSON.parse(first.stdout) as Summary;
    assert.equal(await exists(scene.root), false, "the originals were moved away before the render");
    assert.equal(summary.status, "SUCCEEDED");
    assert.deepEqual(summary.warnings, []);
    // wood, checker, 3 sequence frames, 2 UDIM tiles, the library and its texture: all outside the shot's folder.
    const { traced, files, outside, missing } = summary.upload.dependencies!;
    assert.deepEqual({ traced, files, outside, missing }, { traced: 6, files: 9, outside: 9, missing: [] });
    assert.equal(summary.upload.files, 11, "the .blend, 9 dependencies and the farm's map");
    await assertSameFrames(summary.outputs.frames, join(home, "direct"), [1, 3]);

    await moveBack(originals);
    const again = await brender(["render", scene.blend, "--frames", "1", "--json"], { BRENDER_HOME: join(home, "farm") });
    assert.equal(again.code, 0, again.stderr);
    const second = JSON.parse(again.stdout) as Summary;
    assert.equal(second.upload.bytesUploaded, 0);
    assert.equal(second.upload.bytesSkipped, summary.upload.bytesUploaded);
  });

  it("inspect --deps lists every dependency with its kind, path as written, where it resolves, size and place (text and JSON)", async (t) => {
    const home = await tempDir(t);
    const scene = await makeDepsScene(join(home, "files"), join(home, "elsewhere"));
    const result = await brender(["inspect", scene.blend, "--deps", "--json"]);
    assert.equal(result.code, 0, result.stderr);
    type Row = { kind: string; owner: string; path: string; resolved: string; library: string | null; files: string[]; size: number; insideProject: boolean; uploadedAs: string };
    const rows = (JSON.parse(result.stdout) as { dependencies: Row[] }).dependencies;
    const by = (owner: string) => rows.find((row) => row.owner === owner)!;
    assert.deepEqual(rows.map((row) => `${row.kind} ${row.owner}`).sort(), [
      'image Image "checker.png"', 'image Image "frame_0001.png"', 'image Image "libtex.png"', 'image Image "tile.1001.png"', 'image Image "wood.png"', 'library Library "lib.blend"',
    ]);
    assert.equal(by('Image "checker.png"').path, "//../tex/checker.png");
    assert.equal(by('Image "checker.png"').resolved, join(scene.show, "tex", "checker.png"));
    assert.equal(by('Image "wood.png"').resolved, join(scene.outside, "wood.png"));
    assert.equal(by('Image "wood.png"').uploadedAs, `_external${join(scene.outside, "wood.png")}`);
    assert.deepEqual(by('Image "tile.1001.png"').files, [1001, 1002].map((tile) => join(scene.show, "udim", `tile.${tile}.png`)));
    assert.deepEqual(by('Image "frame_0001.png"').files, [1, 2, 3].map((frame) => join(scene.show, "seq", `frame_000${frame}.png`)));
    const libtex = by('Image "libtex.png"');
    assert.equal(libtex.library, join(scene.show, "assets", "lib.blend"));
    assert.equal(libtex.path, "//tex/libtex.png");
    assert.equal(libtex.resolved, join(scene.show, "assets", "tex", "libtex.png"), "resolved relative to the library, not the shot");
    assert.ok(rows.every((row) => row.size > 0 && !row.insideProject));

    const text = await brender(["inspect", scene.blend, "--deps"]);
    assert.equal(text.code, 0);
    assert.match(text.stdout, /outside image\s+Image "tile.1001.png": \/\/..\/udim\/tile.<UDIM>.png -> .*\[2 files\]/);
  });

  it("a missing dependency exits 2 naming it and submits nothing; --allow-missing renders and warns", async (t) => {
    const home = await tempDir(t);
    const scene = await makeDepsScene(join(home, "files"), join(home, "elsewhere"));
    await rm(join(scene.show, "udim", "tile.1002.png"));
    const farm = { BRENDER_HOME: join(home, "farm") };

    const refused = await brender(["render", scene.blend, "--frames", "1"], farm);
    assert.equal(refused.code, 2);
    assert.match(refused.stderr, /1 file\(s\) the \.blend needs are missing: image Image "tile.1001.png": .*tile\.1002\.png/);
    assert.match(refused.stderr, /--allow-missing/);
    assert.equal(await exists(join(home, "farm", "bucket")), false, "nothing uploaded");
    const jobs = JSON.parse((await brender(["jobs", "--json"], farm)).stdout || "[]") as unknown[];
    assert.deepEqual(jobs, []);

    const inspect = await brender(["inspect", scene.blend, "--deps"]);
    assert.equal(inspect.code, 2);
    assert.match(inspect.stdout, /MISSING image\s+Image "tile.1001.png"/);

    const allowed = await brender(["render", scene.blend, "--frames", "1", "--allow-missing", "--json"], farm);
    assert.equal(allowed.code, 0, allowed.stderr);
    const summary = JSON.parse(allowed.stdout) as Summary;
    assert.equal(summary.status, "SUCCEEDED");
    assert.equal(summary.upload.dependencies?.missing.length, 1);
    assert.ok(summary.warnings.some((warning) => /1 external file\(s\) are missing.*tile\.1002\.png/.test(warning)), JSON.stringify(summary.warnings));
  });

  it("maps Windows-style paths: backslashes in //..\\ paths, and C:\\ paths through --path-map", async (t) => {
    const home = await tempDir(t);
    const scene = await makeDepsScene(join(home, "files"), join(home, "elsewhere"));
    await renderDirect(scene.blend, join(home, "direct"), [2]);
    // The same shot as if saved on Windows: an absolute C:\ path and a relative path with backslashes.
    const windows = join(scene.show, "shots", "windows.blend");
    const expr = [
      "import bpy",
      "bpy.data.images['wood.png'].filepath = 'C:/Textures/wood.png'",
      `bpy.ops.wm.save_as_mainfile(filepath=${JSON.stringify(windows)}, relative_remap=False, compress=False)`,
    ].join("\n");
    await run("blender", ["-b", scene.blend, "--factory-startup", "--python-exit-code", "1", "--python-expr", expr]);
    // Blender on Linux turns backslashes it is given into slashes; a file saved on Windows keeps them, so put them in the bytes.
    const bytes = await readFile(windows);
    const patched = swapAll(swapAll(bytes, "C:/Textures/wood.png", "C:\\Textures\\wood.png"), "//../tex/checker.png", "//..\\tex\\checker.png");
    await writeFile(windows, patched);

    const unmapped = await brender(["render", windows, "--frames", "2"], { BRENDER_HOME: join(home, "farm") });
    assert.equal(unmapped.code, 2);
    // Blender 3.4 reads the backslashes as slashes; later versions may keep them.
    assert.match(unmapped.stderr, /Image "wood\.png": C:[\\/]Textures[\\/]wood\.png/);

    const originals = [scene.root, scene.outside];
    const blender = await blenderMovingAway(home, originals);
    const mapped = await brender(
      ["render", windows, "--frames", "2", "--path-map", `C:\\Textures=${scene.outside}`, "--json"],
      { BRENDER_HOME: join(home, "farm"), BLENDER_EXECUTABLE: blender },
    );
    assert.equal(mapped.code, 0, mapped.stderr);
    const summary = JSON.parse(mapped.stdout) as Summary;
    assert.equal(summary.status, "SUCCEEDED");
    assert.deepEqual(summary.warnings, []);
    assert.equal(await exists(scene.outside), false);
    await assertSameFrames(summary.outputs.frames, join(home, "direct"), [2]);
    assert.deepEqual((await readdir(summary.outputs.frames)).sort(), ["frame_0002.png"]);
  });
});

describe("packing: libraries linking libraries (local farm, real Blender)", () => {
  it("traces a library's library and a library's absolute texture, and renders them pixel-identical with the originals gone", async (t) => {
    const home = await tempDir(t);
    const root = join(home, "nest");
    await run("blender", ["-b", "--factory-startup", "-noaudio", "--python-exit-code", "1", "--python", join(REPO, "test", "helpers", "make_nested_libraries.py"), "--", root]);
    const blend = join(root, "shot", "shot.blend");
    await renderDirect(blend, join(home, "direct"), [1]);
    const deps = JSON.parse((await brender(["inspect", blend, "--deps", "--json"])).stdout) as { dependencies: { owner: string; library: string | null; resolved: string }[] };
    assert.deepEqual(deps.dependencies.map((row) => [row.owner, row.library, row.resolved]).sort(), [
      ['Image "t1.png"', join(root, "assets", "lib1.blend"), join(root, "abs", "t1.png")],
      ['Image "t2.png"', join(root, "other", "lib2.blend"), join(root, "other", "t2.png")],
      ['Library "lib1.blend"', null, join(root, "assets", "lib1.blend")],
      ['Library "lib2.blend"', join(root, "assets", "lib1.blend"), join(root, "other", "lib2.blend")],
    ]);
    const blender = await blenderMovingAway(home, [root]);
    const result = await brender(["render", blend, "--json"], { BRENDER_HOME: join(home, "farm"), BLENDER_EXECUTABLE: blender });
    assert.equal(result.code, 0, result.stderr);
    const summary = JSON.parse(result.stdout) as Summary;
    assert.equal(summary.status, "SUCCEEDED");
    assert.deepEqual(summary.warnings, []);
    assert.equal(await exists(root), false);
    await assertSameFrames(summary.outputs.frames, join(home, "direct"), [1]);
  });
});
