import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { lstat, mkdir, mkdtemp, readFile, readdir, readlink, rm, stat, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, posix } from "node:path";
import { gzipSync } from "node:zlib";
import fc from "fast-check";
import { create as createTar } from "tar";
import { JobFailedError, UserInputError } from "../../src/errors.ts";
import {
  DEFAULT_EXTRACTION_LIMITS,
  UnsafeArchiveError,
  planExtraction,
  type ArchiveEntry,
  type ArchiveRule,
  type ExtractionLimits,
} from "../../src/worker/archive/policy.ts";
import {
  detectArchiveFormat,
  extractArchive,
  isArchiveFileName,
  limitsFromEnvironment,
} from "../../src/worker/archive/extract.ts";
import { buildTar, buildTarGz, buildZip, type TarSpec, type ZipSpec } from "../helpers/archives.ts";

const LIMITS = DEFAULT_EXTRACTION_LIMITS;
const file = (path: string, size = 1): ArchiveEntry => ({ path, type: "file", size });
const dir = (path: string): ArchiveEntry => ({ path, type: "directory", size: 0 });
const link = (path: string, linkTarget: string): ArchiveEntry => ({ path, type: "symlink", size: 0, linkTarget });

function assertRefused(run: () => unknown, entryPath: string, rule: ArchiveRule): void {
  assert.throws(run, (error: unknown) => {
    assert.ok(error instanceof UnsafeArchiveError, `expected UnsafeArchiveError, got ${String(error)}`);
    assert.ok(error instanceof JobFailedError);
    assert.equal(error.exitCode, 1);
    assert.equal(error.rule, rule, error.message);
    assert.equal(error.entryPath, entryPath);
    assert.ok(error.message.includes(`entry ${JSON.stringify(entryPath)}`), error.message);
    assert.ok(!error.message.includes("\n"), "message must be one line");
    return true;
  });
}

