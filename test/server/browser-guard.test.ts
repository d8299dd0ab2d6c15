/**
 * Web pages must not drive the API from the user's browser: a foreign Host
 * on loopback (DNS rebinding) is a 421, a state-changing request from another
 * origin a 403, before anything is stored; the server's own page and clients
 * without Origin (curl, the CLI) go on as before.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { request } from "node:http";
import { readdir } from "node:fs/promises";
import { join } from "node:path";
import { buildApp } from "../../src/server/app.ts";
import { foreignOriginProblem, loopbackHostProblem } from "../../src/server/auth.ts";
import { makeScene, tempDir } from "../helpers/blender.ts";
import { renderForm, startTestServer, type TestServer } from "./harness.ts";

type Answer = { status: number; body: string };

/** One HTTP request with exactly these headers (fetch would not let a test set Host). */
async function send(base: string, method: string, path: string, headers: Record<string, string>, body?: FormData | string): Promise<Answer> {
  let bytes: Buffer | undefined;
  const all = { ...headers };
  if (body instanceof FormData) {
    const encoded = new Response(body);
    all["content-type"] = encoded.headers.get("content-type")!;
    bytes = Buffer.from(await encoded.arrayBuffer());
  } else if (body !== undefined) {
    all["content-type"] ??= "application/json";
    bytes = Buffer.from(body);
  }
  if (bytes) all["content-length"] = String(bytes.length);
  const url = new URL(path, base);
  return new Promise((resolve, reject) => {
    const outgoing = request({ host: url.hostname, port: url.port, method, path: url.pathname + url.search, headers: all, setHost: !("host" in all) }, (response) => {
      let text = "";
      response.setEncoding("utf8");
      response.on("data", (chunk: string) => (text += chunk));
      response.on("end", () => resolve({ status: response.statusCode ?? 0, body: text }));
    });
    // The server may answer (and close) before the whole body is sent.
    outgoing.on("error", reject);
    outgoing.end(bytes);
  });
}

function blendForm(): FormData {
  const form = new FormData();
  form.append("file", new Blob([Buffer.from("BLENDER-v304 not really a scene")]), "scene.blend");
  return form;
}

const uploadsOf = async (server: TestServer) => readdir(join(server.home, "uploads")).catch(() => [] as string[]);
const renderIds = async (server: TestServer) => ((await (await server.api("/api/renders")).json()) as { renderId: string }[]).map((r) => r.renderId);

