import { describe, it } from "node:test";
import assert from "node:assert/strict";
import {
  DEPENDENCY_MAP_PATH, dependencyMap, describeMissing, isInside, isMissing, manifestPathOf, type TracedDependency,
} from "../../src/domain/dependencies.ts";
import { manifestPathProblem } from "../../src/storage/project-manifest.ts";
import { notInUpload } from "../../src/packing/upload-check.ts";

const dependency = (fields: Partial<TracedDependency>): TracedDependency => ({
  kind: "image", owner: 'Image "t.png"', library: null, path: "//t.png", resolved: "/p/t.png",
  folder: false, packed: false, files: ["/p/t.png"], missing: [], ...fields,
});

describe("dependencies: where each file goes in the uploaded project", () => {
  it("keeps files inside the project at their place and puts the rest under _external/ at their absolute path", () => {
    assert.equal(manifestPathOf("/p/shots/tex/a.png", "/p/shots"), "tex/a.png");
    assert.equal(manifestPathOf("/p/tex/a.png", "/p/shots"), "_external/p/tex/a.png");
    assert.equal(manifestPathOf("/p/shotsX/a.png", "/p/shots"), "_external/p/shotsX/a.png", "a sibling with the same start is outside");
    assert.equal(manifestPathOf("C:\\Textures\\wood.png", "/p"), "_external/C/Textures/wood.png");
    assert.equal(manifestPathOf("c:/Textures/wood.png", "/p"), "_external/C/Textures/wood.png");
    assert.equal(manifestPathOf("\\\\server\\share\\t.png", "/p"), "_external/UNC/server/share/t.png");
    assert.equal(manifestPathOf("/p/udim/tile.<UDIM>.png", "/q"), "_external/p/udim/tile.<UDIM>.png");
    for (const path of ["/a/b c/ü.png", "C:\\x\\y.png", "/p/tex/a.png"]) assert.equal(manifestPathProblem(manifestPathOf(path, "/p/shots")), undefined, path);
    assert.ok(isInside("/p", "/p") && isInside("/p/a", "/p/") && !isInside("/pa", "/p"));
  });

  it("calls a dependency missing when a file it needs is absent or it found none; packed ones never", () => {
    assert.equal(isMissing(dependency({})), false);
    assert.equal(isMissing(dependency({ files: [], missing: ["/p/t.png"] })), true);
    assert.equal(isMissing(dependency({ kind: "image", files: ["/p/t.1001.png"], missing: ["/p/t.1002.png"] })), true, "one UDIM tile gone");
    assert.equal(isMissing(dependency({ files: [], missing: ["/p/t.png"], packed: true })), false);
    assert.equal(isMissing(dependency({ kind: "point_cache", folder: true, files: [], missing: [] })), false, "a disk cache not baked yet");
    assert.match(describeMissing(dependency({ library: "/lib/l.blend", files: [], missing: ["/lib/t.png"], resolved: "/lib/t.png" })), /^image Image "t.png" in library \/lib\/l.blend: \/lib\/t.png \(written "\/\/t.png"\)$/);
  });

  it("maps each traced path, by the file writing it and the path as written, to its copy; packed and missing ones are left out", () => {
    const map = dependencyMap([
      dependency({ path: "//../tex/a.png", resolved: "/p/tex/a.png", files: ["/p/tex/a.png"] }),
      dependency({ library: "/p/lib/l.blend", path: "//t.png", resolved: "/p/lib/t.png", files: ["/p/lib/t.png"] }),
      dependency({ path: "//gone.png", resolved: "/p/shots/gone.png", files: [], missing: ["/p/shots/gone.png"] }),
      dependency({ path: "//packed.png", packed: true, files: [] }),
    ], "/p/shots");
    assert.deepEqual(map, {
      schemaVersion: 1,
      entries: [
        { library: null, path: "//../tex/a.png", resolved: "/p/tex/a.png", target: "_external/p/tex/a.png" },
        { library: "/p/lib/l.blend", path: "//t.png", resolved: "/p/lib/t.png", target: "_external/p/lib/t.png" },
      ],
    });
    assert.equal(manifestPathProblem(DEPENDENCY_MAP_PATH), undefined);
  });

  it("says which files an upload lacks: missing, or outside what was uploaded", () => {
    const lacking = notInUpload([
      dependency({ resolved: "/up/proj/t.png", files: ["/up/proj/t.png"] }),
      dependency({ owner: 'Image "abs.png"', path: "/etc/abs.png", resolved: "/etc/abs.png", files: ["/etc/abs.png"] }),
      dependency({ owner: 'Image "up.png"', path: "//../up.png", resolved: "/up/up.png", files: [], missing: ["/up/up.png"] }),
      dependency({ owner: 'Image "gone.png"', path: "//gone.png", resolved: "/up/proj/gone.png", files: [], missing: ["/up/proj/gone.png"] }),
    ], "/up/proj");
    assert.deepEqual(lacking.map((item) => [item.owner, item.reason]), [
      ['Image "abs.png"', "outside the upload"],
      ['Image "up.png"', "outside the upload"],
      ['Image "gone.png"', "missing"],
    ]);
  });
});
