import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { join, relative } from "node:path";
import { tempDir } from "../helpers/blender.ts";
import { makeDepsScene } from "../helpers/deps-scene.ts";
import { startTestServer, type TestServer } from "./harness.ts";

type NotInUpload = { kind: string; owner: string; path: string; reason: string };

const postJson = (server: TestServer, path: string, body: unknown) =>
  server.api(path, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });

describe("web uploads say what the .blend needs that the upload lacks (real Blender)", () => {
  it("a folder upload holding the shot and its library but not the textures beside them: inspect lists each, submit warns", async (t) => {
    const server = await startTestServer(t);
    const scene = await makeDepsScene(join(await tempDir(t), "files"));
    // The shot and the library folder, as a browser sends a folder; tex/, udim/, seq/ and the absolute wood.png stay behind.
    const files = [scene.blend, join(scene.show, "assets", "lib.blend"), join(scene.show, "assets", "tex", "libtex.png")];
    const form = new FormData();
    for (const file of files) form.append("file", new Blob([await readFile(file)]), `show/${relative(scene.show, file)}`);
    const sent = await server.api("/api/uploads", { method: "POST", body: form });
    assert.equal(sent.status, 201, await sent.clone().text());
    const { uploadId } = (await sent.json()) as { uploadId: string };

    const inspected = await postJson(server, "/api/inspect", { uploadId, blend: "shots/shot.blend" });
    assert.equal(inspected.status, 200, await inspected.clone().text());
    const { notInUpload } = (await inspected.json()) as { notInUpload: NotInUpload[] };
    assert.deepEqual(notInUpload.map((item) => [item.owner, item.path, item.reason]).sort(), [
      ['Image "checker.png"', "//../tex/checker.png", "missing"],
      ['Image "frame_0001.png"', "//../seq/frame_0001.png", "missing"],
      ['Image "tile.1001.png"', "//../udim/tile.<UDIM>.png", "missing"],
      ['Image "wood.png"', join(scene.outside, "wood.png"), "outside the upload"],
    ]);

    const submitted = await postJson(server, "/api/renders", { uploadId, settings: { blend: "shots/shot.blend", frames: "1" } });
    assert.equal(submitted.status, 202, await submitted.clone().text());
    const { warnings } = (await submitted.json()) as { warnings: string[] };
    assert.equal(warnings.length, 4);
    assert.match(warnings.join("\n"), /image Image "wood\.png" needs ".*wood\.png", which is outside the upload; it renders without it/);
  });
});