describe("planExtraction", () => {
  it("normalizes paths and drops the root and repeated folder entries", () => {
    const plan = planExtraction(
      [dir("./"), dir("./scenes/"), file("./scenes/./shot.blend", 10), dir("scenes"), file("tex//wood.png", 5)],
      LIMITS,
    );
    assert.deepEqual(
      plan.map(({ index, path, type, size }) => ({ index, path, type, size })),
      [
        { index: 1, path: "scenes", type: "directory", size: 0 },
        { index: 2, path: "scenes/shot.blend", type: "file", size: 10 },
        { index: 4, path: "tex/wood.png", type: "file", size: 5 },
      ],
    );
  });

  it("keeps symlinks whose target stays inside, with / as separator", () => {
    const plan = planExtraction([dir("a/b"), link("a/b/up", "../../tex"), link("a/win", "b\\x"), link("self", ".")], LIMITS);
    assert.deepEqual(
      plan.filter((entry) => entry.type === "symlink").map((entry) => [entry.path, entry.linkTarget]),
      [
        ["a/b/up", "../../tex"],
        ["a/win", "b/x"],
        ["self", "."],
      ],
    );
  });

  it("words the refusal as documented", () => {
    assert.throws(
      () => planExtraction([file("../../etc/passwd")], LIMITS, "project.tar.gz"),
      {
        message:
          'Refused to unpack project.tar.gz: entry "../../etc/passwd" would land outside the project folder (entries must stay inside it). Re-create the archive from inside the project folder.',
      },
    );
  });

  const refusals: [string, ArchiveEntry[], string, ArchiveRule][] = [
    ["a parent segment", [file("../evil")], "../evil", "parent-segment"],
    ["a parent segment in the middle", [file("a/../b")], "a/../b", "parent-segment"],
    ["a backslash parent segment", [file("a\\..\\..\\evil")], "a\\..\\..\\evil", "parent-segment"],
    ["a Windows-trimmed parent segment", [file(".. /evil")], ".. /evil", "parent-segment"],
    ["an absolute path", [file("/etc/passwd")], "/etc/passwd", "absolute-path"],
    ["a drive path", [file("C:\\evil")], "C:\\evil", "absolute-path"],
    ["a drive path with /", [file("c:/evil")], "c:/evil", "absolute-path"],
    ["a drive path after ./", [file("./C:evil")], "./C:evil", "absolute-path"],
    ["a UNC path", [file("\\\\server\\share")], "\\\\server\\share", "absolute-path"],
    ["an empty name", [file("")], "", "bad-name"],
    ["a NUL in the name", [file("a\0b")], "a\0b", "bad-name"],
    ["a file named after the root", [file("./")], "./", "bad-name"],
    ["a symlink climbing out", [link("l", "../../outside")], "l", "symlink-outside"],
    ["a nested symlink climbing out", [dir("a"), link("a/l", "../../x")], "a/l", "symlink-outside"],
    ["a symlink to an absolute path", [link("l", "/etc")], "l", "symlink-outside"],
    ["a symlink to a drive", [link("l", "C:\\Windows")], "l", "symlink-outside"],
    ["a symlink with no target", [{ path: "l", type: "symlink", size: 0 }], "l", "bad-name"],
    ["a write through a symlink", [dir("sub"), link("l", "sub"), file("l/f")], "l/f", "through-symlink"],
    ["a write through a later symlink", [file("l/f"), link("l", "sub"), dir("sub")], "l/f", "through-symlink"],
    ["a write through a file", [file("a"), file("a/b")], "a/b", "through-file"],
    ["a hard link", [{ path: "h", type: "hardlink", size: 0, linkTarget: "/etc/passwd" }], "h", "hardlink"],
    ["a device", [{ path: "dev", type: "other", size: 0 }], "dev", "special-file"],
    ["a repeated file", [file("a"), file("./a")], "./a", "duplicate"],
    ["a file repeating a folder", [dir("a"), file("a")], "a", "duplicate"],
    ["a negative size", [file("a", -1)], "a", "bad-size"],
  ];
  for (const [name, entries, entryPath, rule] of refusals) {
    it(`refuses ${name}`, () => assertRefused(() => planExtraction(entries, LIMITS), entryPath, rule));
  }

  it("refuses the first entry past the entry limit", () => {
    const entries = ["a", "b", "c", "d"].map((name) => file(name));
    assert.equal(planExtraction(entries, { ...LIMITS, maxEntries: 4 }).length, 4);
    assertRefused(() => planExtraction(entries, { ...LIMITS, maxEntries: 3 }), "d", "too-many-entries");
  });

  it("refuses the file that takes the declared total past the byte limit", () => {
    const entries = [file("a", 60), dir("d"), file("b", 40), file("c", 1)];
    assert.equal(planExtraction(entries.slice(0, 3), { ...LIMITS, maxTotalBytes: 100 }).length, 3);
    assertRefused(() => planExtraction(entries, { ...LIMITS, maxTotalBytes: 100 }), "c", "too-many-bytes");
  });

  it("accepts only paths and link targets that stay inside the root (property)", () => {
    const segment = fc.constantFrom("a", "b", "..", ".", "", "...", ".. ", "C:", "c:", "x y", "\\", "/");
    const rawPath = fc.array(segment, { minLength: 1, maxLength: 6 }).chain((parts) =>
      fc.constantFrom("/", "\\").map((separator) => parts.join(separator)),
    );
    const entry: fc.Arbitrary<ArchiveEntry> = fc.record({
      path: rawPath,
      type: fc.constantFrom("file", "directory", "symlink", "hardlink", "other"),
      size: fc.nat({ max: 10 }),
      linkTarget: rawPath,
    });
    fc.assert(
      fc.property(fc.array(entry, { maxLength: 8 }), (entries) => {
        let plan;
        try {
          plan = planExtraction(entries, LIMITS);
        } catch (error) {
          if (error instanceof UnsafeArchiveError) return;
          throw error;
        }
        const root = "/root";
        for (const planned of plan) {
          assert.ok(!planned.path.includes("\\") && !planned.path.startsWith("/"), planned.path);
          assert.ok(!planned.path.split("/").some((part) => part === "" || part === "." || part === ".."), planned.path);
          assert.ok(!/^[A-Za-z]:/.test(planned.path), planned.path);
          const landing = posix.resolve(root, planned.path);
          assert.ok(landing.startsWith(`${root}/`), `${planned.path} lands at ${landing}`);
          if (planned.type === "symlink") {
            const target = planned.linkTarget ?? "";
            assert.ok(!target.startsWith("/") && !/^[A-Za-z]:/.test(target), target);
            const pointsTo = posix.resolve(posix.dirname(landing), target);
            assert.ok(pointsTo === root || pointsTo.startsWith(`${root}/`), `${planned.path} -> ${target}`);
          }
        }
      }),
      { numRuns: 2000 },
    );
  });
});

