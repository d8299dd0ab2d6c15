/**
 * The Blender add-on, end to end in headless Blender 3.4: `brender addon`
 * writes the zip, it is installed into an empty user config and enabled,
 * then driven as a script would (test/addon/drive_addon.py) against a
 * `brender serve` this test starts.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { execFile, spawn, spawnSync } from "node:child_process";
import { once } from "node:events";
import { mkdir, mkdtemp, readdir, readFile, rename, rm, unlink, writeFile } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import sharp from "sharp";
import { zipEntryNames } from "../helpers/archives.ts";
import { assertGreenTexture, BIN, brender, makeScene, pixels, REPO } from "../helpers/blender.ts";
import { until } from "../helpers/wait.ts";

const run = promisify(execFile);
const INSTALL = join(REPO, "test", "addon", "install_addon.py");
const DRIVE = join(REPO, "test", "addon", "drive_addon.py");
const SCREENSHOT = join(REPO, "scripts", "addon-screenshot.py");
const hasXvfb = spawnSync("sh", ["-c", "command -v xvfb-run"]).status === 0;

type Drive = {
  result: string[];
  raised: string;
  renderId: string;
  message: [string, boolean];
  connection: [string, boolean];
  images: Array<{ name: string; size: [number, number]; filepath: string }>;
  panel: Array<{ label?: string; alert?: boolean; prop?: string; operator?: string; menu?: string; text?: string | null }>;
};
type Served = { url: string; home: string; stop: () => Promise<void> };

let root: string;
let userEnv: NodeJS.ProcessEnv;
let zipFile: string;

/** Runs Blender with the temp user config on `blend` (or no file), driving the add-on with `options`; returns what drive_addon.py printed and the whole output. */
async function drive(blend: string | undefined, options: Record<string, unknown>): Promise<{ drive: Drive; output: string }> {
  const args = ["-b", ...(blend ? [blend] : []), "-noaudio", "--python-exit-code", "1", "--python", DRIVE, "--", JSON.stringify(options)];
  const { stdout, stderr } = await run("blender", args, { env: userEnv, maxBuffer: 16 * 1024 * 1024 });
  const line = stdout.split("\n").find((text) => text.startsWith("BRENDER_RESULT "));
  assert.ok(line, `drive_addon.py printed no result:\n${stdout}\n${stderr}`);
  return { drive: JSON.parse(line.slice("BRENDER_RESULT ".length)) as Drive, output: stdout + stderr };
}

/** Starts `brender serve` on a free port with its own BRENDER_HOME. */
async function serve(extra: string[] = []): Promise<Served> {
  const home = await mkdtemp(join(root, "home-"));
  const child = spawn(BIN, ["serve", "--port", "0", ...extra], { env: { ...process.env, BRENDER_HOME: home }, stdio: ["ignore", "pipe", "inherit"] });
  let stdout = "";
  const exited = once(child, "exit");
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`brender serve printed no URL: ${stdout}`)), 30_000);
    child.stdout.on("data", (chunk: Buffer) => {
      stdout += chunk.toString();
      if (/serving on http:\/\/\S+\n/.test(stdout)) {
        clearTimeout(timer);
        resolve();
      }
    });
  });
  const url = /serving on (http:\/\/\S+?)\/?\n/.exec(stdout)![1]!;
  return {
    url,
    home,
    stop: async () => {
      if (child.exitCode === null) {
        child.kill("SIGTERM");
        await exited;
      }
    },
  };
}

/** A port nothing listens on: bound, then released. */
async function closedPort(): Promise<number> {
  const server = createServer();
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const port = (server.address() as { port: number }).port;
  server.close();
  await once(server, "close");
  return port;
}

/** A project whose .blend (shots/shot.blend) uses a texture outside its folder (assets/green.png), stored as `//../assets/green.png`. */
async function project(name: string): Promise<{ blend: string; texture: string }> {
  const folder = join(root, name);
  await mkdir(join(folder, "assets"), { recursive: true });
  await mkdir(join(folder, "shots"), { recursive: true });
  const texture = join(folder, "assets", "green.png");
  await sharp({ create: { width: 8, height: 8, channels: 3, background: { r: 0, g: 255, b: 0 } } }).png().toFile(texture);
  const blend = await makeScene(join(folder, "shots", "shot.blend"), { frames: [1, 2], resolution: [32, 18], samples: 2, texture });
  return { blend, texture };
}

