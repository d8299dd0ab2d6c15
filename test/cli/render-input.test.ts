import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { access, mkdir, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";
import sharp from "sharp";
import { brender, makeScene, tempDir, BIN } from "../helpers/blender.ts";

const run = promisify(execFile);
const exists = (path: string) => access(path).then(() => true, () => false);

/** Nothing was submitted or uploaded: no render in the farm, no project in the store. */
async function nothingSubmitted(home: string): Promise<void> {
  const jobs = await brender(["jobs", "--json"], { BRENDER_HOME: home });
  assert.deepEqual(JSON.parse(jobs.stdout), []);
  assert.equal(await exists(join(home, "bucket")), false, "nothing was uploaded");
}

describe("brender render checks its input before anything is submitted", () => {
  it("refuses a missing --python script, --timeout 0, archives, devices and a --blend outside the folder, exit 2", async (t) => {
    const home = await tempDir(t);
    const project = join(home, "project");
    await mkdir(project);
    const blend = await makeScene(join(project, "scene.blend"), { frames: [1, 2], resolution: [16, 16], samples: 1 });
    const env = { BRENDER_HOME: home };
    const cases: Array<[string[], RegExp]> = [
      [[project, "--blend", "scene.blend", "--python", "missing.py"], /--python "missing\.py" is not a file in .*project; give the script's path inside the project folder\./],
      [[blend, "--python", "job.py"], /--python runs a script from the project folder.*'brender render FOLDER --blend scene\.blend --python job\.py'/],
      // An absolute --blend inside the folder is fine: the check that fails is the next one.
      [[project, "--blend", blend, "--python", "missing.py"], /--python "missing\.py" is not a file/],
      [[project, "--blend", "/elsewhere/x.blend"], /--blend \/elsewhere\/x\.blend is not inside .*project; give the path of the \.blend inside the project folder/],
      [[blend, "--timeout", "0"], /^brender: --timeout "0" must be from 1 second to 14 days/],
      [["/dev/null"], /\/dev\/null is a character device, not a \.blend file or a project folder/],
    ];
    await writeFile(join(home, "x.zip"), "PK\x03\x04 not really");
    cases.push([[join(home, "x.zip")], /x\.zip is an archive; brender render takes a \.blend file or a project folder: unpack it/]);
    for (const [args, message] of cases) {
      const result = await brender(["render", ...args], env);
      assert.equal(result.code, 2, `${args.join(" ")}: ${result.stderr}`);
      assert.match(result.stderr, message, args.join(" "));
      assert.doesNotMatch(result.stderr, /r-\d{8}-/, "no internal id in the message");
      assert.equal(result.stderr.trim().split("\n").length, 1, "one line");
    }
    await nothingSubmitted(home);
  });

  it("warns that --frames reaches far beyond the scene; a closed stdout ends 'status' quietly", async (t) => {
    const home = await tempDir(t);
    const env = { BRENDER_HOME: home };
    const blend = await makeScene(join(home, "shot.blend"), { frames: [1, 12], resolution: [16, 16], samples: 1 });
    // The warning comes with the file's inspection, before any submission (here stopped by a bad option).
    const far = await brender(["render", blend, "--frames", "1-1000000", "--farm", "x"], env);
    assert.equal(far.code, 2);
    assert.match(far.stderr, /^warning: --frames 1-1000000 asks for 1000000 frames, far beyond scene "\w+"'s 1-12 \(12 frames\); is that a typo\?$/m);
    const near = await brender(["render", blend, "--frames", "1-24", "--farm", "x"], env);
    assert.doesNotMatch(near.stderr, /warning/);

    const renderId = (await brender(["render", blend, "--frames", "1", "--detach"], env)).stdout.trim();
    assert.match(renderId, /^r-/);
    for (let i = 0; i < 3; i++) {
      const piped = await run("bash", ["-c", `"${BIN}" status ${renderId} | head -1; echo "exit \${PIPESTATUS[0]}" >&2`], { env: { ...process.env, ...env } });
      assert.match(piped.stdout, new RegExp(`^render ${renderId} .*\\n$`));
      assert.equal(piped.stderr, "exit 0\n");
    }
    await brender(["status", renderId, "--watch"], env);
  });

  it("--json --allow-missing: missing external files are in the summary's warnings (without it: exit 2)", async (t) => {
    const home = await tempDir(t);
    const texture = join(home, "wood.png");
    await sharp({ create: { width: 8, height: 8, channels: 3, background: "#884422" } }).png().toFile(texture);
    const blend = await makeScene(join(home, "shot.blend"), { frames: [1, 1], resolution: [16, 16], samples: 1, texture });
    await rm(texture);
    const refused = await brender(["render", blend, "--json"], { BRENDER_HOME: home });
    assert.equal(refused.code, 2);
    assert.match(refused.stderr, /wood\.png.*--allow-missing/);
    const result = await brender(["render", blend, "--json", "--allow-missing"], { BRENDER_HOME: home });
    assert.equal(result.code, 0, result.stderr);
    const summary = JSON.parse(result.stdout) as { warnings: string[] };
    assert.ok(summary.warnings.some((warning) => /1 external file\(s\) are missing.*wood\.png/.test(warning)), JSON.stringify(summary.warnings));
  });
});
