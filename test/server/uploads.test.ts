import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdir, readdir, readFile, utimes, writeFile } from "node:fs/promises";
import { join } from "node:path";
import fc from "fast-check";
import sharp from "sharp";
import { buildApp } from "../../src/server/app.ts";
import { ApiError } from "../../src/server/http-errors.ts";
import { folderPathSegments, isStaleUpload, removeStaleUploads, UPLOAD_MAX_AGE_MS, uploadLimitsOf } from "../../src/server/uploads.ts";
import { buildZip } from "../helpers/archives.ts";
import { makeScene, tempDir } from "../helpers/blender.ts";
import { renderForm, startTestServer, waitForEnd, type TestServer } from "./harness.ts";

type Upload = { uploadId: string; kind: string; name: string; blendFiles: string[] };
type Failure = { error: string; field?: string };

/** A multipart body of files, each part named by the given path (what a browser sends for a folder). */
function filesForm(files: readonly { path: string; content: Buffer | string }[]): FormData {
  const form = new FormData();
  for (const { path, content } of files) form.append("file", new Blob([content]), path);
  return form;
}

const postJson = (server: TestServer, path: string, body: unknown) =>
  server.api(path, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });

async function upload(server: TestServer, files: readonly { path: string; content: Buffer | string }[]): Promise<Response> {
  return server.api("/api/uploads", { method: "POST", body: filesForm(files) });
}

