/**
 * Today's code for the pipeline benchmark: a git ref checked out with `git
 * worktree add` into a temp folder, node_modules hard-linked from this
 * repository, built with tsc only (no web UI), and kept between runs (a
 * marker file says the build is whole).
 */
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";

const run = promisify(execFile);
const BUILT_MARKER = ".bench-built";

/** The `brender` executable of `ref`'s code, building it the first time. */
export async function baselineBin(repo: string, ref: string, log: (line: string) => void): Promise<{ readonly bin: string; readonly commit: string }> {
  const commit = (await run("git", ["-C", repo, "rev-parse", "--verify", `${ref}^{commit}`])).stdout.trim();
  const dir = join(tmpdir(), `brender-bench-base-${commit.slice(0, 12)}`);
  const bin = join(dir, "bin", "brender");
  if (existsSync(join(dir, BUILT_MARKER))) return { bin, commit };
  log(`building the baseline ${ref} (${commit.slice(0, 12)}) in ${dir} (once; kept for later runs)`);
  // A half-made earlier attempt: remove it and its worktree record.
  await rm(dir, { recursive: true, force: true });
  await run("git", ["-C", repo, "worktree", "prune"]);
  await run("git", ["-C", repo, "worktree", "add", "--detach", dir, commit]);
  await run("cp", ["-al", join(repo, "node_modules"), join(dir, "node_modules")]);
  await run(process.execPath, [join(dir, "node_modules", "typescript", "bin", "tsc"), "-p", "tsconfig.build.json"], { cwd: dir });
  await run(process.execPath, [join(dir, "scripts", "copy-assets.mjs")], { cwd: dir });
  await writeFile(join(dir, BUILT_MARKER), `${commit}\n`);
  return { bin, commit };
}