/** Polls the render's detail until it SUCCEEDED or FAILED (three minutes at most). */
function renderEnded<T extends { status: string }>(server: Served, renderId: string, what = "the render to end"): Promise<T> {
  return until(
    async () => (await (await fetch(`${server.url}/api/renders/${renderId}`)).json()) as T,
    (value) => value.status === "SUCCEEDED" || value.status === "FAILED",
    what,
    180_000,
    500,
  );
}

async function renders(server: Served, token?: string): Promise<unknown[]> {
  const response = await fetch(`${server.url}/api/renders`, token ? { headers: { authorization: `Bearer ${token}` } } : {});
  return (await response.json()) as unknown[];
}

/**
 * The Python tracebacks in Blender's output that pass through the add-on or
 * the test's driver. Blender's own add-ons may print theirs (Debian's 5.2
 * package lacks python3-cattrs, which its extensions add-on imports at
 * start); those are not the add-on's to answer for.
 */
function ourTracebacks(output: string): string[] {
  return output.split("Traceback (most recent call last):").slice(1).filter((block) => /brender_submit|drive_addon\.py/.test(block.split(/\n(?=\S)/)[0] ?? block));
}

async function blobCount(home: string): Promise<number> {
  const folders = await readdir(join(home, "blobs")).catch(() => [] as string[]);
  let count = 0;
  for (const folder of folders) count += (await readdir(join(home, "blobs", folder))).length;
  return count;
}

async function leftMapFolders(): Promise<string[]> {
  return (await readdir(join(root, "tmp"))).filter((name) => name.startsWith("brender-map-"));
}

