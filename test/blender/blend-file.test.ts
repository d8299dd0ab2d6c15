import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdir, mkdtemp, open, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { constants, gzipSync, zstdCompressSync } from "node:zlib";
import fc from "fast-check";
import sharp from "sharp";
import { checkBlendFile, readBlendHeader } from "../../src/blender/blend-file.ts";
import { UserInputError } from "../../src/errors.ts";

const run = promisify(execFile);

let dir = "";
let fixture = 0;

/** Writes bytes to a fresh file in the test's temp dir and returns its path. */
async function write(bytes: Buffer | string, name = `fixture-${++fixture}.blend`): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, bytes);
  return path;
}

/** Asserts a one-line UserInputError that names the file and matches `pattern`. */
async function rejectsWith(promise: Promise<unknown>, path: string, pattern: RegExp): Promise<void> {
  await assert.rejects(promise, (error: unknown) => {
    assert.ok(error instanceof UserInputError, `expected UserInputError, got ${String(error)}`);
    assert.match(error.message, pattern);
    assert.ok(error.message.includes(`"${path}"`), `message should name the file: ${error.message}`);
    assert.ok(!error.message.includes("\n"), "message should be one line");
    assert.equal(error.exitCode, 2);
    return true;
  });
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

// --- Synthetic .blend files ------------------------------------------------

type Block = { code: string; data: Buffer };
type Layout = { pointerSize: 4 | 8; endianness: "little" | "big"; large: boolean };
type Built = { bytes: Buffer; blockStarts: number[]; endbStart: number };

function blockHeader(layout: Layout, code: string, length: number): Buffer {
  const size = layout.large ? 32 : layout.pointerSize === 4 ? 20 : 24;
  const bhead = Buffer.alloc(size);
  bhead.write(code, 0, 4, "latin1");
  const le = layout.endianness === "little";
  if (layout.large) {
    // LargeBHead8: code, int32 SDNAnr, uint64 old, int64 len, int64 nr.
    bhead.writeInt32LE(7, 4);
    bhead.writeBigUInt64LE(0x7ffe1234n, 8);
    bhead.writeBigInt64LE(BigInt(length), 16);
    bhead.writeBigInt64LE(1n, 24);
    return bhead;
  }
  const int32 = (value: number, at: number) => (le ? bhead.writeInt32LE(value, at) : bhead.writeInt32BE(value, at));
  int32(length, 4);
  if (layout.pointerSize === 4) int32(0x1234, 8);
  else if (le) bhead.writeBigUInt64LE(0x7ffe1234n, 8);
  else bhead.writeBigUInt64BE(0x7ffe1234n, 8);
  int32(7, size - 8);
  int32(1, size - 4);
  return bhead;
}

function buildBlend(fileHeader: string, layout: Layout, blocks: Block[]): Built {
  const parts: Buffer[] = [Buffer.from(fileHeader, "latin1")];
  let at = parts[0]!.length;
  const blockStarts: number[] = [];
  for (const block of blocks) {
    blockStarts.push(at);
    const bhead = blockHeader(layout, block.code, block.data.length);
    parts.push(bhead, block.data);
    at += bhead.length + block.data.length;
  }
  parts.push(blockHeader(layout, "ENDB", 0));
  return { bytes: Buffer.concat(parts), blockStarts, endbStart: at };
}

// Lengths above 255 so that reading them with the wrong byte order cannot pass.
const sampleBlocks: Block[] = [
  { code: "REND", data: Buffer.alloc(72, 1) },
  { code: "SC\0\0", data: Buffer.alloc(300, 2) },
  { code: "DATA", data: Buffer.alloc(1000, 3) },
];

const legacy32Little = buildBlend("BLENDER_v279", { pointerSize: 4, endianness: "little", large: false }, sampleBlocks);
const legacy64Big = buildBlend("BLENDER-V304", { pointerSize: 8, endianness: "big", large: false }, sampleBlocks);
const legacy32Big = buildBlend("BLENDER_V249", { pointerSize: 4, endianness: "big", large: false }, sampleBlocks);
const format1 = buildBlend("BLENDER17-01v0500", { pointerSize: 8, endianness: "little", large: true }, sampleBlocks);

before(async () => {
  dir = await mkdtemp(join(tmpdir(), "brender-blend-file-"));
});

after(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("real files saved by Blender 3.4", () => {
  let plain = "";
  let zstd = "";
  let gzip = "";
  let plainSize = 0;

  before(async () => {
    plain = join(dir, "plain.blend");
    zstd = join(dir, "zstd.blend");
    const script = [
      "import bpy",
      `bpy.ops.wm.save_as_mainfile(filepath=${JSON.stringify(plain)}, compress=False)`,
      `bpy.ops.wm.save_as_mainfile(filepath=${JSON.stringify(zstd)}, compress=True)`,
    ].join("; ");
    await run("blender", ["-b", "--factory-startup", "--python-expr", script], { timeout: 120_000 });
    const bytes = await readFile(plain);
    plainSize = bytes.length;
    gzip = await write(gzipSync(bytes), "gzip.blend");
  });

  it("reads the header of an uncompressed file", async () => {
    assert.deepEqual(await readBlendHeader(plain), {
      version: "3.4",
      major: 3,
      minor: 4,
      pointerSize: 8,
      endianness: "little",
      compression: "none",
      formatVersion: 0,
    });
  });

  it("walks every block of an uncompressed file to ENDB", async () => {
    const result = await checkBlendFile(plain);
    assert.equal(result.header.version, "3.4");
    assert.equal(result.bytes, plainSize);
    assert.ok(result.blocks > 100, `expected many blocks, got ${result.blocks}`);
  });

  it("detects zstd and walks the same blocks as the uncompressed save", async () => {
    const header = await readBlendHeader(zstd);
    assert.equal(header.compression, "zstd");
    assert.equal(header.version, "3.4");
    assert.ok((await stat(zstd)).size < plainSize, "Blender should really have compressed it");
    const expected = await checkBlendFile(plain);
    const result = await checkBlendFile(zstd);
    // Blender writes many zstd frames; stopping after the first would fall far short.
    assert.equal(result.bytes, expected.bytes);
    assert.equal(result.blocks, expected.blocks);
  });

  it("detects gzip (Blender < 3.0) and walks the same blocks", async () => {
    const header = await readBlendHeader(gzip);
    assert.equal(header.compression, "gzip");
    assert.equal(header.version, "3.4");
    const expected = await checkBlendFile(plain);
    const result = await checkBlendFile(gzip);
    assert.equal(result.bytes, expected.bytes);
    assert.equal(result.blocks, expected.blocks);
  });

  it("reports an uncompressed file cut at several points as truncated", async () => {
    const bytes = await readFile(plain);
    const cuts: Array<[number, RegExp]> = [
      [7, /is truncated: it ends inside the file header at byte 7;/],
      [20, /is truncated: it ends inside the header of block 1 at byte 20;/],
      [Math.floor(bytes.length / 2), /is truncated: it ends inside (the header of )?block \d+ .*at byte \d+; the file is incomplete/],
      [bytes.length - 24, /is truncated: it ends after block \d+ at byte \d+, before the ENDB end marker;/],
      [bytes.length - 1, /is truncated: it ends inside the header of block \d+ at byte \d+;/],
    ];
    for (const [cut, pattern] of cuts) {
      const path = await write(bytes.subarray(0, cut));
      await rejectsWith(checkBlendFile(path), path, pattern);
      if (cut >= 12) assert.equal((await readBlendHeader(path)).version, "3.4");
    }
  });

  it("reports a cut zstd file as truncated, at a decompressed byte", async () => {
    const bytes = await readFile(zstd);
    const path = await write(bytes.subarray(0, Math.floor(bytes.length / 2)));
    await rejectsWith(
      checkBlendFile(path),
      path,
      /is truncated \(its zstd data ends early\): it ends .* at byte \d+ of the decompressed data/,
    );
  });

  it("reports a cut gzip file as truncated", async () => {
    const bytes = await readFile(gzip);
    const path = await write(bytes.subarray(0, Math.floor(bytes.length / 2)));
    await rejectsWith(checkBlendFile(path), path, /is truncated \(its gzip data ends early\)/);
  });

  it("reports a damaged zstd stream as corrupt", async () => {
    const bytes = Buffer.from(await readFile(zstd));
    bytes.fill(0xff, 20, 36); // inside the first compressed block
    const path = await write(bytes);
    await rejectsWith(checkBlendFile(path), path, /has corrupt zstd-compressed data \(.+\) after \d+ decompressed bytes; the file is damaged/);
  });

  it("reports damage caught only by the zstd checksum as corrupt", async () => {
    const compressed = zstdCompressSync(await readFile(plain), { params: { [constants.ZSTD_c_checksumFlag]: 1 } });
    assert.equal(await checkBlendFile(await write(compressed)).then((r) => r.bytes), plainSize);
    const damaged = Buffer.from(compressed);
    const middle = Math.floor(damaged.length / 2);
    damaged.writeUInt8(damaged.readUInt8(middle) ^ 0x55, middle);
    const path = await write(damaged);
    await rejectsWith(checkBlendFile(path), path, /has corrupt zstd-compressed data/);
  });

  it("reports a damaged gzip stream as corrupt", async () => {
    const bytes = Buffer.from(await readFile(gzip));
    bytes.fill(0x00, 100, 400);
    const path = await write(bytes);
    await rejectsWith(checkBlendFile(path), path, /has corrupt gzip-compressed data/);
  });
});

describe("synthetic headers and block streams", () => {
  const cases: Array<[string, Built, Partial<Awaited<ReturnType<typeof readBlendHeader>>>]> = [
    ["32-bit little-endian 2.79", legacy32Little, { version: "2.79", major: 2, minor: 79, pointerSize: 4, endianness: "little", formatVersion: 0 }],
    ["64-bit big-endian 3.4", legacy64Big, { version: "3.4", pointerSize: 8, endianness: "big", formatVersion: 0 }],
    ["32-bit big-endian 2.49", legacy32Big, { version: "2.49", pointerSize: 4, endianness: "big", formatVersion: 0 }],
    ["format 1 (Blender 5.0)", format1, { version: "5.0", major: 5, minor: 0, pointerSize: 8, endianness: "little", formatVersion: 1 }],
  ];

  for (const [name, built, expected] of cases) {
    it(`parses and walks a ${name} file`, async () => {
      const path = await write(built.bytes);
      const header = await readBlendHeader(path);
      assert.deepEqual(header, { ...header, ...expected, compression: "none" });
      assert.deepEqual(await checkBlendFile(path), { header, blocks: sampleBlocks.length, bytes: built.bytes.length });
    });
  }

  it("walks a format 1 file compressed as a single zstd frame", async () => {
    const path = await write(zstdCompressSync(format1.bytes));
    const result = await checkBlendFile(path);
    assert.equal(result.header.compression, "zstd");
    assert.equal(result.header.formatVersion, 1);
    assert.equal(result.bytes, format1.bytes.length);
  });

  it("says where a file is cut: header, block header, block data, before ENDB", async () => {
    const { bytes, blockStarts, endbStart } = legacy64Big;
    const second = blockStarts[1]!;
    const cuts: Array<[number, string]> = [
      [5, "it ends inside the file header at byte 5;"],
      [12, "it ends right after the file header at byte 12, before the ENDB end marker;"],
      [second + 10, `it ends inside the header of block 2 at byte ${second + 10};`],
      [second + 24 + 100, `it ends inside block 2 (code "SC", 300 bytes) at byte ${second + 124};`],
      [endbStart, `it ends after block 3 at byte ${endbStart}, before the ENDB end marker;`],
    ];
    for (const [cut, message] of cuts) {
      const path = await write(bytes.subarray(0, cut));
      await rejectsWith(checkBlendFile(path), path, new RegExp(`is truncated: ${escapeRegExp(message)}`));
    }
  });

  it("reports a format 1 file cut inside its 17-byte header as truncated at the right byte", async () => {
    // Regression: the first 12 header bytes were a view into the reader's buffer,
    // which the read of the last 5 bytes shifted, so "BLENDER" read as "vLENDER".
    for (const cut of [13, 14, 15, 16]) {
      const path = await write(format1.bytes.subarray(0, cut));
      await rejectsWith(checkBlendFile(path), path, new RegExp(`it ends inside the file header at byte ${cut};`));
    }
  });

  it("reports every cut of a valid file as truncated", async () => {
    for (const built of [legacy32Little, legacy64Big, format1]) {
      await fc.assert(
        fc.asyncProperty(fc.integer({ min: 1, max: built.bytes.length - 1 }), async (cut) => {
          const path = await write(built.bytes.subarray(0, cut), "cut.blend");
          await rejectsWith(checkBlendFile(path), path, /is truncated: it ends .* at byte \d+/);
        }),
        { numRuns: 60 },
      );
    }
  });

  it("skips block data without reading it: a sparse 5 GB block checks instantly", async () => {
    const layout: Layout = { pointerSize: 8, endianness: "little", large: true };
    const length = 5 * 1024 ** 3; // beyond int32: only format 1 can hold it
    const path = join(dir, "huge.blend");
    const handle = await open(path, "w");
    try {
      await handle.write(Buffer.concat([Buffer.from("BLENDER17-01v0500", "latin1"), blockHeader(layout, "DATA", length)]), 0, 49, 0);
      await handle.write(blockHeader(layout, "ENDB", 0), 0, 32, 49 + length);
    } finally {
      await handle.close();
    }
    const started = Date.now();
    assert.deepEqual(await checkBlendFile(path).then(({ blocks, bytes }) => ({ blocks, bytes })), { blocks: 1, bytes: 49 + length + 32 });
    assert.ok(Date.now() - started < 2000, "the 5 GB block should be skipped, not read");
    await rm(path);
  });

  it("reads the header of a file cut just after it", async () => {
    const path = await write(format1.bytes.subarray(0, 17));
    assert.equal((await readBlendHeader(path)).version, "5.0");
    await rejectsWith(checkBlendFile(path), path, /right after the file header at byte 17/);
  });

  it("rejects headers it does not know", async () => {
    for (const header of ["BLENDER17-02v0600", "BLENDER18-01v0500", "BLENDER-x304", "BLENDER-vA04", "BLENDERxyz12345"]) {
      const path = await write(Buffer.concat([Buffer.from(header, "latin1"), Buffer.alloc(40)]));
      await rejectsWith(readBlendHeader(path), path, /has an unsupported header ".*"; it may come from a newer Blender/);
    }
  });

  it("rejects a block with a negative length as corrupt", async () => {
    const layout: Layout = { pointerSize: 8, endianness: "little", large: false };
    const bytes = Buffer.concat([Buffer.from("BLENDER-v304", "latin1"), blockHeader(layout, "DATA", -5)]);
    const path = await write(bytes);
    await rejectsWith(checkBlendFile(path), path, /is corrupt: block 1 at byte 12 \(code "DATA"\) has an impossible length -5/);
  });

  it("rejects a block whose code is not text as corrupt", async () => {
    const layout: Layout = { pointerSize: 8, endianness: "little", large: false };
    const bytes = Buffer.concat([Buffer.from("BLENDER-v304", "latin1"), blockHeader(layout, "\xff\x01\0\0", 8), Buffer.alloc(8)]);
    const path = await write(bytes);
    await rejectsWith(checkBlendFile(path), path, /is corrupt: block 1 at byte 12 has an invalid block code bytes ff 01 00 00/);
  });
});

describe("files that are not .blend files", () => {
  it("says a PNG starts with PNG data", async () => {
    const png = await sharp({ create: { width: 4, height: 4, channels: 3, background: "#ff0000" } }).png().toBuffer();
    const path = await write(png, "image.blend");
    await rejectsWith(readBlendHeader(path), path, /is not a \.blend file \(it starts with PNG image data\); pass a file saved by Blender/);
    await rejectsWith(checkBlendFile(path), path, /starts with PNG image data/);
  });

  it("quotes the start of a text file", async () => {
    const path = await write("hello world\n");
    await rejectsWith(readBlendHeader(path), path, /it starts with text "hello world/);
  });

  it("looks inside compressed data", async () => {
    const path = await write(zstdCompressSync(Buffer.from("just some text")));
    await rejectsWith(readBlendHeader(path), path, /it is zstd-compressed and its content starts with text "just some te/);
    const empty = await write(gzipSync(Buffer.alloc(0)));
    await rejectsWith(readBlendHeader(empty), empty, /it is gzip-compressed but holds no data/);
  });

  it("rejects an empty file", async () => {
    const path = await write(Buffer.alloc(0));
    await rejectsWith(readBlendHeader(path), path, /is empty \(0 bytes\)/);
    await rejectsWith(checkBlendFile(path), path, /is empty/);
  });

  it("rejects a missing path", async () => {
    const path = join(dir, "missing.blend");
    await rejectsWith(readBlendHeader(path), path, /does not exist; check the path/);
    await rejectsWith(checkBlendFile(path), path, /does not exist/);
    const under = join(dir, "missing-dir", "scene.blend");
    await rejectsWith(checkBlendFile(under), under, /does not exist/);
  });

  it("rejects a directory", async () => {
    const path = join(dir, "scene.blend");
    await mkdir(path);
    await rejectsWith(readBlendHeader(path), path, /is a directory, not a \.blend file/);
    await rejectsWith(checkBlendFile(path), path, /is a directory/);
  });
});
