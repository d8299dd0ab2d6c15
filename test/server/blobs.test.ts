/**
 * Content-addressed uploads (src/server/routes/blobs.ts): a project sent
 * again with one changed texture sends only that texture's bytes, and the
 * upload built from stored blobs holds every file, byte for byte.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { readdir, readFile, utimes } from "node:fs/promises";
import { join } from "node:path";
import { startTestServer, type TestServer } from "./harness.ts";
import { blobPath, removeIdleBlobs } from "../../src/server/blob-store.ts";

type Upload = { uploadId: string; kind: string; name: string; blendFiles: string[] };
const sha = (data: Buffer) => createHash("sha256").update(data).digest("hex");
const post = (server: TestServer, path: string, body: unknown) =>
  server.api(path, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });

/** Asks what is missing, sends only that; returns the upload and the request body's size in bytes. */
async function sendProject(server: TestServer, files: Record<string, Buffer>): Promise<{ upload: Upload; bodyBytes: number; missing: string[] }> {
  const listing = Object.entries(files).map(([path, data]) => ({ path, sha256: sha(data) }));
  const asked = await post(server, "/api/blobs/missing", { hashes: listing.map((entry) => entry.sha256) });
  assert.equal(asked.status, 200);
  const { missing } = (await asked.json()) as { missing: string[] };
  const form = new FormData();
  form.append("files", JSON.stringify(listing));
  for (const hash of new Set(missing)) form.append("blob", new Blob([Object.values(files).find((data) => sha(data) === hash)!]), hash);
  // The exact bytes that cross the wire, counted before they are sent.
  const encoded = new Response(form);
  const body = Buffer.from(await encoded.arrayBuffer());
  const sent = await server.api("/api/blobs/uploads", { method: "POST", headers: { "content-type": encoded.headers.get("content-type")! }, body });
  assert.equal(sent.status, 201, await sent.clone().text());
  return { upload: (await sent.json()) as Upload, bodyBytes: body.length, missing };
}

describe("POST /api/blobs/missing and /api/blobs/uploads: content-addressed uploads", () => {
  it("a project sent again with one changed texture sends only that texture; the upload holds every file", async (t) => {
    const server = await startTestServer(t);
    const blend = Buffer.concat([Buffer.from("BLENDER-v304"), Buffer.alloc(200_000, 1)]);
    const wood = Buffer.alloc(300_000, 2);
    const stone = Buffer.alloc(300_000, 3);
    const first = await sendProject(server, { "p/shot.blend": blend, "p/tex/wood.png": wood, "p/tex/stone.png": stone });
    assert.equal(first.missing.length, 3);
    assert.ok(first.bodyBytes > 800_000, `${first.bodyBytes} bytes`);
    assert.deepEqual(first.upload.blendFiles, ["shot.blend"]);

    const changed = Buffer.alloc(300_000, 4);
    const second = await sendProject(server, { "p/shot.blend": blend, "p/tex/wood.png": changed, "p/tex/stone.png": stone });
    assert.deepEqual(second.missing, [sha(changed)]);
    assert.ok(second.bodyBytes < 300_000 + 2_000, `only the changed texture is sent: ${second.bodyBytes} bytes`);
    const project = join(server.home, "uploads", second.upload.uploadId, "project", "p");
    assert.ok((await readFile(join(project, "shot.blend"))).equals(blend));
    assert.ok((await readFile(join(project, "tex", "wood.png"))).equals(changed));
    assert.ok((await readFile(join(project, "tex", "stone.png"))).equals(stone));
  });

  it("refuses bad hashes, a blob whose content is not its name, and a listing naming content the server lacks, keeping no upload", async (t) => {
    const server = await startTestServer(t);
    const bad = await post(server, "/api/blobs/missing", { hashes: ["abc"] });
    assert.equal(bad.status, 400);
    assert.match(((await bad.json()) as { error: string }).error, /SHA-256 in 64 lowercase hex digits/);

    const data = Buffer.from("BLENDER-v304");
    const liar = new FormData();
    liar.append("files", JSON.stringify([{ path: "p/x.blend", sha256: "0".repeat(64) }]));
    liar.append("blob", new Blob([data]), "0".repeat(64));
    const lied = await server.api("/api/blobs/uploads", { method: "POST", body: liar });
    assert.equal(lied.status, 400);
    assert.match(((await lied.json()) as { error: string }).error, new RegExp(`its content has SHA-256 ${sha(data)}`));

    const lacking = new FormData();
    lacking.append("files", JSON.stringify([{ path: "p/x.blend", sha256: sha(data) }]));
    const refused = await server.api("/api/blobs/uploads", { method: "POST", body: lacking });
    assert.equal(refused.status, 400);
    assert.match(((await refused.json()) as { error: string }).error, /"p\/x\.blend" has content .* the server lacks; send it as a "blob" part/);
    assert.deepEqual(await readdir(join(server.home, "uploads")).catch(() => []), []);
    const missing = (await (await post(server, "/api/blobs/missing", { hashes: [sha(data), "0".repeat(64)] })).json()) as { missing: string[] };
    assert.deepEqual(missing.missing.sort(), [sha(data), "0".repeat(64)].sort());
  });
});

describe("the blob store's cleanup (src/server/blob-store.ts)", () => {
  it("removes blobs unused for 7 days and keeps the ones asked about or used since; uploads built from them are untouched", async (t) => {
    const server = await startTestServer(t);
    const blend = Buffer.concat([Buffer.from("BLENDER-v304"), Buffer.alloc(1_000, 1)]);
    const old = Buffer.alloc(2_000, 5);
    const asked = Buffer.alloc(2_000, 6);
    const { upload } = await sendProject(server, { "p/shot.blend": blend, "p/old.png": old, "p/asked.png": asked });
    const blobsDir = join(server.home, "blobs");
    const eightDaysAgo = new Date(Date.now() - 8 * 24 * 3600 * 1000);
    for (const data of [blend, old, asked]) await utimes(blobPath(blobsDir, sha(data)), eightDaysAgo, eightDaysAgo);

    // Asking about a blob is using it: the client is about to list it.
    const answer = await post(server, "/api/blobs/missing", { hashes: [sha(asked)] });
    assert.deepEqual(await answer.json(), { missing: [] });

    const removed = await removeIdleBlobs(blobsDir);
    assert.deepEqual(removed.sort(), [sha(blend), sha(old)].sort());
    assert.deepEqual((await post(server, "/api/blobs/missing", { hashes: [sha(blend), sha(old), sha(asked)] }).then((r) => r.json())), { missing: [sha(blend), sha(old)] });
    assert.ok((await readFile(join(server.home, "uploads", upload.uploadId, "project", "p", "old.png"))).equals(old), "the upload keeps its own copy");
    // Sent again, the removed ones are simply uploaded again.
    const again = await sendProject(server, { "p/shot.blend": blend, "p/old.png": old, "p/asked.png": asked });
    assert.deepEqual(again.missing.sort(), [sha(blend), sha(old)].sort());
  });
});