describe("Host and Origin rules (CSRF, DNS rebinding)", () => {
  it("refuses, on loopback, a render posted from a foreign page or under a foreign Host, and stores nothing", async (t) => {
    const server = await startTestServer(t, { runFarm: false });
    const port = new URL(server.base).port;
    const dir = await tempDir(t);
    const blend = join(dir, "scene.blend");
    await makeScene(blend, { frames: [1, 1], resolution: [8, 8], samples: 1 });

    // curl -H 'Origin: http://evil.example.com' -F file=@scene.blend -F settings={} 127.0.0.1:PORT/api/renders
    const foreign = await send(server.base, "POST", "/api/renders", { origin: "http://evil.example.com" }, await renderForm(blend, "scene.blend", {}));
    assert.equal(foreign.status, 403, foreign.body);
    assert.match(JSON.parse(foreign.body).error, /^Origin "http:\/\/evil\.example\.com" is not this server's own page; a POST from another site is refused/);
    const viaReferer = await send(server.base, "POST", "/api/uploads", { referer: "http://evil.example.com/attack.html" }, blendForm());
    assert.equal(viaReferer.status, 403, viaReferer.body);
    assert.match(JSON.parse(viaReferer.body).error, /^Referer "http:\/\/evil\.example\.com\/attack\.html" is not this server's own page/);
    const sandboxed = await send(server.base, "POST", "/api/uploads", { origin: "null" }, blendForm());
    assert.equal(sandboxed.status, 403, sandboxed.body);
    const otherPort = await send(server.base, "POST", "/api/uploads", { origin: `http://127.0.0.1:${Number(port) + 1}` }, blendForm());
    assert.equal(otherPort.status, 403, "another local port is another site");

    // A page on evil.example.com whose name was pointed at 127.0.0.1 sends its own name as Host.
    const rebound = await send(server.base, "POST", "/api/renders", { host: `evil.example.com:${port}`, origin: `http://evil.example.com:${port}` }, await renderForm(blend, "scene.blend", {}));
    assert.equal(rebound.status, 421, rebound.body);
    assert.match(JSON.parse(rebound.body).error, new RegExp(`^Host "evil\\.example\\.com:${port}" is not this server: .*open http://127\\.0\\.0\\.1:${port}/ instead\\.$`));
    const readBack = await send(server.base, "GET", "/api/renders", { host: `evil.example.com:${port}` });
    assert.equal(readBack.status, 421, "a rebound page cannot read the API either");
    assert.equal((await send(server.base, "GET", "/", { host: `evil.example.com:${port}` })).status, 421, "nor the UI");
    assert.equal((await send(server.base, "GET", "/api/renders", { host: `127.0.0.1:${Number(port) + 1}` })).status, 421, "the port must be this server's");

    assert.deepEqual(await renderIds(server), [], "nothing submitted");
    assert.deepEqual(await uploadsOf(server), [], "nothing uploaded");

    // The server's own page, and clients that send no Origin, go on as before.
    const own = await send(server.base, "POST", "/api/renders", { origin: `http://127.0.0.1:${port}`, referer: `http://127.0.0.1:${port}/` }, await renderForm(blend, "scene.blend", {}));
    assert.equal(own.status, 202, own.body);
    const { renderId } = JSON.parse(own.body) as { renderId: string };
    for (const host of [`localhost:${port}`, `127.0.0.1:${port}`, `127.1.2.3:${port}`, `[::1]:${port}`]) {
      assert.equal((await send(server.base, "GET", "/api/renders", { host })).status, 200, host);
    }
    const named = await send(server.base, "POST", "/api/uploads", { host: `localhost:${port}`, origin: `http://localhost:${port}` }, blendForm());
    assert.equal(named.status, 201, named.body);
    const sameReferer = await send(server.base, "POST", "/api/uploads", { referer: `http://127.0.0.1:${port}/renders/new` }, blendForm());
    assert.equal(sameReferer.status, 201, sameReferer.body);
    const curl = await send(server.base, "POST", "/api/uploads", {}, blendForm());
    assert.equal(curl.status, 201, curl.body);

    // Cancelling is state-changing too.
    const cancelFromAfar = await send(server.base, "POST", `/api/renders/${renderId}/cancel`, { origin: "https://evil.example.com" });
    assert.equal(cancelFromAfar.status, 403, cancelFromAfar.body);
    const queued = (await (await server.api(`/api/renders/${renderId}`)).json()) as { status: string };
    assert.notEqual(queued.status, "FAILED", "the render was not cancelled");
    const cancel = await send(server.base, "POST", `/api/renders/${renderId}/cancel`, {});
    assert.equal(cancel.status, 202, cancel.body);
    assert.equal((await uploadsOf(server)).length, 4, "one upload per accepted request");
  });

  it("beyond loopback keeps the token rule, answers any Host, and refuses foreign origins too", async (t) => {
    const home = await tempDir(t);
    const app = await buildApp({ env: { ...process.env, BRENDER_HOME: home, BRENDER_STORAGE: "" }, runFarm: false, host: "0.0.0.0", token: "s3cret" });
    t.after(() => app.close());
    // Listening on loopback only, but configured as bound beyond it: what matters here is the rule set.
    await app.listen({ host: "127.0.0.1", port: 0 });
    const address = app.server.address();
    const port = typeof address === "object" && address ? address.port : 0;
    const base = `http://127.0.0.1:${port}`;
    const bearer = { authorization: "Bearer s3cret" };
    assert.equal((await send(base, "GET", "/api/renders", { host: `render-box.lan:${port}` })).status, 401, "no token");
    assert.equal((await send(base, "GET", "/api/renders", { ...bearer, host: `render-box.lan:${port}` })).status, 200, "a machine's own name is fine");
    const foreign = await send(base, "POST", "/api/uploads", { ...bearer, host: `render-box.lan:${port}`, origin: "http://evil.example.com" }, blendForm());
    assert.equal(foreign.status, 403, foreign.body);
    const own = await send(base, "POST", "/api/uploads", { ...bearer, host: `render-box.lan:${port}`, origin: `http://render-box.lan:${port}` }, blendForm());
    assert.equal(own.status, 201, own.body);
    const proxied = await send(base, "POST", "/api/uploads", { ...bearer, host: "farm.example.com", origin: "https://farm.example.com" }, blendForm());
    assert.equal(proxied.status, 201, `an https page in front of a TLS proxy is this server's own: ${proxied.body}`);
    assert.equal((await readdir(join(home, "uploads"))).length, 2);
  });

  it("decides Host and Origin by the rules (pure)", () => {
    assert.equal(loopbackHostProblem("localhost:4600", 4600), undefined);
    assert.equal(loopbackHostProblem("LOCALHOST:4600", 4600), undefined);
    assert.equal(loopbackHostProblem("[::1]:4600", 4600), undefined);
    assert.equal(loopbackHostProblem("127.0.0.1", 80), undefined, "no port means 80");
    assert.equal(loopbackHostProblem(undefined, 4600), undefined, "HTTP/1.0 without Host is no browser");
    for (const host of ["127.0.0.1", "localhost.:4600", "127.0.0.1.evil.com:4600", "evil.com:4600", "0.0.0.0:4600", "[::2]:4600", "user@localhost:4600", "local host", "192.168.1.5:4600"]) {
      assert.match(loopbackHostProblem(host, 4600) ?? "", /is not this server/, host);
    }
    const post = (origin?: string, referer?: string, host = "127.0.0.1:4600") => foreignOriginProblem("POST", { origin, referer, host });
    assert.equal(post(), undefined);
    assert.equal(post("http://127.0.0.1:4600"), undefined);
    assert.equal(post(undefined, "http://127.0.0.1:4600/x?y"), undefined);
    assert.equal(post("http://localhost", undefined, "localhost:80"), undefined, "default ports compare equal");
    assert.equal(foreignOriginProblem("GET", { origin: "http://evil.example.com", host: "127.0.0.1:4600" }), undefined, "reads are not held to it");
    for (const method of ["POST", "PUT", "PATCH", "DELETE", "delete"]) {
      assert.match(foreignOriginProblem(method, { origin: "http://evil.example.com", host: "127.0.0.1:4600" }) ?? "", /^Origin "http:\/\/evil\.example\.com" is not this server's own page/, method);
    }
    assert.match(post("http://127.0.0.1:4600", undefined, "") ?? "", /not this server's own page/, "no Host to compare with");
    assert.match(post("file:///home/me/x.html") ?? "", /not this server's own page/);
    assert.match(post("http://evil.example.com", "http://127.0.0.1:4600/") ?? "", /^Origin/, "Origin wins over Referer");
    assert.match(post(undefined, "not a url") ?? "", /^Referer "not a url"/);
  });
});