describe("POST /api/uploads: folders, zips and .blend files", () => {
  it("renders an uploaded folder whose texture sits in a sibling folder: inspect by uploadId+blend, submit, SUCCEEDED with the texture and frame times", async (t) => {
    const server = await startTestServer(t);
    const project = await tempDir(t);
    await mkdir(join(project, "textures"));
    await mkdir(join(project, "shots"));
    await sharp({ create: { width: 8, height: 8, channels: 3, background: { r: 0, g: 255, b: 0 } } }).png().toFile(join(project, "textures", "green.png"));
    await makeScene(join(project, "shots", "shot.blend"), { frames: [1, 2], resolution: [16, 16], samples: 1, texture: join(project, "textures", "green.png") });
    const blend = await readFile(join(project, "shots", "shot.blend"));
    const sent = await upload(server, [
      { path: "spring/shots/shot.blend", content: blend },
      { path: "spring/shots/alt.blend", content: blend },
      { path: "spring/textures/green.png", content: await readFile(join(project, "textures", "green.png")) },
    ]);
    assert.equal(sent.status, 201, await sent.clone().text());
    const uploaded = (await sent.json()) as Upload;
    assert.deepEqual({ ...uploaded, uploadId: "" }, { uploadId: "", kind: "folder", name: "spring", blendFiles: ["shots/alt.blend", "shots/shot.blend"] });

    const unnamed = await postJson(server, "/api/inspect", { uploadId: uploaded.uploadId });
    assert.equal(unnamed.status, 400);
    assert.deepEqual(await unnamed.json(), { error: 'blend is required: say which .blend in spring to render (it holds "shots/alt.blend", "shots/shot.blend").', field: "blend" });
    const inspected = await postJson(server, "/api/inspect", { uploadId: uploaded.uploadId, blend: "shots/shot.blend" });
    assert.equal(inspected.status, 200, await inspected.clone().text());
    const inspection = (await inspected.json()) as { uploadId: string; scenes: { name: string; frameStart: number; frameEnd: number }[] };
    assert.equal(inspection.uploadId, uploaded.uploadId);
    assert.deepEqual(inspection.scenes.map((s) => [s.name, s.frameStart, s.frameEnd]), [["Demo", 1, 2]]);

    const noBlend = await postJson(server, "/api/renders", { uploadId: uploaded.uploadId, settings: {} });
    assert.equal(noBlend.status, 400);
    assert.equal(((await noBlend.json()) as Failure).field, "settings.blend");
    const submit = await postJson(server, "/api/renders", { uploadId: uploaded.uploadId, settings: { blend: "shots/shot.blend", frames: "1-2" } });
    assert.equal(submit.status, 202, await submit.clone().text());
    const { renderId } = (await submit.json()) as { renderId: string };
    const record = JSON.parse(await readFile(join(server.home, "uploads", uploaded.uploadId, "upload.json"), "utf8")) as { renderIds: string[] };
    assert.deepEqual(record.renderIds, [renderId], "the upload knows a render came from it");

    const detail = (await waitForEnd(server, renderId)) as {
      status: string;
      reason?: string;
      project: string;
      progress: { frameTimes: { frame: number; seconds: number; child?: number }[] };
      manifest: { frameTimes?: { frame: number; seconds: number }[] };
    };
    assert.equal(detail.status, "SUCCEEDED", detail.reason);
    assert.equal(detail.project, "spring");
    const frame = Buffer.from(await (await server.api(`/api/renders/${renderId}/outputs/frames/frame_0001.png`)).arrayBuffer());
    const { data, info } = await sharp(frame).raw().toBuffer({ resolveWithObject: true });
    // The bottom-middle pixel is floor: green, not the magenta Blender paints for a missing texture.
    const pixel = (16 * 15 + 8) * info.channels;
    assert.ok(data[pixel + 1]! > data[pixel]! && data[pixel + 1]! > data[pixel + 2]!, `floor pixel ${[...data.subarray(pixel, pixel + 3)]}`);
    const stats = await sharp(frame).stats();
    const [r, g, b] = stats.channels.map((channel) => channel.mean) as [number, number, number];
    assert.ok(g > r * 1.5 && g > b * 1.5, `the green floor texture was found (mean rgb ${r.toFixed(0)},${g.toFixed(0)},${b.toFixed(0)}; missing textures render pink)`);

    // The work folder is gone once uploaded: frame times come from the manifest.
    assert.deepEqual(detail.progress.frameTimes.map((time) => time.frame), [1, 2]);
    assert.ok(detail.progress.frameTimes.every((time) => time.seconds > 0 && time.child === undefined), JSON.stringify(detail.progress.frameTimes));
    assert.deepEqual(detail.manifest.frameTimes, detail.progress.frameTimes);
    assert.deepEqual(await readdir(join(server.home, "work")).catch(() => []), [], "the work folder was cleaned");
  });

  it("refuses traversal and odd paths, too many files and too many bytes with 400 naming them, keeping nothing", async (t) => {
    // The folder limits are the archive limits: a folder upload is a project unpacked.
    process.env.BRENDER_MAX_UNPACK_ENTRIES = "3";
    process.env.BRENDER_MAX_UNPACK_BYTES = "1000";
    let server: TestServer;
    try {
      server = await startTestServer(t, { runFarm: false });
    } finally {
      delete process.env.BRENDER_MAX_UNPACK_ENTRIES;
      delete process.env.BRENDER_MAX_UNPACK_BYTES;
    }
    const good = { path: "shot/scene.blend", content: "BLENDER" };
    for (const bad of ["../evil.txt", "shot/../../evil.txt", "/tmp/evil.txt", "C:/evil.txt", "c:evil.txt", "shot\\..\\evil.txt", "shot//evil.txt", "./evil.txt", "shot/./evil.txt", "shot/...", "shot/.. /x", "shot/", "shot/\u0001x"]) {
      const response = await upload(server, [good, { path: bad, content: "gotcha" }]);
      const body = (await response.json()) as Failure;
      assert.equal(response.status, 400, `${JSON.stringify(bad)}: ${JSON.stringify(body)}`);
      assert.equal(body.field, "file");
      assert.ok(body.error.startsWith(`file ${JSON.stringify(bad)} `), body.error);
    }
    const twice = await upload(server, [good, good]);
    assert.equal(twice.status, 400);
    assert.match(((await twice.json()) as Failure).error, /sent twice/);
    const many = await upload(server, [good, ...[1, 2, 3].map((n) => ({ path: `shot/tex/${n}.png`, content: "x" }))]);
    assert.equal(many.status, 400);
    assert.match(((await many.json()) as Failure).error, /more than 3 files.*BRENDER_MAX_UNPACK_ENTRIES/);
    const big = await upload(server, [good, { path: "shot/tex/big.png", content: Buffer.alloc(2000) }]);
    assert.equal(big.status, 400);
    assert.match(((await big.json()) as Failure).error, /larger than 1000 bytes/);
    const noBlend = await upload(server, [{ path: "shot/readme.txt", content: "hi" }]);
    assert.equal(noBlend.status, 400);
    assert.match(((await noBlend.json()) as Failure).error, /holds no \.blend/);
    const loose = await upload(server, [{ path: "notes.txt", content: "hi" }]);
    assert.deepEqual(await loose.json(), { error: 'file "notes.txt" is not a .blend or .zip; upload a .blend, a .zip, or a project folder.', field: "file" });
    const otherField = new FormData();
    otherField.append("settings", "{}");
    assert.equal((await server.api("/api/uploads", { method: "POST", body: otherField })).status, 400);
    assert.equal((await postJson(server, "/api/uploads", {})).status, 415);

    assert.deepEqual(await readdir(join(server.home, "uploads")), [], "refused uploads leave nothing");
    assert.equal((await readdir(server.home)).includes("evil.txt"), false);
    assert.equal((await readdir("/tmp")).includes("evil.txt"), false);
  });

  it("lists the .blend files of a zip and of loose files, takes a single .blend, and asks for settings.blend when there are several", async (t) => {
    const server = await startTestServer(t, { runFarm: false });
    const zip = buildZip([
      { path: "proj/a/one.blend", content: "x" },
      { path: "proj/b/two.blend", content: "x" },
      { path: "proj/b/two.blend1", content: "backup" },
      { path: "proj/tex/wood.png", content: "x" },
    ]);
    const zipped = await upload(server, [{ path: "Proj.ZIP", content: zip }]);
    assert.equal(zipped.status, 201, await zipped.clone().text());
    const zipUpload = (await zipped.json()) as Upload;
    assert.deepEqual({ ...zipUpload, uploadId: "" }, { uploadId: "", kind: "zip", name: "Proj.ZIP", blendFiles: ["proj/a/one.blend", "proj/b/two.blend"] });
    assert.deepEqual((await readdir(join(server.home, "uploads", zipUpload.uploadId))).sort(), ["Proj.zip", "project", "upload.json"]);
    const several = await postJson(server, "/api/renders", { uploadId: zipUpload.uploadId, settings: { frames: "1" } });
    assert.equal(several.status, 400);
    assert.deepEqual(await several.json(), {
      error: 'settings.blend is required: say which .blend in Proj.ZIP to render (it holds "proj/a/one.blend", "proj/b/two.blend").',
      field: "settings.blend",
    });
    const wrong = await postJson(server, "/api/inspect", { uploadId: zipUpload.uploadId, blend: "proj/c.blend" });
    assert.deepEqual(await wrong.json(), { error: 'blend "proj/c.blend" is not a .blend in Proj.ZIP; it holds "proj/a/one.blend", "proj/b/two.blend".', field: "blend" });

    const hostile = await upload(server, [{ path: "evil.zip", content: buildZip([{ path: "a.blend", content: "x" }, { path: "../../escaped.txt", content: "gotcha" }]) }]);
    assert.equal(hostile.status, 400);
    assert.match(((await hostile.json()) as Failure).error, /escaped\.txt/);

    const loose = await upload(server, [{ path: "shot.blend", content: "x" }, { path: "tex/wood.png", content: "x" }]);
    assert.equal(loose.status, 201);
    assert.deepEqual({ ...((await loose.json()) as Upload), uploadId: "" }, { uploadId: "", kind: "folder", name: "shot", blendFiles: ["shot.blend"] });

    const blendPath = await makeScene(join(server.home, "shot.blend"), { frames: [2, 5], resolution: [16, 16], samples: 1 });
    const single = await upload(server, [{ path: "My Shot.blend", content: await readFile(blendPath) }]);
    assert.equal(single.status, 201);
    const singleUpload = (await single.json()) as Upload;
    assert.deepEqual({ ...singleUpload, uploadId: "" }, { uploadId: "", kind: "blend", name: "My Shot.blend", blendFiles: ["My Shot.blend"] });
    const inspected = await postJson(server, "/api/inspect", { uploadId: singleUpload.uploadId });
    assert.equal(inspected.status, 200, await inspected.clone().text());
    const inspection = (await inspected.json()) as { uploadId: string; scenes: { frameStart: number; frameEnd: number }[] };
    assert.deepEqual([inspection.uploadId, inspection.scenes[0]!.frameStart, inspection.scenes[0]!.frameEnd], [singleUpload.uploadId, 2, 5]);
    const blendGiven = await postJson(server, "/api/inspect", { uploadId: singleUpload.uploadId, blend: "My Shot.blend" });
    assert.equal(((await blendGiven.json()) as Failure).field, "blend");
    const unknown = await postJson(server, "/api/inspect", { uploadId: "u-0000000000000000" });
    assert.equal(unknown.status, 400);
    assert.equal(((await unknown.json()) as Failure).field, "uploadId");
    const badId = await postJson(server, "/api/inspect", { uploadId: "../x" });
    assert.equal(((await badId.json()) as Failure).field, "uploadId");
    // The multipart inspection still works as before.
    assert.equal((await server.api("/api/inspect", { method: "POST", body: await renderForm(blendPath, "again.blend") })).status, 200);
  });

  it("refuses, by default, a zip that would unpack past 8 GiB, by POST /api/uploads and POST /api/renders alike, keeping nothing; BRENDER_MAX_UNPACK_BYTES moves the limit", async (t) => {
    const GiB = 1024 ** 3;
    // Three entries claiming 3 GiB each: 9 GiB declared, a few bytes sent (a zip bomb's listing).
    const declaring = (gib: number) =>
      buildZip([{ path: "shot/scene.blend", content: "BLENDER" }, ...[1, 2, 3].map((n) => ({ path: `shot/cache/${n}.bin`, content: "x", declaredSize: (gib / 3) * GiB }))]);
    const zipForm = (zip: Buffer, settings?: unknown) => {
      const form = new FormData();
      if (settings !== undefined) form.append("settings", JSON.stringify(settings));
      form.append("file", new Blob([zip]), "bomb.zip");
      return form;
    };
    const server = await startTestServer(t, { runFarm: false });
    const uploaded = await server.api("/api/uploads", { method: "POST", body: zipForm(declaring(9)) });
    assert.equal(uploaded.status, 400);
    const refusal = ((await uploaded.json()) as Failure).error;
    assert.match(refusal, /past the limit of 8589934592 bytes.*BRENDER_MAX_UNPACK_BYTES/, refusal);
    const submitted = await server.api("/api/renders", { method: "POST", body: zipForm(declaring(9), {}) });
    assert.equal(submitted.status, 400);
    assert.match(((await submitted.json()) as Failure).error, /past the limit of 8589934592 bytes/);
    const under = await server.api("/api/uploads", { method: "POST", body: zipForm(declaring(6)) });
    assert.equal(under.status, 400, "6 GiB is within the limit (refused only for its lying sizes)");
    assert.doesNotMatch(((await under.json()) as Failure).error, /limit/);
    assert.deepEqual(await readdir(join(server.home, "uploads")), [], "refused uploads leave nothing");

    const raised = await startTestServer(t, { runFarm: false, env: { BRENDER_MAX_UNPACK_BYTES: String(16 * GiB) } });
    const bigger = await raised.api("/api/uploads", { method: "POST", body: zipForm(declaring(9)) });
    assert.equal(bigger.status, 400, "past the raised limit check, the lying sizes are still refused");
    assert.doesNotMatch(((await bigger.json()) as Failure).error, /limit/);
  });

  it("holds a single .blend or .zip sent to POST /api/inspect or POST /api/renders to the same byte limit", async (t) => {
    const server = await startTestServer(t, { runFarm: false, env: { BRENDER_MAX_UNPACK_BYTES: "1000" } });
    const blend = (size: number) => {
      const form = new FormData();
      form.append("file", new Blob([Buffer.alloc(size, 1)]), "big.blend");
      return form;
    };
    for (const route of ["/api/inspect", "/api/renders"]) {
      const response = await server.api(route, { method: "POST", body: blend(5000) });
      assert.equal(response.status, 400, route);
      assert.deepEqual(await response.json(), { error: "file: the upload is larger than 1000 bytes; send less, or raise the limit with BRENDER_MAX_UNPACK_BYTES.", field: "file" }, route);
    }
    assert.deepEqual(await readdir(join(server.home, "uploads")), [], "nothing kept");
  });

  it("cleans up when the server starts: an old unused upload goes, a used or fresh one stays", async (t) => {
    const server = await startTestServer(t, { runFarm: false });
    const blend = await readFile(await makeScene(join(server.home, "shot.blend"), { frames: [1, 1], resolution: [16, 16], samples: 1 }));
    const ids: string[] = [];
    for (let n = 0; n < 3; n++) ids.push(((await (await upload(server, [{ path: "shot.blend", content: blend }])).json()) as Upload).uploadId);
    const [used, old, fresh] = ids as [string, string, string];
    assert.equal((await postJson(server, "/api/renders", { uploadId: used, settings: {} })).status, 202);
    const dayAndHourAgo = new Date(Date.now() - UPLOAD_MAX_AGE_MS - 3600_000).toISOString();
    for (const id of [used, old]) {
      const file = join(server.home, "uploads", id, "upload.json");
      await writeFile(file, JSON.stringify({ ...JSON.parse(await readFile(file, "utf8")), createdAt: dayAndHourAgo }));
    }
    // A half-written upload (no upload.json) from long ago counts as unused.
    const crashed = join(server.home, "uploads", "u-00000000000000ff");
    await mkdir(join(crashed, "project"), { recursive: true });
    await utimes(crashed, new Date(dayAndHourAgo), new Date(dayAndHourAgo));
    await mkdir(join(server.home, "uploads", "not-an-upload"));

    const restarted = await buildApp({ env: { ...process.env, BRENDER_HOME: server.home, BRENDER_STORAGE: "" }, runFarm: false });
    try {
      await restarted.ready();
    } finally {
      await restarted.close();
    }
    assert.deepEqual((await readdir(join(server.home, "uploads"))).sort(), [used, fresh, "not-an-upload"].sort());
  });
});