describe("isArchiveFileName", () => {
  it("knows the supported extensions whatever the case", () => {
    for (const name of ["p.tar.gz", "p.TGZ", "p.tar", "P.Zip", "a.b.tar.GZ"]) assert.equal(isArchiveFileName(name), true, name);
    for (const name of ["p.gz", "p.blend", "tar", "p.tar.bz2", "p.zip.txt", "zip"]) assert.equal(isArchiveFileName(name), false, name);
  });
});

describe("limitsFromEnvironment", () => {
  it("falls back to the defaults and reads overrides", () => {
    assert.deepEqual(limitsFromEnvironment({}), DEFAULT_EXTRACTION_LIMITS);
    assert.deepEqual(limitsFromEnvironment({ BRENDER_MAX_UNPACK_BYTES: "1000", BRENDER_MAX_UNPACK_ENTRIES: " 7 " }), {
      maxTotalBytes: 1000,
      maxEntries: 7,
    });
  });

  it("rejects values that are not positive whole numbers", () => {
    for (const bad of ["abc", "-1", "0", "1.5", "1e9"]) {
      assert.throws(() => limitsFromEnvironment({ BRENDER_MAX_UNPACK_BYTES: bad }), (error: unknown) => {
        assert.ok(error instanceof UserInputError);
        assert.ok(error.message.includes("BRENDER_MAX_UNPACK_BYTES") && error.message.includes(JSON.stringify(bad)));
        return true;
      });
    }
  });
});

// ---------------------------------------------------------------------------
// Unpacking for real, each test in a fresh folder:
//   <root>/upload.<ext>   the archive
//   <root>/outside/       must stay empty
//   <root>/jobs/project   the destination

let scratch = "";
before(async () => {
  scratch = await mkdtemp(join(tmpdir(), "brender-archive-test-"));
});
after(async () => {
  await rm(scratch, { recursive: true, force: true });
});

type Sandbox = { root: string; outside: string; dest: string; archive: string };

async function sandbox(archive: Buffer, name = "upload.tar.gz"): Promise<Sandbox> {
  const root = await mkdtemp(join(scratch, "case-"));
  await mkdir(join(root, "outside"));
  await mkdir(join(root, "jobs"));
  await writeFile(join(root, name), archive);
  return { root, outside: join(root, "outside"), dest: join(root, "jobs", "project"), archive: join(root, name) };
}

/** Every path under `root` (without following symlinks), sorted. */
async function tree(root: string): Promise<string[]> {
  const entries = await readdir(root, { recursive: true });
  return entries.sort();
}

async function assertRefusedOnDisk(
  box: Sandbox,
  entryPath: string,
  rule: ArchiveRule,
  limits?: ExtractionLimits,
): Promise<void> {
  const before = await tree(box.root);
  await assert.rejects(extractArchive(box.archive, box.dest, limits ? { limits } : undefined), (error: unknown) => {
    assert.ok(error instanceof UnsafeArchiveError, `expected UnsafeArchiveError, got ${String(error)}`);
    assert.equal(error.rule, rule, error.message);
    assert.ok(error.message.includes(`entry ${JSON.stringify(entryPath)}`), error.message);
    assert.ok(error.message.startsWith("Refused to unpack upload."), error.message);
    return true;
  });
  assert.deepEqual(await readdir(box.outside), [], "nothing may land outside");
  assert.deepEqual(await readdir(join(box.root, "jobs")), [], "no destination and no staging folder may remain");
  assert.deepEqual(await tree(box.root), before);
}

const project: TarSpec[] = [
  { path: "scenes/", type: "directory" },
  { path: "scenes/shot.blend", content: Buffer.from([0, 1, 2, 250, 251, 255]) },
  { path: "scenes/render.sh", content: "#!/bin/sh\necho hi\n", mode: 0o755 },
  { path: "tex/wood/oak.png", content: "x".repeat(70_000) },
  { path: "tex/empty.txt", content: "" },
  { path: "scenes/tex", type: "symlink", linkTarget: "../tex" },
  { path: "latest.blend", type: "symlink", linkTarget: "scenes/shot.blend" },
];

