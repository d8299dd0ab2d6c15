import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { chmod, mkdir, readFile, readdir, rm, utimes, writeFile } from "node:fs/promises";
import { join } from "node:path";
import sharp from "sharp";
import { inspectBlendFile } from "../../src/blender/inspect.ts";
import { inspectionCacheDir } from "../../src/blender/inspection-cache.ts";
import { makeScene, tempDir } from "../helpers/blender.ts";

/** A Blender that counts its starts in `counter` (one line each), then runs the host's Blender. */
async function countingBlender(dir: string, name = "blender-counting"): Promise<{ path: string; starts: () => Promise<number> }> {
  const path = join(dir, name);
  const counter = join(dir, `${name}.starts`);
  await writeFile(path, `#!/bin/sh\necho start >> '${counter}'\nexec blender "$@"\n`);
  await chmod(path, 0o755);
  return { path, starts: async () => (await readFile(counter, "utf8").catch(() => "")).split("\n").filter(Boolean).length };
}

/** Moves a file's (or folder's) times 10 s into the past: older than the cache's racy margin. */
async function age(...paths: string[]): Promise<void> {
  const past = new Date(Date.now() - 10_000);
  for (const path of paths) await utimes(path, past, past);
}

describe("inspection cache (inspect once)", () => {
  it("inspects an unchanged file once; a changed file, a changed Blender or another path map inspect again", async (t) => {
    const dir = await tempDir(t);
    const home = join(dir, "home");
    const blend = await makeScene(join(dir, "scene.blend"), { frames: [1, 4] });
    const blender = await countingBlender(dir);
    const inspect = (options: { pathMaps?: [string, string][] } = {}) => inspectBlendFile(blend, { executable: blender.path, cacheHome: home, ...options });

    const first = await inspect();
    const second = await inspect();
    assert.equal(await blender.starts(), 1, "the second inspection came from the cache");
    assert.deepEqual(second, first);
    assert.equal((await readdir(inspectionCacheDir(home))).length, 1);

    // The file changes (saved again with another frame range): inspected again, and the new range is reported.
    await makeScene(blend, { frames: [1, 9] });
    const changed = await inspect();
    assert.equal(await blender.starts(), 2);
    assert.equal(changed.scenes[0]!.frameEnd, 9);
    await inspect();
    assert.equal(await blender.starts(), 2, "the changed file is cached in turn");

    // The Blender changes (an upgrade replaces the executable): inspected again.
    await writeFile(blender.path, `#!/bin/sh\n# upgraded\necho start >> '${join(dir, "blender-counting.starts")}'\nexec blender "$@"\n`);
    await inspect();
    assert.equal(await blender.starts(), 3);

    // Settings that change the report (path maps) are part of the key.
    await inspect({ pathMaps: [["C:\\textures", dir]] });
    assert.equal(await blender.starts(), 4);

    // Without a cache folder nothing is cached.
    await inspectBlendFile(blend, { executable: blender.path });
    await inspectBlendFile(blend, { executable: blender.path });
    assert.equal(await blender.starts(), 6);
  });

  it("inspects again when a file the report describes changes, appears or disappears", async (t) => {
    const dir = await tempDir(t);
    const home = join(dir, "home");
    const textures = join(dir, "textures");
    await mkdir(textures, { recursive: true });
    const texture = join(textures, "green.png");
    const green = () => sharp({ create: { width: 8, height: 8, channels: 3, background: { r: 0, g: 255, b: 0 } } }).png();
    await green().toFile(texture);
    const blend = await makeScene(join(dir, "scene.blend"), { texture });
    await age(texture, textures);
    const blender = await countingBlender(dir);
    const inspect = () => inspectBlendFile(blend, { executable: blender.path, cacheHome: home });

    await inspect();
    await inspect();
    assert.equal(await blender.starts(), 1);

    // The texture is painted again.
    await sharp({ create: { width: 16, height: 16, channels: 3, background: { r: 0, g: 0, b: 255 } } }).png().toFile(texture);
    await age(texture, textures);
    await inspect();
    assert.equal(await blender.starts(), 2);
    await inspect();
    assert.equal(await blender.starts(), 2);

    // The texture disappears: the report must now list it as missing.
    await rm(texture);
    await age(textures);
    const missing = await inspect();
    assert.equal(await blender.starts(), 3);
    assert.deepEqual(missing.missingFiles.map((file) => file.absolutePath), [texture]);

    // It comes back: not missing any more.
    await green().toFile(texture);
    await age(texture, textures);
    const back = await inspect();
    assert.equal(await blender.starts(), 4);
    assert.deepEqual(back.missingFiles, []);
  });

  it("does not cache a report while a file it describes has only just changed (its timestamp could hide a second change)", async (t) => {
    const dir = await tempDir(t);
    const home = join(dir, "home");
    const texture = join(dir, "green.png");
    await sharp({ create: { width: 8, height: 8, channels: 3, background: { r: 0, g: 255, b: 0 } } }).png().toFile(texture);
    const blend = await makeScene(join(dir, "scene.blend"), { texture });
    const blender = await countingBlender(dir);
    await inspectBlendFile(blend, { executable: blender.path, cacheHome: home });
    await inspectBlendFile(blend, { executable: blender.path, cacheHome: home });
    assert.equal(await blender.starts(), 2);
  });
});
