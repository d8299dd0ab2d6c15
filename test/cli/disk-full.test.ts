import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdir, mkdtemp, open, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import sharp from "sharp";
import { brender, makeScene, tempDir } from "../helpers/blender.ts";

const run = promisify(execFile);

/** A small tmpfs mounted for the test (needs root, as in CI's container); undefined where mounting is not allowed. */
async function smallDisk(t: { after: (fn: () => Promise<void>) => void }): Promise<string | undefined> {
  const mountPoint = await mkdtemp(join(tmpdir(), "brender-full-disk-"));
  const mounted = await run("mount", ["-t", "tmpfs", "-o", "size=16m", "tmpfs", mountPoint]).then(() => true, () => false);
  t.after(async () => {
    if (mounted) await run("umount", [mountPoint]);
    await rm(mountPoint, { recursive: true, force: true });
  });
  return mounted ? mountPoint : undefined;
}

/** Writes a file until the disk says ENOSPC. */
async function fill(folder: string): Promise<void> {
  const file = await open(join(folder, "filler"), "w");
  const chunk = Buffer.alloc(256 * 1024);
  try {
    for (;;) await file.write(chunk);
  } catch (error) {
    assert.equal((error as NodeJS.ErrnoException).code, "ENOSPC");
  } finally {
    await file.close().catch(() => undefined);
  }
}

describe("a full disk under BRENDER_HOME", () => {
  it("read-only commands keep working; writing ones and jobs say which folder, how much is free and what to do", async (t) => {
    const disk = await smallDisk(t);
    if (!disk) return t.skip("mounting a tmpfs is not allowed here");
    const outside = await tempDir(t);
    const env = { BRENDER_HOME: join(disk, "home"), BRENDER_STORAGE: join(outside, "store") };
    const blend = await makeScene(join(outside, "shot.blend"), { frames: [1, 1], resolution: [16, 16], samples: 1 });
    const first = await brender(["render", blend, "--json"], env);
    assert.equal(first.code, 0, first.stderr);
    const { renderId } = JSON.parse(first.stdout) as { renderId: string };
    // Frames waiting in a render's work folder, for the upload job below.
    const frames = join(disk, "home", "work", "r-full", "output", "frames");
    await mkdir(frames, { recursive: true });
    await sharp({ create: { width: 16, height: 16, channels: 3, background: "#336699" } }).png().toFile(join(frames, "frame_0001.png"));
    await fill(disk);

    const jobs = await brender(["jobs", "--json"], env);
    assert.equal(jobs.code, 0, jobs.stderr);
    assert.equal((JSON.parse(jobs.stdout) as { renderId: string }[])[0]?.renderId, renderId);
    const status = await brender(["status", renderId], env);
    assert.equal(status.code, 0, status.stderr);
    assert.match(status.stdout, /SUCCEEDED/);

    const again = await brender(["render", blend], env);
    assert.equal(again.code, 1);
    assert.doesNotMatch(again.stderr, /unexpected error|\n\s+at /);
    assert.match(again.stderr, new RegExp(`^brender: The disk holding ${join(disk, "home")} is full \\(\\d+(\\.\\d)? [KM]?B free\\): free some space there .*then run 'brender retry ID'.*\\n$`));

    const payload = { schemaVersion: 1, renderId: "r-full", project: { name: "proj", blendFile: "shot.blend" }, type: "still", frames: "1" };
    const upload = await brender(["worker"], { ...env, JOB_ACTION_TYPE: "upload_render_output", BRENDER_JOB_PAYLOAD: JSON.stringify(payload), BRENDER_LOG_LEVEL: "fatal" });
    assert.equal(upload.code, 1);
    assert.match(upload.stderr, new RegExp(`brender worker: (Could not write ${join(disk, "home", "work")}\\S*: t|T)he disk holding ${join(disk, "home", "work")}\\S* is full`));
  });
});