describe("the Blender add-on (headless Blender; 3.4 unless BLENDER_EXECUTABLE and PATH say otherwise)", () => {
  before(async () => {
    root = await mkdtemp(join(tmpdir(), "brender-addon-"));
    const result = await brender(["addon", "--out", join(root, "dist")]);
    assert.equal(result.code, 0, result.stderr);
    zipFile = result.stdout.split("\n")[0]!;
    // Blender's own TMPDIR, so a test can see what the add-on leaves behind in it.
    await mkdir(join(root, "tmp"));
    userEnv = { ...process.env, BLENDER_USER_SCRIPTS: join(root, "scripts"), BLENDER_USER_CONFIG: join(root, "config"), TMPDIR: join(root, "tmp") };
    const { stdout } = await run("blender", ["-b", "-noaudio", "--python-exit-code", "1", "--python", INSTALL, "--", zipFile], { env: userEnv });
    assert.match(stdout, /\{"installed": true\}/);
  });
  after(() => rm(root, { recursive: true, force: true }));

  it("`brender addon --out DIR` writes brender_submit-VERSION.zip: the package folder with bl_info and blender_manifest.toml, one version everywhere", async () => {
    const version = (JSON.parse(await readFile(join(REPO, "package.json"), "utf8")) as { version: string }).version;
    assert.equal(zipFile, join(root, "dist", `brender_submit-${version}.zip`));
    const names = (await zipEntryNames(zipFile)).sort();
    assert.ok(names.every((name) => name.startsWith("brender_submit/")), names.join(", "));
    for (const file of ["__init__.py", "api.py", "blender_manifest.toml", "ops.py", "ui.py", "brender_deps.py"]) assert.ok(names.includes(`brender_submit/${file}`), file);
    const init = await readFile(join(REPO, "src", "addon", "brender_submit", "__init__.py"), "utf8");
    assert.match(init, new RegExp(`"version": \\(${version.split(".").join(", ")}\\)`));
    const manifest = await readFile(join(REPO, "src", "addon", "brender_submit", "blender_manifest.toml"), "utf8");
    assert.match(manifest, new RegExp(`^version = "${version}"$`, "m"));
    assert.match(manifest, /^blender_version_min = "4\.2\.0"$/m);
    assert.match(manifest, /^type = "add-on"$/m);
    // Blender's extension checker: taglines and permission reasons at most 64 characters, no closing punctuation.
    for (const [, terse] of manifest.matchAll(/^(?:tagline|network|files) = "([^"]*)"$/gm)) {
      assert.ok(terse!.length <= 64 && !/[.!?]$/.test(terse!), terse);
    }
  });

  it("refuses --out naming a file with exit code 2", async () => {
    const file = join(root, "a-file");
    await writeFile(file, "keep me");
    const result = await brender(["addon", "--out", file]);
    assert.equal(result.code, 2);
    assert.match(result.stderr, /--out .* is a file, not a folder/);
    assert.equal(await readFile(file, "utf8"), "keep me");
  });

  it("submits a project whose texture lives outside the .blend's folder; the render SUCCEEDS with Blender's own pixels; the panel draws it", async () => {
    const server = await serve();
    try {
      const { blend } = await project("outside");
      const { drive: submitted, output } = await drive(blend, { server: server.url, action: "submit" });
      assert.deepEqual(submitted.result, ["FINISHED"], output);
      assert.match(submitted.renderId, /^r-/);
      assert.deepEqual(ourTracebacks(output), []);
      const line = submitted.panel.find((entry) => entry.label?.startsWith("Uploads "));
      assert.match(line?.label ?? "", /^Uploads shot\.blend and 1 file \(1 outside its folder\), /);
      assert.ok(submitted.panel.some((entry) => entry.operator === "brender.submit_render"));
      assert.ok(submitted.panel.some((entry) => entry.label === `Render ${submitted.renderId}`));
      assert.ok(submitted.panel.some((entry) => entry.prop === "use_scene_frames" && entry.text === "Scene Range (1-2)"));

      type Detail = { status: string; reason?: string; progress: { framesDone: number }; outputs: Array<{ name: string; url: string }> };
      const detail = await renderEnded<Detail>(server, submitted.renderId);
      assert.equal(detail.status, "SUCCEEDED", detail.reason);
      assert.equal(detail.progress.framesDone, 2);
      const direct = join(root, "outside", "direct");
      await run("blender", ["-b", blend, "-o", join(direct, "frame_####"), "-a"]);
      for (const frame of [1, 2]) {
        const output = detail.outputs.find((entry) => entry.name === `frames/frame_000${frame}.png`)!;
        const file = join(root, "outside", `farm_${frame}.png`);
        await writeFile(file, Buffer.from(await (await fetch(`${server.url}${output.url}`)).arrayBuffer()));
        const ours = await pixels(file);
        const theirs = await pixels(join(direct, `frame_000${frame}.png`));
        assert.ok(ours.data.equals(theirs.data), `frame ${frame} differs from Blender's own render`);
      }
      // The green texture came along: Blender's pink "missing" colour would not be mostly green.
      await assertGreenTexture(join(root, "outside", "farm_1.png"));

      // Load Frame: the scene's current frame (1), downloaded from the server into an image.
      const loaded = await drive(blend, { server: server.url, action: "load", scene: { last_render_id: submitted.renderId } });
      assert.deepEqual(loaded.drive.result, ["FINISHED"], loaded.output);
      assert.equal(loaded.drive.images.length, 1);
      assert.deepEqual(loaded.drive.images[0]!.size, [32, 18]);
      assert.ok((await pixels(loaded.drive.images[0]!.filepath)).data.equals((await pixels(join(direct, "frame_0001.png"))).data));
      assert.match(loaded.output, new RegExp(`Loaded frame 1 of ${submitted.renderId} as image "frame_0001\\.png"; open an Image Editor to see it`));

      // Submitted again with other settings, in a new Blender session: a new render, and the texture is not sent
      // again. A session's first submit trusts Blender's is_dirty: 4.3 reports a file it wrote itself as unsaved,
      // so there the add-on saves the .blend first (a new upload holding the new .blend); 3.4 and 5.2 reuse the
      // upload whole. The panel's own settings never count as an edit (see saving.py).
      const blobsBefore = await blobCount(server.home);
      const again = await drive(blend, { server: server.url, action: "submit", scene: { use_scene_frames: false, frames: "2", percentage: 50 } });
      assert.deepEqual(again.drive.result, ["FINISHED"], again.output);
      assert.notEqual(again.drive.renderId, submitted.renderId);
      const uploads = (await readdir(join(server.home, "uploads"))).length;
      assert.equal(await blobCount(server.home) - blobsBefore, uploads - 1, "at most the re-saved .blend is sent again");
      assert.ok(uploads <= 2, `${uploads} uploads`);
      const second = await renderEnded<Detail>(server, again.drive.renderId, "the second render to end");
      assert.equal(second.status, "SUCCEEDED", second.reason);
      assert.deepEqual(second.outputs.filter((entry) => entry.name.startsWith("frames/")).map((entry) => entry.name), ["frames/frame_0002.png"]);
      const half = await sharp(Buffer.from(await (await fetch(`${server.url}${second.outputs.find((entry) => entry.name === "frames/frame_0002.png")!.url}`)).arrayBuffer())).metadata();
      assert.deepEqual([half.width, half.height], [16, 9]);
      assert.deepEqual(await leftMapFolders(), [], "each submit removes its temporary path-map folder");
    } finally {
      await server.stop();
    }
  });

  it("Estimate, then Submit in the same session: the server's estimate is shown in the panel, the upload is reused and the estimate is kept with the render", async () => {
    const server = await serve();
    try {
      const { blend } = await project("estimate");
      const { drive: done, output } = await drive(blend, { server: server.url, action: "estimate+submit" });
      assert.deepEqual(done.result, ["FINISHED"], output);
      assert.deepEqual(ourTracebacks(output), []);
      assert.match(output, /Info: Estimate: about \d+ (s|min)\b.*CPU-hours/);
      assert.ok(done.panel.some((entry) => entry.operator === "brender.estimate_render"));
      assert.ok(done.panel.some((entry) => entry.label?.startsWith("Estimate: about ")), "the estimate stays in the panel after the submit");
      assert.equal((await readdir(join(server.home, "uploads"))).length, 1, "the submit reused the estimate's upload");
      type Detail = { status: string; cost?: { estimate?: { target: string; seconds: { expected: number } } } };
      const detail = (await (await fetch(`${server.url}/api/renders/${done.renderId}`)).json()) as Detail;
      assert.equal(detail.cost?.estimate?.target, "local");
      assert.ok(detail.cost!.estimate!.seconds.expected > 0);
    } finally {
      await server.stop();
    }
  });

  it("Estimate, then an edit to the scene, then Submit in the same session: the edited scene is saved, sent and rendered; the estimate made for the old file is left out", async () => {
    const server = await serve();
    try {
      const { blend } = await project("edited");
      const edit = { "render.resolution_x": 16, "render.resolution_y": 9 };
      const { drive: done, output } = await drive(blend, { server: server.url, action: "estimate+edit+submit", edit });
      assert.deepEqual(done.result, ["FINISHED"], output);
      assert.deepEqual(ourTracebacks(output), []);
      assert.match(output, /Info: Estimate: about /);
      assert.equal((await readdir(join(server.home, "uploads"))).length, 2, "the submit sent the edited .blend, not the estimate's upload");
      const { stdout: stored } = await run("blender", ["-b", blend, "-noaudio", "--python-expr", "import bpy\nprint('STORED', bpy.context.scene.render.resolution_x, bpy.context.scene.render.resolution_y)"]);
      assert.match(stored, /STORED 16 9/, "the edit is saved in the artist's .blend");
      type Detail = { status: string; reason?: string; cost?: { estimate?: unknown }; outputs: Array<{ name: string; url: string }> };
      const detail = await renderEnded<Detail>(server, done.renderId);
      assert.equal(detail.status, "SUCCEEDED", detail.reason);
      assert.equal(detail.cost?.estimate, undefined, "an estimate for the file before the edit is not kept with this render");
      const frame = detail.outputs.find((entry) => entry.name === "frames/frame_0001.png")!;
      const { width, height } = await sharp(Buffer.from(await (await fetch(`${server.url}${frame.url}`)).arrayBuffer())).metadata();
      assert.deepEqual([width, height], [16, 9], "the farm rendered the edited scene");
    } finally {
      await server.stop();
    }
  });

  it("a texture at an ABSOLUTE path outside the .blend's folder travels as packing lays it out (_external/ and the farm's map): moved away after upload, the render from that upload still has Blender's own pixels", async () => {
    const server = await serve();
    try {
      const { blend, texture } = await project("absolute");
      // Stored absolute, as "Make Paths Absolute" leaves it: only the farm's remap can find the uploaded copy.
      const absolutize = "import bpy, os\nfor i in bpy.data.images:\n    i.filepath = os.path.normpath(bpy.path.abspath(i.filepath)) if i.filepath else i.filepath\nbpy.ops.wm.save_mainfile(relative_remap=False)";
      await run("blender", ["-b", blend, "-noaudio", "--python-exit-code", "1", "--python-expr", absolutize]);
      const { stdout: stored } = await run("blender", ["-b", blend, "-noaudio", "--python-expr", "import bpy\nprint('STORED', [i.filepath for i in bpy.data.images if i.filepath])"]);
      assert.match(stored, new RegExp(`STORED \\['${texture}'\\]`));
      const direct = join(root, "absolute", "direct");
      await run("blender", ["-b", blend, "-o", join(direct, "frame_####"), "-a"]);

      const { drive: submitted, output } = await drive(blend, { server: server.url, action: "submit" });
      assert.deepEqual(submitted.result, ["FINISHED"], output);
      assert.ok(submitted.panel.some((entry) => entry.label === "1 absolute path: uploaded and remapped on the farm"), JSON.stringify(submitted.panel));
      assert.match(submitted.panel.find((entry) => entry.label?.startsWith("Uploads "))?.label ?? "", /^Uploads shot\.blend and 1 file \(1 outside its folder\), /);
      const [uploadId] = await readdir(join(server.home, "uploads"));
      const map = JSON.parse(await readFile(join(server.home, "uploads", uploadId!, "project", "shots", "_brender-dependencies.json"), "utf8").catch(async () => {
        throw new Error(`no map in the upload: ${(await readdir(join(server.home, "uploads", uploadId!), { recursive: true })).join(", ")}`);
      })) as { entries: Array<{ path: string; target: string }> };
      assert.deepEqual(map.entries.map((entry) => [entry.path, entry.target]), [[texture, `_external${texture}`]]);

      // The artist's texture goes away; a render from the same upload starts only now.
      await rename(texture, join(root, "absolute", "moved-away.png"));
      const response = await fetch(`${server.url}/api/renders`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ uploadId, settings: { blend: "shot.blend", frames: "1-2" } }) });
      assert.equal(response.status, 202, await response.clone().text());
      const { renderId, warnings } = (await response.json()) as { renderId: string; warnings?: string[] };
      assert.deepEqual(warnings ?? [], [], "the map covers the texture: nothing is outside the upload");
      type Detail = { status: string; reason?: string; outputs: Array<{ name: string; url: string }> };
      const detail = await renderEnded<Detail>(server, renderId);
      assert.equal(detail.status, "SUCCEEDED", detail.reason);
      for (const frame of [1, 2]) {
        const output = detail.outputs.find((entry) => entry.name === `frames/frame_000${frame}.png`)!;
        const file = join(root, "absolute", `farm_${frame}.png`);
        await writeFile(file, Buffer.from(await (await fetch(`${server.url}${output.url}`)).arrayBuffer()));
        assert.ok((await pixels(file)).data.equals((await pixels(join(direct, `frame_000${frame}.png`))).data), `frame ${frame} differs from Blender's own render`);
      }
    } finally {
      await server.stop();
    }
  });

  it("an unreachable server: a worded message in the report and the panel, no traceback, nothing submitted", async () => {
    const { blend } = await project("unreachable");
    const port = await closedPort();
    const { drive: result, output } = await drive(blend, { server: `http://127.0.0.1:${port}`, action: "submit" });
    assert.deepEqual(result.result, ["CANCELLED"]);
    const expected = `No Brender server is running at http://127.0.0.1:${port}: start one with \`brender serve\` on that machine, or fix the server URL in Edit > Preferences > Add-ons > Brender.`;
    assert.deepEqual(result.message, [expected, true]);
    assert.ok(output.includes(`Error: ${expected}`), output);
    assert.ok(result.panel.some((entry) => entry.label === expected && entry.alert), "the panel shows it");
    assert.equal(result.renderId, "");
    assert.deepEqual(ourTracebacks(output), []);
    const { drive: tested, output: testOutput } = await drive(blend, { server: `127.0.0.1:${port}`, action: "test" });
    assert.deepEqual(tested.connection, [expected, true]);
    assert.deepEqual(ourTracebacks(testOutput), []);
  });

  it("a server with a token: no token and a wrong one are worded, nothing is submitted; the right one connects", async () => {
    const server = await serve(["--token", "right-token"]);
    try {
      const { blend } = await project("token");
      const wrong = await drive(blend, { server: server.url, token: "wrong-token", action: "submit" });
      assert.deepEqual(wrong.drive.message, [`The server at ${server.url} refused the token: copy the one \`brender serve\` printed into Edit > Preferences > Add-ons > Brender.`, true]);
      assert.deepEqual(ourTracebacks(wrong.output), []);
      assert.doesNotMatch(wrong.output, /wrong-token/);
      const none = await drive(blend, { server: server.url, action: "test" });
      assert.deepEqual(none.drive.connection, [`The server at ${server.url} needs a token: paste the one \`brender serve\` printed into Edit > Preferences > Add-ons > Brender.`, true]);
      assert.deepEqual(await renders(server, "right-token"), []);
      const right = await drive(blend, { server: server.url, token: "right-token", action: "test" });
      assert.match(right.drive.connection[0], new RegExp(`^Connected to ${server.url}: this machine's farm \\(\\d+ cores\\)$`));
      assert.doesNotMatch(right.output, /right-token/);
    } finally {
      await server.stop();
    }
  });

  it("a missing texture, a farm the server does not know and an unsaved file are refused before anything is uploaded", async () => {
    const server = await serve();
    try {
      const { blend, texture } = await project("missing");
      await unlink(texture);
      const missing = await drive(blend, { server: server.url, action: "submit" });
      assert.deepEqual(missing.drive.message, [`1 file the .blend uses is missing: ${texture}. Find them (File > External Data > Find Missing Files), then submit again.`, true]);
      assert.ok(missing.drive.panel.some((entry) => entry.label === "1 missing file: green.png" && entry.alert));

      const { blend: other } = await project("farm-gone");
      const gone = await drive(other, { server: server.url, action: "submit", scene: { farm: "gone-farm" } });
      assert.deepEqual(gone.drive.message, ['The server no longer knows the farm "gone-farm" (removed?): pick another farm in the Brender panel (Refresh lists them).', true]);

      const unsaved = await drive(undefined, { server: server.url, action: "submit" });
      assert.deepEqual(unsaved.drive.message, ["Save the .blend first (File > Save As): the farm renders the saved file.", true]);

      const badFrames = await drive(other, { server: server.url, action: "submit", scene: { use_scene_frames: false, frames: "1-x" } });
      assert.deepEqual(badFrames.drive.message, ['Frames: "1-x" is not a frame or range; write frames like "1-250", "1-250:5" or "1-10,15".', true]);

      for (const { output } of [missing, gone, unsaved, badFrames]) assert.deepEqual(ourTracebacks(output), []);
      assert.deepEqual(await renders(server), []);
      const uploads = await fetch(`${server.url}/api/renders`);
      assert.equal(uploads.status, 200);
    } finally {
      await server.stop();
    }
  });

  it("with a window (Xvfb): the panel's Submit runs in a thread, its timer follows the render to the end and the panel is drawn", { skip: hasXvfb ? false : "xvfb-run is not installed" }, async () => {
    const server = await serve();
    try {
      const { blend } = await project("window");
      const png = join(root, "window", "panel.png");
      const { stdout } = await run("xvfb-run", ["-a", "-s", "-screen 0 1000x900x24", "blender", blend, "-noaudio", "--python", SCREENSHOT, "--", server.url, png], { env: userEnv, timeout: 240_000 });
      const line = stdout.split("\n").find((text) => text.startsWith("BRENDER_SCREENSHOT "));
      assert.ok(line, stdout);
      const shown = JSON.parse(line.slice("BRENDER_SCREENSHOT ".length)) as { renderId: string; status: string; headline: string };
      assert.equal(shown.status, "SUCCEEDED");
      assert.equal(shown.headline, "Done: 2/2 frames");
      assert.equal(((await (await fetch(`${server.url}/api/renders/${shown.renderId}`)).json()) as { status: string }).status, "SUCCEEDED");
      const { width, height } = await sharp(png).metadata();
      assert.ok(width! >= 800 && height! >= 600, `a screenshot of the Properties editor, not ${width}x${height}`);
      assert.deepEqual(await leftMapFolders(), [], "the threaded submit removes its temporary path-map folder");
    } finally {
      await server.stop();
    }
  });
});
