import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { once } from "node:events";
import { brender, BIN, tempDir } from "../helpers/blender.ts";

/** Starts `brender serve ARGS` and waits for the lines it prints at start. */
async function serve(t: Parameters<typeof tempDir>[0], args: string[]) {
  const home = await tempDir(t);
  const child = spawn(BIN, ["serve", ...args], { env: { ...process.env, BRENDER_HOME: home }, stdio: ["ignore", "pipe", "pipe"] });
  let stdout = "";
  let stderr = "";
  child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = once(child, "exit") as Promise<[number | null, NodeJS.Signals | null]>;
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`brender serve printed no URL: ${stdout} ${stderr}`)), 20_000);
    child.stdout.on("data", (chunk: Buffer) => {
      stdout += chunk.toString();
      if (/serving on http:\/\/\S+\n/.test(stdout) && (!args.includes("0.0.0.0") || /\ntoken: /.test(stdout))) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.on("exit", () => reject(new Error(`brender serve exited: ${stdout} ${stderr}`)));
  });
  const port = Number(/serving on http:\/\/[^:]+:(\d+)\//.exec(stdout)![1]);
  const stop = async () => {
    child.kill("SIGTERM");
    return (await exited)[0];
  };
  t.after(async () => {
    if (child.exitCode === null) await stop();
  });
  return { port, stdout: () => stdout, stop };
}

describe("brender serve", () => {
  it("binds 127.0.0.1 on the port asked (0: a free one), prints the URL, answers without a token, stops on SIGTERM", async (t) => {
    const server = await serve(t, ["--port", "0"]);
    assert.ok(server.port > 0);
    assert.match(server.stdout(), new RegExp(`^brender serving on http://127\\.0\\.0\\.1:${server.port}/\\n$`));
    const response = await fetch(`http://127.0.0.1:${server.port}/api/renders`);
    assert.equal(response.status, 200);
    assert.deepEqual(await response.json(), []);
    assert.equal(await server.stop(), 0);
  });

  it("beyond loopback, generates and prints a token and requires it", async (t) => {
    const server = await serve(t, ["--host", "0.0.0.0", "--port", "0"]);
    const token = /\ntoken: (\S+)/.exec(server.stdout())![1]!;
    assert.match(token, /^[A-Za-z0-9_-]{43}$/);
    assert.equal((await fetch(`http://127.0.0.1:${server.port}/api/renders`)).status, 401);
    assert.equal((await fetch(`http://127.0.0.1:${server.port}/api/renders`, { headers: { authorization: `Bearer ${token}` } })).status, 200);
    assert.equal((await fetch(`http://127.0.0.1:${server.port}/api/openapi.json?token=${token}`)).status, 200);
  });

  it("refuses a bad port with exit code 2", async (t) => {
    const home = await tempDir(t);
    const result = await brender(["serve", "--port", "http"], { BRENDER_HOME: home });
    assert.equal(result.code, 2);
    assert.match(result.stderr, /--port "http" must be a whole number/);
  });
});
