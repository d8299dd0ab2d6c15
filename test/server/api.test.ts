import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { readdir } from "node:fs/promises";
import { join } from "node:path";
import fc from "fast-check";
import { makeScene } from "../helpers/blender.ts";
import { isLoopback, presentedToken, tokenFor } from "../../src/server/auth.ts";
import { apiFieldNames } from "../../src/server/http-errors.ts";
import { contentTypeOf, outputSegments } from "../../src/server/routes/jobs.ts";
import { formatServerEvent } from "../../src/server/sse.ts";
import { buildZip } from "../helpers/archives.ts";
import { renderForm, startTestServer } from "./harness.ts";

describe("HTTP API without rendering", () => {
  it("inspects an uploaded .blend: scenes, frame range, and an uploadId kept for a later submission", async (t) => {
    const server = await startTestServer(t, { runFarm: false });
    const blend = await makeScene(join(server.home, "shot.blend"), { frames: [3, 7], resolution: [16, 16], samples: 1, extra_scene: "Small" });
    const response = await server.api("/api/inspect", { method: "POST", body: await renderForm(blend, "shot.blend") });
    assert.equal(response.status, 200);
    const inspection = (await response.json()) as {
      uploadId: string; activeScene: string; blenderVersion: string; scenes: { name: string; frameStart: number; frameEnd: number }[];
      renderBlender: { path: string; version: string; warning?: string };
    };
    assert.match(inspection.uploadId, /^u-[0-9a-f]{16}$/);
    // Which Blender will render it here: the one that read it, its version, no warning (the file's own release).
    assert.equal(inspection.renderBlender.version, inspection.blenderVersion.split(" ")[0]);
    assert.match(inspection.renderBlender.path, /blender$/);
    assert.equal(inspection.renderBlender.warning, undefined);
    assert.deepEqual(inspection.scenes.map((scene) => scene.name).sort(), ["Demo", "Small"]);
    const scene = inspection.scenes.find((candidate) => candidate.name === inspection.activeScene)!;
    assert.deepEqual([scene.frameStart, scene.frameEnd], [3, 7]);
    assert.deepEqual(await readdir(join(server.home, "uploads", inspection.uploadId)), ["shot.blend", "upload.json"].sort());
  });

  it("takes settings.blender for the local farm too: a version not installed is a 400 naming settings.blender", async (t) => {
    const server = await startTestServer(t, { runFarm: false });
    const blend = await makeScene(join(server.home, "shot.blend"), { frames: [1, 1], resolution: [16, 16], samples: 1 });
    const response = await server.api("/api/renders", { method: "POST", body: await renderForm(blend, "shot.blend", { blender: "7.0" }) });
    assert.equal(response.status, 400);
    const body = (await response.json()) as { error: string; field: string };
    assert.equal(body.field, "settings.blender");
    assert.match(body.error, /Blender 7\.0 is not installed here \(found /);
  });

  it("refuses a file that is not a .blend, and a damaged .blend, with 400 naming the file", async (t) => {
    const server = await startTestServer(t, { runFarm: false });
    const text = new FormData();
    text.append("file", new Blob(["hello"]), "notes.txt");
    const wrongKind = await server.api("/api/inspect", { method: "POST", body: text });
    assert.equal(wrongKind.status, 400);
    assert.deepEqual(await wrongKind.json(), { error: 'file "notes.txt" is not a .blend; upload a .blend file.', field: "file" });
    const damaged = new FormData();
    damaged.append("file", new Blob(["BLENDER-v304 but not really"]), "broken.blend");
    const broken = await server.api("/api/inspect", { method: "POST", body: damaged });
    assert.equal(broken.status, 400);
    const brokenBody = (await broken.json()) as { field: string; error: string };
    assert.equal(brokenBody.field, "file");
    assert.match(brokenBody.error, /broken\.blend/);
    assert.doesNotMatch(brokenBody.error, /uploads\//, "the server's own paths stay private");
    assert.deepEqual(await readdir(join(server.home, "uploads")), [], "refused uploads are not kept");
  });

  it("bad settings: 400 naming the field, and nothing submitted", async (t) => {
    const server = await startTestServer(t, { runFarm: false });
    const blend = await makeScene(join(server.home, "shot.blend"), { frames: [1, 2], resolution: [16, 16], samples: 1 });
    const cases: [unknown, string, RegExp][] = [
      [{ samples: 0 }, "settings.samples", /settings\.samples/],
      [{ frames: "5-1" }, "settings.frames", /settings\.frames/],
      [{ arraySize: 2, chunkSize: 1 }, "settings.chunkSize", /arraySize or chunkSize/],
      [{ sampels: 4 }, "settings.sampels", /unknown field "sampels"/],
      [{ scene: "Nope" }, "settings.scene", /^settings\.scene "Nope" is not in shot\.blend; its scenes are "Demo"\.$/],
      [{ camera: "Nope" }, "settings.camera", /settings\.camera "Nope"/],
      ["{not json", "settings", /not valid JSON/],
      [{ blend: "x.blend" }, "settings.blend", /zipped projects/],
    ];
    for (const [settings, field, message] of cases) {
      const response = await server.api("/api/renders", { method: "POST", body: await renderForm(blend, "shot.blend", settings) });
      const body = (await response.json()) as { error: string; field?: string };
      assert.equal(response.status, 400, JSON.stringify(body));
      assert.equal(body.field, field, body.error);
      assert.match(body.error, message);
    }
    const missingFile = new FormData();
    missingFile.append("settings", "{}");
    const noFile = await server.api("/api/renders", { method: "POST", body: missingFile });
    assert.equal(noFile.status, 400);
    assert.equal(((await noFile.json()) as { field: string }).field, "file");
    const unknownUpload = await server.api("/api/renders", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ uploadId: "u-0000000000000000", settings: {} }),
    });
    assert.equal(unknownUpload.status, 400);
    assert.equal(((await unknownUpload.json()) as { field: string }).field, "uploadId");
    assert.deepEqual(await (await server.api("/api/renders")).json(), []);
    assert.deepEqual(await readdir(join(server.home, "uploads")), []);
  });

  it("refuses a hostile zipped project (an entry climbing out with ../) with 400, writing nothing outside", async (t) => {
    const server = await startTestServer(t, { runFarm: false });
    const form = new FormData();
    form.append("settings", JSON.stringify({ blend: "shot.blend" }));
    form.append("file", new Blob([buildZip([{ path: "shot.blend", content: "x" }, { path: "../../escaped.txt", content: "gotcha" }])]), "evil.zip");
    const response = await server.api("/api/renders", { method: "POST", body: form });
    assert.equal(response.status, 400);
    const body = (await response.json()) as { error: string; field: string };
    assert.equal(body.field, "file");
    assert.match(body.error, /escaped\.txt/);
    assert.deepEqual(await readdir(join(server.home, "uploads")), []);
    assert.equal((await readdir(server.home)).includes("escaped.txt"), false);
  });

  it("answers 404 for an unknown render on every render route, and for unknown routes", async (t) => {
    const server = await startTestServer(t, { runFarm: false });
    for (const [method, path] of [
      ["GET", "/api/renders/r-20260101-000000-abcdef"],
      ["POST", "/api/renders/r-20260101-000000-abcdef/cancel"],
      ["POST", "/api/renders/r-20260101-000000-abcdef/retry"],
      ["GET", "/api/renders/r-20260101-000000-abcdef/logs"],
      ["GET", "/api/renders/r-20260101-000000-abcdef/outputs"],
      ["GET", "/api/renders/r-20260101-000000-abcdef/outputs/output.zip"],
      ["GET", "/api/renders/NOT..an-id/outputs/output.zip"],
      ["GET", "/api/events?render=r-20260101-000000-abcdef"],
      ["GET", "/api/nothing"],
    ]) {
      const response = await server.api(path!, { method });
      assert.equal(response.status, 404, `${method} ${path}`);
      assert.match(((await response.json()) as { error: string }).error, /No r/);
    }
  });

  it("serves an OpenAPI 3.1 document listing every route, with schemas from the zod schemas", async (t) => {
    const server = await startTestServer(t, { runFarm: false });
    const response = await server.api("/api/openapi.json");
    assert.equal(response.status, 200);
    const doc = (await response.json()) as { openapi: string; paths: Record<string, Record<string, unknown>>; components: { schemas: Record<string, { properties?: Record<string, unknown> }> } };
    assert.equal(doc.openapi, "3.1.0");
    assert.deepEqual(Object.keys(doc.paths).sort(), [
      "/api/blobs/missing", "/api/blobs/uploads", "/api/estimate", "/api/events", "/api/farms", "/api/inspect", "/api/openapi.json", "/api/renders", "/api/renders/{id}", "/api/renders/{id}/cancel",
      "/api/renders/{id}/log-files", "/api/renders/{id}/log-files/{logId}", "/api/renders/{id}/logs", "/api/renders/{id}/outputs",
      "/api/renders/{id}/outputs/{path}", "/api/renders/{id}/retry", "/api/uploads",
    ]);
    assert.ok(doc.paths["/api/renders"]!.post && doc.paths["/api/renders"]!.get);
    const settings = doc.components.schemas.RenderSettings!;
    for (const field of ["frames", "engine", "samples", "resolution", "arraySize", "chunkSize", "attempts", "timeout", "priority", "blend", "python", "env"]) {
      assert.ok(settings.properties?.[field], `RenderSettings.${field}`);
    }
    assert.ok(doc.components.schemas.Inspection!.properties?.uploadId);
    assert.ok(doc.components.schemas.RenderDetail!.properties?.progress);
    assert.doesNotMatch(JSON.stringify(doc), /"\$ref":"#\/components\/schemas\/(?!(Error|RenderSettings|SubmitUploaded|Submitted|Inspection|RenderListItem|RenderDetail|Output|Farms|Upload|InspectUploaded|LogFile|Estimate)")/);
  });

  it("reports the local farm and the AWS farms (none yet)", async (t) => {
    const server = await startTestServer(t, { runFarm: false });
    const farms = (await (await server.api("/api/farms")).json()) as { local: { cores: number; queue: { queued: number; running: number } }; aws: unknown[] };
    assert.ok(farms.local.cores >= 1);
    assert.deepEqual(farms.local.queue, { queued: 0, running: 0 });
    assert.deepEqual(farms.aws, []);
  });

  it("with a token, every /api route needs it: 401 without or wrong, accepted as Bearer, and as ?token= on GET (SSE)", async (t) => {
    const server = await startTestServer(t, { runFarm: false, token: "s3cret-token" });
    for (const path of ["/api/renders", "/api/openapi.json", "/api/farms", "/api/events", "/api/renders/r-20260101-000000-abcdef"]) {
      assert.equal((await server.api(path)).status, 401, path);
    }
    assert.equal((await server.api("/api/inspect", { method: "POST", body: new FormData() })).status, 401);
    assert.equal((await server.api("/api/renders", { headers: { authorization: "Bearer wrong" } })).status, 401);
    assert.equal((await server.api("/api/renders?token=wrong")).status, 401);
    const ok = await server.api("/api/renders", { headers: { authorization: "Bearer s3cret-token" } });
    assert.equal(ok.status, 200);
    assert.deepEqual(await ok.json(), []);
    assert.equal((await server.api("/api/renders?token=s3cret-token")).status, 200);
    // POSTs take the header only: a link cannot trigger them.
    assert.equal((await server.api("/api/renders/r-20260101-000000-abcdef/cancel?token=s3cret-token", { method: "POST" })).status, 401);
    const unauthorizedEvents = await fetch(`${server.base}/api/events`);
    assert.equal(unauthorizedEvents.status, 401);
    // An event stream opened with ?token= stays open (a heartbeat comes) until closed.
    const stream = await fetch(`${server.base}/api/events?token=s3cret-token`);
    assert.equal(stream.status, 200);
    assert.match(stream.headers.get("content-type") ?? "", /^text\/event-stream/);
    const reader = stream.body!.getReader();
    assert.match(new TextDecoder().decode((await reader.read()).value), /^: connected/);
    await reader.cancel();
  });

  it("sends heartbeat comments on idle event streams", async (t) => {
    const server = await startTestServer(t, { runFarm: false, heartbeatMs: 50 });
    const response = await fetch(`${server.base}/api/events`);
    const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader();
    let text = "";
    while (!text.includes(": heartbeat")) text += (await reader.read()).value ?? "";
    await reader.cancel();
    // Nothing happened, so no event: only comments.
    assert.doesNotMatch(text, /^event:/m);
  });
});

