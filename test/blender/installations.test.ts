import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { chmod, mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { brender, makeScene, tempDir } from "../helpers/blender.ts";
import { findBlenders } from "../../src/blender/installations.ts";

/** A stand-in Blender: answers --version with `version`; anything else fails the way our inspection script would on an API change. */
async function fakeBlender(dir: string, version: string): Promise<string> {
  await mkdir(dir, { recursive: true });
  const path = join(dir, "blender");
  await writeFile(path, [
    "#!/bin/sh",
    `if [ "$1" = --version ]; then echo "Blender ${version}"; exit 0; fi`,
    "echo 'Traceback (most recent call last):'",
    "echo '  File \"/app/dist/blender/bpy/inspect_scene.py\", line 20, in scene_info'",
    "echo \"AttributeError: 'Scene' object has no attribute 'node_tree'\"",
    "exit 1",
    "",
  ].join("\n"));
  await chmod(path, 0o755);
  return path;
}

type Listed = { path: string; version?: string; sources: string[]; problem?: string };

describe("brender blenders: the Blenders on this machine", () => {
  it("lists BLENDER_EXECUTABLE, the registry and PATH with their versions; add refuses what is not a Blender", async (t) => {
    const home = await tempDir(t);
    const configured = await fakeBlender(join(home, "configured"), "9.1.0");
    const onPath = await fakeBlender(join(home, "onpath"), "8.0.1");
    const registered = await fakeBlender(join(home, "registered"), "9.5.2");
    const env = { BRENDER_HOME: home, BLENDER_EXECUTABLE: configured, PATH: `${join(home, "onpath")}:${process.env.PATH}` };

    const added = await brender(["blenders", "add", registered], env);
    assert.equal(added.code, 0, added.stderr);
    assert.match(added.stdout, /Added Blender 9\.5\.2/);
    const refused = await brender(["blenders", "add", join(home, "nothing-here")], env);
    assert.equal(refused.code, 2);
    assert.match(refused.stderr, /is not an executable file/);
    const notBlender = join(home, "true.sh");
    await writeFile(notBlender, "#!/bin/sh\necho hello\n");
    await chmod(notBlender, 0o755);
    const refusedScript = await brender(["blenders", "add", notBlender], env);
    assert.equal(refusedScript.code, 2);
    assert.match(refusedScript.stderr, /did not answer --version like Blender/);
    assert.deepEqual(JSON.parse(await readFile(join(home, "blenders.json"), "utf8")), { blenders: [registered] });

    const listed = await brender(["blenders", "--json"], env);
    assert.equal(listed.code, 0, listed.stderr);
    const ours = (JSON.parse(listed.stdout) as Listed[]).filter((blender) => blender.path.startsWith(home));
    assert.deepEqual(ours.map((blender) => [blender.path, blender.version, blender.sources]), [
      [configured, "9.1.0", ["BLENDER_EXECUTABLE"]],
      [registered, "9.5.2", ["registry"]],
      [onPath, "8.0.1", ["PATH"]],
    ]);
    const text = await brender(["blenders"], env);
    assert.match(text.stdout, /9\.5\.2\s+\S+registered\/blender\s+\[registry\]/);
  });

  it("inspects with the nearest Blender at or above the file's version; our script failing names the Blender and is not blamed on the file", async (t) => {
    const home = await tempDir(t);
    const blend = await makeScene(join(home, "host.blend"), { frames: [1, 1], resolution: [16, 16] });
    const newer = await fakeBlender(join(home, "newer"), "9.1.0");
    const env = { BRENDER_HOME: home, BLENDER_EXECUTABLE: newer };

    // The host's Blender saved the file: its release wins over the newer one configured.
    const chosen = await brender(["inspect", blend, "--json"], env);
    assert.equal(chosen.code, 0, chosen.stderr);
    const inspection = JSON.parse(chosen.stdout);
    assert.equal(inspection.renderBlender.version, inspection.blenderVersion.split(" ")[0]);
    assert.notEqual(inspection.renderBlender.path, newer);

    // Asked for the newer one, whose run of our script fails: Brender's fault, with the version, never "save it again".
    const failed = await brender(["inspect", blend, "--blender", "9.1"], env);
    assert.equal(failed.code, 1);
    assert.match(failed.stderr, /Brender's inspection script failed on Blender 9\.1\.0 .*AttributeError: 'Scene' object has no attribute 'node_tree'.*not a problem with the file/);
    assert.doesNotMatch(failed.stderr, /save it again/);

    const missing = await brender(["inspect", blend, "--blender", "7.0"], env);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /Blender 7\.0 is not installed here \(found .*9\.1\.0.*\): pick one of those with --blender, or add one with 'brender blenders add PATH'/);
  });
});

describe("a BLENDER_EXECUTABLE that is not a working Blender", () => {
  it("is passed over for a working Blender, and the choice says so with the fix", async (t) => {
    const home = await tempDir(t);
    const blend = await makeScene(join(home, "host.blend"), { frames: [1, 1], resolution: [16, 16] });
    const broken = join(home, "broken-blender");
    await writeFile(broken, "#!/bin/sh\necho 'error while loading shared libraries: libGL.so.1'\nexit 127\n");
    await chmod(broken, 0o755);

    const inspected = await brender(["inspect", blend, "--json"], { BRENDER_HOME: home, BLENDER_EXECUTABLE: broken });
    assert.equal(inspected.code, 0, inspected.stderr);
    const choice = JSON.parse(inspected.stdout).renderBlender;
    assert.notEqual(choice.path, broken);
    assert.match(choice.warning, /BLENDER_EXECUTABLE=\S+broken-blender does not answer --version like Blender, so it was passed over: fix or unset BLENDER_EXECUTABLE/);
  });

  it("is probed with the environment the render will run it with, not this process's", async (t) => {
    const home = await tempDir(t);
    const needsVariable = join(home, "blender-needs-env");
    await writeFile(needsVariable, '#!/bin/sh\nif [ "$1" = --version ] && [ -n "$BRENDER_TEST_LICENSE" ]; then echo "Blender 9.2.0"; exit 0; fi\nexit 1\n');
    await chmod(needsVariable, 0o755);
    assert.equal(process.env.BRENDER_TEST_LICENSE, undefined);

    const found = await findBlenders({ BRENDER_HOME: home, BLENDER_EXECUTABLE: needsVariable, BRENDER_TEST_LICENSE: "yes", PATH: "/nonexistent" });
    assert.equal(found.find((blender) => blender.path === needsVariable)?.version, "9.2.0");
  });
});
