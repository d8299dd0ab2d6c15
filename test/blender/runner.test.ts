import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { chmod, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { BLENDER_KILL_GRACE_MS, runBlender } from "../../src/blender/runner.ts";
import { KILL_GRACE_MS } from "../../src/backends/local/runner.ts";
import { tempDir } from "../helpers/blender.ts";
import { until } from "../helpers/wait.ts";

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe("runBlender", () => {
  it("kills a Blender that ignores SIGTERM, within its grace, before the runner would kill the worker", async (t) => {
    assert.ok(BLENDER_KILL_GRACE_MS < KILL_GRACE_MS, "the worker must kill Blender before the runner kills the worker");
    const dir = await tempDir(t);
    // A stand-in for a Blender stuck in a frame: it ignores SIGTERM and sleeps on, with a child of its own.
    const stubborn = join(dir, "stubborn-blender.sh");
    await writeFile(stubborn, `#!/bin/sh\ntrap '' TERM\necho $$ > "${join(dir, "pid")}"\nsleep 120 &\necho $! > "${join(dir, "child")}"\nwait\n`);
    await chmod(stubborn, 0o755);
    const abort = new AbortController();
    const exit = runBlender(["-b"], { executable: stubborn, signal: abort.signal });
    const pid = Number(await until(() => readFile(join(dir, "child"), "utf8").catch(() => ""), (text) => text.trim() !== "", "the stub to start").then(async () => readFile(join(dir, "pid"), "utf8")));
    const child = Number(await readFile(join(dir, "child"), "utf8"));
    const started = Date.now();
    abort.abort();
    const ended = await exit;
    const elapsed = Date.now() - started;
    assert.equal(ended.signal, "SIGKILL");
    assert.ok(elapsed >= BLENDER_KILL_GRACE_MS - 100 && elapsed < KILL_GRACE_MS, `killed after ${elapsed} ms`);
    assert.equal(alive(pid), false, "Blender is gone");
    await until(async () => alive(child), (living) => !living, "Blender's own child to die with its group", 2000);
  });
});
