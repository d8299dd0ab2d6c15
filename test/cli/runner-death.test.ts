import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { brender, makeScene, tempDir, BIN } from "../helpers/blender.ts";
import { until } from "../helpers/wait.ts";

/** Pids of this home's worker processes running `action`, read from their environment. */
async function workersOf(home: string, action: string): Promise<number[]> {
  const pids: number[] = [];
  for (const entry of await readdir("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    const environ = await readFile(`/proc/${entry}/environ`, "latin1").catch(() => "");
    const vars = environ.split("\0");
    if (vars.includes(`BRENDER_HOME=${home}`) && vars.includes(`JOB_ACTION_TYPE=${action}`)) pids.push(Number(entry));
  }
  return pids;
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

/** How many jobs of this home have started an attempt (their log folders): the upload is the third. */
async function jobsStarted(home: string): Promise<number> {
  return (await readdir(join(home, "logs")).catch(() => [] as string[])).length;
}

describe("a runner killed with SIGKILL during upload_render_output", () => {
  // By default the upload runs in a worker thread of the runner (it dies with it); with
  // BRENDER_ACTION_THREADS=0 in a worker process, which must notice and stop.
  for (const threads of [true, false]) {
    it(`leaves a good render SUCCEEDED: the upload ${threads ? "thread dies with the runner" : "worker stops"}, the next runner publishes it once`, async (t) => {
      const home = await tempDir(t);
      const env = { BRENDER_HOME: home, ...(threads ? {} : { BRENDER_ACTION_THREADS: "0" }) };
      const blend = await makeScene(join(home, "shot.blend"), { frames: [1, 12], resolution: [64, 36], samples: 1 });
      const cli = spawn(BIN, ["render", blend, "--notify", "artist@example.com"], { env: { ...process.env, ...env }, stdio: "ignore" });
      const exited = new Promise((resolve) => cli.on("exit", resolve));
      if (threads) {
        await until(() => jobsStarted(home), (count) => count >= 3, "the upload job", 120_000, 5);
        cli.kill("SIGKILL");
        await exited;
        assert.deepEqual(await workersOf(home, "upload_render_output"), [], "no upload process: it ran in the runner");
      } else {
        const [uploader] = await until(() => workersOf(home, "upload_render_output"), (pids) => pids.length > 0, "the upload worker", 120_000, 10);
        cli.kill("SIGKILL");
        await exited;
        // The worker notices its runner is gone (its stdin pipe closed) and stops instead of publishing alone.
        await until(async () => alive(uploader!), (running) => !running, "the orphaned upload worker to stop", 10_000, 20);
      }

      const runner = await brender(["runner", "--until-idle"], env);
      assert.equal(runner.code, 0, runner.stderr);
      const jobs = JSON.parse((await brender(["jobs", "--json"], env)).stdout) as { renderId: string }[];
      const status = JSON.parse((await brender(["status", jobs[0]!.renderId, "--json"], env)).stdout);
      assert.equal(status.status, "SUCCEEDED", JSON.stringify(status));
      assert.equal(status.manifest.status, "succeeded");
      assert.equal(status.manifest.frames.renderedCount, 12);
      assert.deepEqual(status.manifest.frames.missing, []);
      const mails = (await readdir(join(home, "outbox"))).filter((name) => name.endsWith(".eml"));
      assert.equal(mails.length, 1, `one e-mail, got ${mails.join(", ")}`);
      assert.match(await readFile(join(home, "outbox", mails[0]!), "utf8"), /succeeded|SUCCEEDED/i);
    });
  }
});