async function assertProjectUnpacked(dest: string): Promise<void> {
  assert.deepEqual(await readFile(join(dest, "scenes/shot.blend")), Buffer.from([0, 1, 2, 250, 251, 255]));
  assert.equal(await readFile(join(dest, "scenes/render.sh"), "utf8"), "#!/bin/sh\necho hi\n");
  assert.equal(await readFile(join(dest, "tex/wood/oak.png"), "utf8"), "x".repeat(70_000));
  assert.equal((await readFile(join(dest, "tex/empty.txt"))).length, 0);
  assert.equal(await readlink(join(dest, "scenes/tex")), "../tex");
  assert.equal(await readFile(join(dest, "scenes/tex/wood/oak.png"), "utf8"), "x".repeat(70_000));
  assert.equal(await readlink(join(dest, "latest.blend")), "scenes/shot.blend");
  assert.ok(((await stat(join(dest, "scenes/render.sh"))).mode & 0o100) !== 0, "executable bit kept");
  assert.equal((await stat(join(dest, "scenes/shot.blend"))).mode & 0o111, 0);
}

describe("extractArchive", () => {
  it("unpacks a tar.gz with nested folders and inside symlinks", async () => {
    const box = await sandbox(buildTarGz(project));
    const result = await extractArchive(box.archive, box.dest);
    await assertProjectUnpacked(box.dest);
    assert.deepEqual(result, { entries: 7, bytes: 6 + 18 + 70_000 });
    assert.deepEqual(await readdir(join(box.root, "jobs")), ["project"], "staging folder renamed away");
  });

  it("unpacks a plain tar into an existing empty folder", async () => {
    const box = await sandbox(buildTar(project), "upload.tar");
    await mkdir(box.dest);
    await extractArchive(box.archive, box.dest);
    await assertProjectUnpacked(box.dest);
  });

  it("unpacks a zip with nested folders and inside symlinks", async () => {
    const zip: ZipSpec[] = [
      { path: "scenes/" },
      { path: "scenes/shot.blend", content: Buffer.from([0, 1, 2, 250, 251, 255]), stored: true },
      { path: "scenes/render.sh", content: "#!/bin/sh\necho hi\n", unixMode: 0o100755 },
      { path: "tex/wood/oak.png", content: "x".repeat(70_000) },
      { path: "tex/empty.txt" },
      { path: "scenes/tex", content: "../tex", unixMode: 0o120777 },
      { path: "latest.blend", content: "scenes/shot.blend", unixMode: 0o120777 },
    ];
    const box = await sandbox(buildZip(zip), "upload.zip");
    const result = await extractArchive(box.archive, box.dest);
    await assertProjectUnpacked(box.dest);
    assert.deepEqual(result, { entries: 7, bytes: 6 + 18 + 70_000 });
  });

  it("unpacks what real tools write (node-tar from inside the folder, Info-ZIP style names)", async () => {
    const source = await mkdtemp(join(scratch, "source-"));
    await mkdir(join(source, "a/b"), { recursive: true });
    await writeFile(join(source, "a/b/c.txt"), "deep");
    await symlink("b/c.txt", join(source, "a/link"));
    const archive = join(scratch, `${source.split("/").pop()}.tgz`);
    await createTar({ gzip: true, file: archive, cwd: source, portable: true }, ["."]);
    const dest = join(source, "..", `${source.split("/").pop()}-out`);
    const result = await extractArchive(archive, dest);
    assert.equal(await readFile(join(dest, "a/b/c.txt"), "utf8"), "deep");
    assert.equal(await readlink(join(dest, "a/link")), "b/c.txt");
    assert.equal(result.bytes, 4);
  });

  it("unpacks an empty zip to an empty folder", async () => {
    const box = await sandbox(buildZip([]), "upload.zip");
    assert.deepEqual(await extractArchive(box.archive, box.dest), { entries: 0, bytes: 0 });
    assert.deepEqual(await readdir(box.dest), []);
  });

  it("goes by content, not by name", async () => {
    const box = await sandbox(buildTarGz([{ path: "a.txt", content: "gz" }]), "upload.zip");
    assert.equal(await detectArchiveFormat(box.archive), "tar.gz");
    await extractArchive(box.archive, box.dest);
    assert.equal(await readFile(join(box.dest, "a.txt"), "utf8"), "gz");
  });

  it("refuses a file that is no supported archive", async () => {
    const box = await sandbox(Buffer.from("BLENDER-v304 not an archive"), "upload.tar.gz");
    await assert.rejects(extractArchive(box.archive, box.dest), (error: unknown) => {
      assert.ok(error instanceof JobFailedError);
      assert.match(error.message, /upload\.tar\.gz: it is not a \.tar\.gz, \.tar or \.zip archive/);
      return true;
    });
    assert.deepEqual(await readdir(join(box.root, "jobs")), []);
  });

  it("refuses a damaged tar.gz without leaving anything behind", async () => {
    const tar = buildTar([{ path: "a.txt", content: "fine" }, { path: "b.txt", content: "cut" }]);
    tar.writeUInt8(tar.readUInt8(512 * 2 + 10) ^ 0xff, 512 * 2 + 10); // the second header's checksum now fails
    const box = await sandbox(gzipSync(tar));
    await assert.rejects(extractArchive(box.archive, box.dest), /upload\.tar\.gz: it is damaged or not a valid \.tar\.gz archive/);
    assert.deepEqual(await readdir(join(box.root, "jobs")), []);
  });

  it("refuses to unpack into a folder that is not empty, leaving it untouched", async () => {
    const box = await sandbox(buildTarGz(project));
    await mkdir(box.dest);
    await writeFile(join(box.dest, "keep.txt"), "mine");
    await assert.rejects(extractArchive(box.archive, box.dest), /already exists and is not an empty folder/);
    assert.deepEqual(await readdir(box.dest), ["keep.txt"]);
    assert.deepEqual(await readdir(join(box.root, "jobs")), ["project"]);
  });

  it("reads the limits from the environment when none are given", async () => {
    const box = await sandbox(buildTarGz([{ path: "a" }, { path: "b" }, { path: "c" }]));
    process.env.BRENDER_MAX_UNPACK_ENTRIES = "2";
    try {
      await assertRefusedOnDisk(box, "c", "too-many-entries");
    } finally {
      delete process.env.BRENDER_MAX_UNPACK_ENTRIES;
    }
  });

  describe("refuses hostile archives, writing nothing", () => {
    const tarCases: [string, () => TarSpec[], string, ArchiveRule][] = [
      ["../evil", () => [{ path: "ok.txt", content: "ok" }, { path: "../evil", content: "x" }], "../evil", "parent-segment"],
      ["../../outside/evil", () => [{ path: "../../outside/evil", content: "x" }], "../../outside/evil", "parent-segment"],
      ["a symlink out", () => [{ path: "l", type: "symlink", linkTarget: "../../outside" }], "l", "symlink-outside"],
      ["a symlink to /etc", () => [{ path: "etc", type: "symlink", linkTarget: "/etc" }], "etc", "symlink-outside"],
      [
        "a write through l -> .",
        () => [
          { path: "l", type: "symlink", linkTarget: "." },
          { path: "l/../../x", content: "x" },
        ],
        "l/../../x",
        "parent-segment",
      ],
      [
        "a write through l -> sub",
        () => [
          { path: "sub/", type: "directory" },
          { path: "l", type: "symlink", linkTarget: "sub" },
          { path: "l/f", content: "x" },
        ],
        "l/f",
        "through-symlink",
      ],
      ["a hard link", () => [{ path: "h", type: "hardlink", linkTarget: "/etc/passwd" }], "h", "hardlink"],
      ["a FIFO", () => [{ path: "ok.txt", content: "ok" }, { path: "pipe", type: "fifo" }], "pipe", "special-file"],
      ["a device", () => [{ path: "tty", type: "chardev" }], "tty", "special-file"],
      ["a dangling symlink", () => [{ path: "l", type: "symlink", linkTarget: "missing.blend" }], "l", "dangling-symlink"],
      [
        "a symlink loop",
        () => [
          { path: "a", type: "symlink", linkTarget: "b" },
          { path: "b", type: "symlink", linkTarget: "a" },
        ],
        "a",
        "symlink-loop",
      ],
      [
        "a symlink chain that climbs out for real",
        () => [
          { path: "a/b/c/", type: "directory" },
          { path: "a/b/c/top", type: "symlink", linkTarget: "../../.." },
          // On paper this is a/b/outside; on disk top/.. is the folder above the project.
          { path: "escape", type: "symlink", linkTarget: "a/b/c/top/../../outside" },
        ],
        "escape",
        "symlink-outside",
      ],
    ];
    for (const [name, specs, entryPath, rule] of tarCases) {
      it(`tar.gz: ${name}`, async () => {
        const box = await sandbox(buildTarGz(specs()));
        await assertRefusedOnDisk(box, entryPath, rule);
      });
    }

    it("tar: an absolute path", async () => {
      const box = await sandbox(Buffer.alloc(0), "upload.tar");
      const evil = join(box.outside, "evil");
      await writeFile(box.archive, buildTar([{ path: evil, content: "x" }]));
      await assertRefusedOnDisk(box, evil, "absolute-path");
    });

    it("tar.gz: too many entries", async () => {
      const specs = Array.from({ length: 5 }, (_, i): TarSpec => ({ path: `f${i}`, content: "x" }));
      const box = await sandbox(buildTarGz(specs));
      await assertRefusedOnDisk(box, "f3", "too-many-entries", { ...LIMITS, maxEntries: 3 });
    });

    it("tar.gz: too many bytes", async () => {
      const box = await sandbox(buildTarGz([{ path: "a", content: "x".repeat(60) }, { path: "b", content: "y".repeat(60) }]));
      await assertRefusedOnDisk(box, "b", "too-many-bytes", { ...LIMITS, maxTotalBytes: 100 });
    });

    const zipCases: [string, ZipSpec[], string, ArchiveRule][] = [
      ["C:\\evil", [{ path: "C:\\evil", content: "x" }], "C:\\evil", "absolute-path"],
      ["..\\evil", [{ path: "ok.txt", content: "ok" }, { path: "..\\evil", content: "x" }], "..\\evil", "parent-segment"],
      ["../evil", [{ path: "../evil", content: "x" }], "../evil", "parent-segment"],
      ["/abs", [{ path: "/tmp/evil", content: "x" }], "/tmp/evil", "absolute-path"],
      ["a symlink out", [{ path: "l", content: "../../outside", unixMode: 0o120777 }], "l", "symlink-outside"],
      ["a FIFO", [{ path: "pipe", unixMode: 0o010644 }], "pipe", "special-file"],
      [
        "a write through a symlink",
        [
          { path: "l", content: "sub", unixMode: 0o120777 },
          { path: "sub/" },
          { path: "l/f", content: "x" },
        ],
        "l/f",
        "through-symlink",
      ],
      [
        "a deflated entry bigger than declared",
        [{ path: "ok.txt", content: "fine" }, { path: "bomb.bin", content: Buffer.alloc(200_000), declaredSize: 10 }],
        "bomb.bin",
        "size-mismatch",
      ],
      [
        "a stored entry bigger than declared",
        [{ path: "bomb.bin", content: Buffer.alloc(5_000), declaredSize: 10, stored: true }],
        "bomb.bin",
        "size-mismatch",
      ],
    ];
    for (const [name, specs, entryPath, rule] of zipCases) {
      it(`zip: ${name}`, async () => {
        const box = await sandbox(buildZip(specs), "upload.zip");
        await assertRefusedOnDisk(box, entryPath, rule);
      });
    }

    it("zip: real bytes past the limit even though every size is declared small", async () => {
      const specs: ZipSpec[] = [
        { path: "a.bin", content: Buffer.alloc(60), declaredSize: 60 },
        { path: "b.bin", content: Buffer.alloc(60_000), declaredSize: 30 },
      ];
      const box = await sandbox(buildZip(specs), "upload.zip");
      await assertRefusedOnDisk(box, "b.bin", "size-mismatch", { ...LIMITS, maxTotalBytes: 100 });
    });
  });

  it("leaves a symlink in the destination as a symlink (never followed while writing)", async () => {
    const box = await sandbox(buildTarGz([{ path: "l", type: "symlink", linkTarget: "d" }, { path: "d/", type: "directory" }]));
    await extractArchive(box.archive, box.dest);
    assert.ok((await lstat(join(box.dest, "l"))).isSymbolicLink());
    assert.deepEqual(await readdir(box.outside), []);
  });
});

