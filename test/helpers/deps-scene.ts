import { execFile } from "node:child_process";
import { chmod, rename, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";
import { REPO } from "./blender.ts";

const run = promisify(execFile);

/** A shot whose files live outside its folder (see make_deps_scene.py for the layout). */
export type DepsScene = {
  readonly root: string;
  readonly outside: string;
  readonly show: string;
  readonly blend: string;
};

export async function makeDepsScene(root: string, outside = join(root, "elsewhere")): Promise<DepsScene> {
  const script = join(REPO, "test", "helpers", "make_deps_scene.py");
  await run("blender", ["-b", "--factory-startup", "-noaudio", "--python-exit-code", "1", "--python", script, "--", root, outside]);
  const show = join(root, "show");
  return { root, outside, show, blend: join(show, "shots", "shot.blend") };
}

/** Blender rendering the untouched original: frames `<folder>/f_0001.png`… */
export async function renderDirect(blend: string, folder: string, frames: readonly number[]): Promise<void> {
  await run("blender", ["-b", blend, "-o", join(folder, "f_####"), ...frames.flatMap((frame) => ["-f", String(frame)])]);
}

/**
 * A BLENDER_EXECUTABLE that moves the given folders away (appending ".moved")
 * the first time a render job starts Blender, so the farm renders with the
 * originals gone, after they were inspected and uploaded.
 */
export async function blenderMovingAway(folder: string, originals: readonly string[], options: { readonly keepFramesIn?: string } = {}): Promise<string> {
  const wrapper = join(folder, "blender-moving-originals.sh");
  const moves = originals.map((path) => `  if [ -e '${path}' ]; then mv '${path}' '${path}.moved'; fi`).join("\n");
  // keepFramesIn: a copy of the frames the render wrote (under $BRENDER_HOME/work, which the upload job removes).
  const keep = options.keepFramesIn
    ? `blender "$@"; code=$?\nmkdir -p '${options.keepFramesIn}'; find "$BRENDER_HOME/work" -name 'frame_*.png' -path '*/frames/*' -exec cp {} '${options.keepFramesIn}' \\;\nexit $code\n`
    : `exec blender "$@"\n`;
  // A Blender started ahead of its render (warm_start.py, see src/blender/warm-blender.ts) starts before the upload, too
  // early to move anything: this one refuses to be one, so the render starts its own Blender, which moves them.
  await writeFile(wrapper, `#!/bin/sh\ncase "$*" in *warm_start.py*) exit 1 ;; *render_frames.py*)\n${moves}\n;; esac\n${keep}`);
  await chmod(wrapper, 0o755);
  return wrapper;
}

/** Puts back what blenderMovingAway moved. */
export async function moveBack(originals: readonly string[]): Promise<void> {
  for (const path of originals) await rename(`${path}.moved`, path);
}