describe("upload rules", () => {
  it("folder paths: relative paths of plain names pass unchanged, anything else is a 400 naming it", () => {
    assert.deepEqual(folderPathSegments("shot/tex/wood.png"), ["shot", "tex", "wood.png"]);
    const name = fc.stringMatching(/^[A-Za-z0-9_ é-][A-Za-z0-9_. é-]{0,15}$/).filter((segment) => !/^[. ]+$/.test(segment));
    fc.assert(fc.property(fc.array(name, { minLength: 1, maxLength: 5 }), (segments) => assert.deepEqual(folderPathSegments(segments.join("/")), segments)));
    // Whatever surrounds it, a ".." segment, a backslash or a leading "/" is refused.
    const around = fc.array(name, { maxLength: 3 });
    fc.assert(
      fc.property(around, fc.constantFrom("..", "...", ". .", "a\\b", ""), around, (before, bad, after) => {
        const path = [...before, bad, ...after].join("/");
        assert.throws(() => folderPathSegments(path), (error: unknown) => error instanceof ApiError && error.statusCode === 400 && error.message.includes(JSON.stringify(path)));
        assert.throws(() => folderPathSegments(`/${path}`), ApiError);
      }),
    );
  });

  it("upload limits: 8 GiB and a million files unless BRENDER_MAX_UNPACK_BYTES or _ENTRIES say otherwise", () => {
    assert.deepEqual(uploadLimitsOf({}), { maxTotalBytes: 8 * 1024 ** 3, maxEntries: 1_000_000 });
    assert.deepEqual(uploadLimitsOf({ BRENDER_MAX_UNPACK_BYTES: "1000", BRENDER_MAX_UNPACK_ENTRIES: "" }), { maxTotalBytes: 1000, maxEntries: 1_000_000 });
    assert.throws(() => uploadLimitsOf({ BRENDER_MAX_UNPACK_BYTES: "8G" }), /BRENDER_MAX_UNPACK_BYTES must be a positive whole number, got "8G"\. Set it to e\.g\. 8589934592/);
  });

  it("an upload is stale when no render came from it and it is older than a day", async (t) => {
    const now = Date.parse("2026-05-02T12:00:00Z");
    assert.equal(isStaleUpload({ createdAtMs: now - UPLOAD_MAX_AGE_MS - 1, renderIds: [] }, now), true);
    assert.equal(isStaleUpload({ createdAtMs: now - UPLOAD_MAX_AGE_MS + 1000, renderIds: [] }, now), false);
    assert.equal(isStaleUpload({ createdAtMs: now - 10 * UPLOAD_MAX_AGE_MS, renderIds: ["r-1"] }, now), false);
    const dir = await tempDir(t);
    await mkdir(join(dir, "u-0000000000000001"));
    await writeFile(join(dir, "u-0000000000000001", "upload.json"), JSON.stringify({ kind: "blend", name: "a.blend", file: "x", createdAt: "2026-05-01T11:00:00Z" }));
    await mkdir(join(dir, "u-0000000000000002"));
    await writeFile(join(dir, "u-0000000000000002", "upload.json"), JSON.stringify({ kind: "blend", name: "a.blend", file: "x", createdAt: "2026-05-01T13:00:00Z" }));
    assert.deepEqual(await removeStaleUploads(dir, now), ["u-0000000000000001"]);
    assert.deepEqual(await readdir(dir), ["u-0000000000000002"]);
    assert.deepEqual(await removeStaleUploads(join(dir, "missing"), now), []);
  });
});