describe("server helpers", () => {
  it("only loopback addresses go without a token", () => {
    for (const host of ["127.0.0.1", "127.1.2.3", "localhost", "::1", "[::1]"]) assert.equal(isLoopback(host), true, host);
    for (const host of ["0.0.0.0", "192.168.1.10", "::", "example.com"]) assert.equal(isLoopback(host), false, host);
    assert.deepEqual(tokenFor("127.0.0.1", undefined), { token: undefined, generated: false });
    assert.deepEqual(tokenFor("127.0.0.1", "mine"), { token: "mine", generated: false });
    const generated = tokenFor("0.0.0.0", undefined);
    assert.equal(generated.generated, true);
    assert.match(generated.token!, /^[A-Za-z0-9_-]{43}$/);
    assert.notEqual(tokenFor("0.0.0.0", undefined).token, generated.token);
  });

  it("takes the token from the Bearer header, and from ?token= only on GET", () => {
    assert.equal(presentedToken({ headers: { authorization: "Bearer abc" }, method: "POST", query: {} }), "abc");
    assert.equal(presentedToken({ headers: {}, method: "GET", query: { token: "abc" } }), "abc");
    assert.equal(presentedToken({ headers: {}, method: "POST", query: { token: "abc" } }), undefined);
    assert.equal(presentedToken({ headers: { authorization: "Basic abc" }, method: "GET", query: {} }), undefined);
  });

  it("output paths: anything that could leave the outputs is refused, names inside pass unchanged", () => {
    for (const bad of ["../x", "frames/../../x", "%2e%2e/x", "./x", "a//b", "a\\b", "a%00b", "", "frames/", "%E0%A4%A"]) {
      assert.equal(outputSegments(bad), undefined, bad);
    }
    assert.deepEqual(outputSegments("frames/frame_0001.png"), ["frames", "frame_0001.png"]);
    fc.assert(
      fc.property(fc.array(fc.stringMatching(/^[A-Za-z0-9_.-]{1,12}$/), { minLength: 1, maxLength: 4 }), (segments) => {
        const result = outputSegments(segments.map(encodeURIComponent).join("/"));
        const unsafe = segments.some((segment) => segment === "." || segment === "..");
        assert.deepEqual(result, unsafe ? undefined : segments);
      }),
    );
  });

  it("content types, SSE framing and API field names", () => {
    assert.equal(contentTypeOf("frames/frame_0001.PNG"), "image/png");
    assert.equal(contentTypeOf("output.zip"), "application/zip");
    assert.equal(contentTypeOf("preview.mp4"), "video/mp4");
    assert.equal(contentTypeOf("thumbnail.jpg"), "image/jpeg");
    assert.equal(contentTypeOf("odd.xyz"), "application/octet-stream");
    assert.equal(formatServerEvent("frame", { frame: 1, url: "/a\nb" }), 'event: frame\ndata: {"frame":1,"url":"/a\\nb"}\n\n');
    assert.equal(apiFieldNames('--array-size "x" must be a whole number; see --scene'), 'settings.arraySize "x" must be a whole number; see settings.scene');
  });
});
