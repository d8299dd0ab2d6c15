/** The add-on's pure parts (URLs, wording, frames, upload layout, settings) tested with plain Python, no Blender. */
import { it } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { REPO } from "../helpers/blender.ts";

it("the add-on's Python unit tests pass with plain python3", () => {
  const folder = join(REPO, "test", "addon", "python");
  const result = spawnSync("python3", ["-m", "unittest", "discover", "-s", folder, "-p", "test_*.py", "-v"], { cwd: folder, encoding: "utf8" });
  assert.equal(result.status, 0, `${result.stdout}\n${result.stderr}`);
  assert.match(result.stderr, /^Ran \d+ tests/m);
  assert.doesNotMatch(result.stderr, /Ran 0 tests/);
});
