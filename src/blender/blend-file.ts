/**
 * Reads and checks .blend files without starting Blender, so a truncated or
 * mislabelled upload is rejected before a render node spends time on it.
 *
 * Layout, as found in Blender's source (blenloader_core/BLO_core_blend_header.hh,
 * BLO_core_bhead.hh and blo_core_blend_header.cc, BLO_readfile_blender_header_decode):
 * - BLEND_FILE_FORMAT_VERSION_0 (Blender <= 4.x): a 12-byte header, "BLENDER",
 *   then '_' (4-byte pointers, BHead4) or '-' (8-byte pointers, SmallBHead8),
 *   then 'v' (little endian) or 'V' (big endian), then 3 ASCII digits ("304" = 3.4).
 *   BHead4 = code[4], int32 len, uint32 old, int32 SDNAnr, int32 nr (20 bytes);
 *   SmallBHead8 = code[4], int32 len, uint64 old, int32 SDNAnr, int32 nr (24 bytes).
 * - BLEND_FILE_FORMAT_VERSION_1 (Blender 5.0+): a 17-byte header, "BLENDER",
 *   "17" (the header size), '-', "01" (the format version), 'v' (always little
 *   endian), then 4 ASCII digits ("0500" = 5.0). Block headers are always
 *   LargeBHead8 = code[4], int32 SDNAnr, uint64 old, int64 len, int64 nr (32 bytes).
 * Each block header is followed by `len` bytes of data; the block with code
 * "ENDB" ends the file.
 *
 * Whole-file compression: gzip (Blender < 3.0) or zstd (Blender >= 3.0). Blender
 * writes zstd as many independent frames plus a seek-table skippable frame,
 * and Node's zstd decoder stops after the first frame (nodejs/node#64741), so
 * this module splits the compressed stream into frames itself (RFC 8878 §3.1)
 * and decodes each with a fresh decoder.
 */
import { createReadStream } from "node:fs";
import { open, stat } from "node:fs/promises";
import type { FileHandle } from "node:fs/promises";
import { once } from "node:events";
import { pipeline } from "node:stream";
import { createGunzip, createZstdDecompress } from "node:zlib";
import type { ZstdDecompress } from "node:zlib";
import { UserInputError } from "../errors.ts";

export type BlendHeader = {
  /** "3.4", "5.0": major.minor as Blender writes it (2.80 is "2.80"). */
  version: string;
  major: number;
  minor: number;
  pointerSize: 4 | 8;
  endianness: "little" | "big";
  compression: "none" | "gzip" | "zstd";
  formatVersion: 0 | 1;
};

type Compression = BlendHeader["compression"];

const LEGACY_HEADER_SIZE = 12;
const LARGE_HEADER_SIZE = 17;
const READ_CHUNK_SIZE = 1 << 20;
const FIX_DAMAGED = "the file is damaged, copy or save it again";
const FIX_INCOMPLETE = "the file is incomplete, copy or save it again";

/**
 * Reads the header of a .blend file (decompressing only its first bytes).
 * Throws UserInputError when the path is missing, a directory, empty, not a
 * .blend file, too short to hold a header, or has a header this code does not know.
 */
export async function readBlendHeader(path: string): Promise<BlendHeader> {
  const source = await openBlendSource(path);
  try {
    return (await readHeader(path, source)).header;
  } finally {
    await source.reader.close();
  }
}

/**
 * Streams the whole (decompressed) file and walks every block header up to
 * ENDB, skipping block data, so memory stays constant however large the file.
 * `blocks` counts the blocks before ENDB; `bytes` is the decompressed size up
 * to and including the ENDB block header.
 * Throws UserInputError as readBlendHeader does, and when the file is
 * truncated, its compressed data is corrupt or a block header is invalid.
 */
export async function checkBlendFile(path: string): Promise<{ header: BlendHeader; blocks: number; bytes: number }> {
  const source = await openBlendSource(path);
  try {
    const { header, size } = await readHeader(path, source);
    const walk = await walkBlocks(source.reader, header, size);
    const where = source.compression === "none" ? "" : " of the decompressed data";
    if (walk.kind === "truncated") {
      throw new UserInputError(
        `Blend file "${path}" is truncated${endsEarly(source)}: it ends ${walk.where} at byte ${walk.at}${where}${walk.missing ?? ""}; ${FIX_INCOMPLETE}.`,
      );
    }
    if (walk.kind === "invalid") {
      throw new UserInputError(
        `Blend file "${path}" is corrupt: block ${walk.block} at byte ${walk.at}${where} ${walk.problem}; ${FIX_DAMAGED}.`,
      );
    }
    if (source.compression !== "none") {
      // Read on to the end of the compressed stream so the decoder checks its
      // checksum (gzip's CRC, zstd's optional one): that catches damage inside
      // block data, which the walk skips. What follows ENDB is decompressed but not interpreted.
      await source.reader.skip(Number.MAX_SAFE_INTEGER);
    }
    return { header, blocks: walk.blocks, bytes: walk.bytes };
  } catch (error) {
    throw asUserError(path, source, error);
  } finally {
    await source.reader.close();
  }
}

// ---------------------------------------------------------------------------
// Header parsing (pure)

type ParsedHeader = Omit<BlendHeader, "compression">;

type HeaderParse =
  | { kind: "ok"; header: ParsedHeader; size: number }
  | { kind: "short" }
  | { kind: "unsupported" }
  | { kind: "not-blend" };

const MAGIC = Buffer.from("BLENDER", "latin1");

function isDigit(byte: number | undefined): boolean {
  return byte !== undefined && byte >= 0x30 && byte <= 0x39;
}

function digits(bytes: Buffer, start: number, count: number): number | undefined {
  for (let i = start; i < start + count; i++) if (!isDigit(bytes[i])) return undefined;
  return Number(bytes.toString("latin1", start, start + count));
}

/** Bytes that start a format-1 header, so 5 more must be read after the first 12. */
function looksLikeLargeHeader(bytes: Buffer): boolean {
  return bytes.length >= 8 && bytes.subarray(0, 7).equals(MAGIC) && isDigit(bytes[7]);
}

function parseHeader(bytes: Buffer): HeaderParse {
  const prefix = bytes.subarray(0, MAGIC.length);
  if (!MAGIC.subarray(0, prefix.length).equals(prefix)) return { kind: "not-blend" };
  if (bytes.length < LEGACY_HEADER_SIZE) return { kind: "short" };
  const pointerChar = bytes[7];
  if (pointerChar === 0x5f /* _ */ || pointerChar === 0x2d /* - */) {
    const endianChar = bytes[8];
    const version = digits(bytes, 9, 3);
    if ((endianChar !== 0x76 /* v */ && endianChar !== 0x56) /* V */ || version === undefined) {
      return { kind: "unsupported" };
    }
    return {
      kind: "ok",
      size: LEGACY_HEADER_SIZE,
      header: {
        ...splitVersion(version),
        pointerSize: pointerChar === 0x5f ? 4 : 8,
        endianness: endianChar === 0x76 ? "little" : "big",
        formatVersion: 0,
      },
    };
  }
  if (digits(bytes, 7, 2) !== LARGE_HEADER_SIZE) return { kind: "unsupported" };
  if (bytes.length < LARGE_HEADER_SIZE) return { kind: "short" };
  const version = digits(bytes, 13, 4);
  if (bytes[9] !== 0x2d || digits(bytes, 10, 2) !== 1 || bytes[12] !== 0x76 || version === undefined) {
    return { kind: "unsupported" };
  }
  return {
    kind: "ok",
    size: LARGE_HEADER_SIZE,
    header: { ...splitVersion(version), pointerSize: 8, endianness: "little", formatVersion: 1 },
  };
}

/** BLENDER_FILE_VERSION is major * 100 + minor: 304 is 3.4, 280 is 2.80, 500 is 5.0. */
function splitVersion(fileVersion: number): { version: string; major: number; minor: number } {
  const major = Math.floor(fileVersion / 100);
  const minor = fileVersion % 100;
  return { version: `${major}.${minor}`, major, minor };
}

function compressionOf(magic: Buffer): Compression {
  if (magic[0] === 0x1f && magic[1] === 0x8b) return "gzip";
  if (magic.readUInt32LE(0) === ZSTD_MAGIC) return "zstd";
  return "none";
}

/** A short human description of what non-.blend bytes look like. */
function describeContent(bytes: Buffer): string {
  const startsWith = (...sig: number[]) => sig.every((b, i) => bytes[i] === b);
  const ascii = (at: number, text: string) => bytes.toString("latin1", at, at + text.length) === text;
  if (startsWith(0x89, 0x50, 0x4e, 0x47)) return "PNG image data";
  if (startsWith(0xff, 0xd8, 0xff)) return "JPEG image data";
  if (ascii(0, "GIF8")) return "GIF image data";
  if (ascii(0, "RIFF") && ascii(8, "WEBP")) return "WebP image data";
  if (startsWith(0x76, 0x2f, 0x31, 0x01)) return "OpenEXR image data";
  if (ascii(0, "PK\x03\x04")) return "ZIP archive data";
  if (startsWith(0x37, 0x7a, 0xbc, 0xaf, 0x27, 0x1c)) return "7-Zip archive data";
  if (ascii(0, "%PDF")) return "PDF data";
  if (ascii(0, "\x7fELF")) return "program (ELF) data";
  if (bytes.every((b) => b === 0x09 || b === 0x0a || b === 0x0d || (b >= 0x20 && b < 0x7f))) {
    return `text ${JSON.stringify(bytes.toString("latin1"))}`;
  }
  return `bytes ${hexBytes(bytes.subarray(0, 8))}`;
}

function printable(bytes: Buffer): string {
  return JSON.stringify(bytes.toString("latin1").replace(/[^\x20-\x7e]/g, "?"));
}

// ---------------------------------------------------------------------------
// Block walking (pure over a ByteReader)

type Walk =
  | { kind: "complete"; blocks: number; bytes: number }
  | { kind: "truncated"; where: string; at: number; missing?: string }
  | { kind: "invalid"; block: number; at: number; problem: string };

type BlockHeaderLayout = { size: number; lengthAt: number; lengthBytes: 4 | 8 };

function blockHeaderLayout(header: ParsedHeader): BlockHeaderLayout {
  if (header.formatVersion === 1) return { size: 32, lengthAt: 16, lengthBytes: 8 };
  return header.pointerSize === 4 ? { size: 20, lengthAt: 4, lengthBytes: 4 } : { size: 24, lengthAt: 4, lengthBytes: 4 };
}

const ENDB = Buffer.from("ENDB", "latin1");

/**
 * Real codes are ASCII padded with NULs ("DATA", "OB\0\0"; "\0\0OB" in
 * big-endian files). Deliberately loose, so no valid file is ever rejected,
 * yet garbage from damaged data almost always fails it.
 */
function plausibleCode(bhead: Buffer): boolean {
  const code = bhead.subarray(0, 4);
  return code.some((b) => b !== 0) && code.every((b) => b === 0 || (b >= 0x20 && b < 0x7f));
}

/** The code as text ("DATA", "OB"), or as hex bytes when it is not text. */
function blockCode(bhead: Buffer): string {
  const code = bhead.subarray(0, 4);
  if (plausibleCode(bhead)) return JSON.stringify(code.toString("latin1").replaceAll("\0", ""));
  return `bytes ${hexBytes(code)}`;
}

function hexBytes(bytes: Buffer): string {
  return [...bytes].map((b) => b.toString(16).padStart(2, "0")).join(" ");
}

async function walkBlocks(reader: ByteReader, header: ParsedHeader, offset: number): Promise<Walk> {
  const layout = blockHeaderLayout(header);
  const little = header.endianness === "little";
  let at = offset;
  for (let block = 1; ; block++) {
    const bhead = await reader.read(layout.size);
    if (bhead.length === 0) {
      const where = block === 1 ? "right after the file header" : `after block ${block - 1}`;
      return { kind: "truncated", where, at, missing: ", before the ENDB end marker" };
    }
    if (bhead.length < layout.size) {
      return { kind: "truncated", where: `inside the header of block ${block}`, at: at + bhead.length };
    }
    if (bhead.subarray(0, 4).equals(ENDB)) return { kind: "complete", blocks: block - 1, bytes: at + layout.size };
    if (!plausibleCode(bhead)) {
      return { kind: "invalid", block, at, problem: `has an invalid block code ${blockCode(bhead)}` };
    }
    const length = readLength(bhead, layout, little);
    if (length < 0 || !Number.isSafeInteger(length)) {
      return { kind: "invalid", block, at, problem: `(code ${blockCode(bhead)}) has an impossible length ${length}` };
    }
    at += layout.size;
    const skipped = await reader.skip(length);
    if (skipped < length) {
      return {
        kind: "truncated",
        where: `inside block ${block} (code ${blockCode(bhead)}, ${length} bytes)`,
        at: at + skipped,
      };
    }
    at += length;
  }
}

function readLength(bhead: Buffer, layout: BlockHeaderLayout, little: boolean): number {
  if (layout.lengthBytes === 4) return little ? bhead.readInt32LE(layout.lengthAt) : bhead.readInt32BE(layout.lengthAt);
  return Number(little ? bhead.readBigInt64LE(layout.lengthAt) : bhead.readBigInt64BE(layout.lengthAt));
}

// ---------------------------------------------------------------------------
// Opening the file and reading its header

type BlendSource = { compression: Compression; reader: ByteReader };

async function openBlendSource(path: string): Promise<BlendSource> {
  const stats = await stat(path).catch((error: unknown) => {
    throw fileError(path, error);
  });
  if (stats.isDirectory()) {
    throw new UserInputError(`"${path}" is a directory, not a .blend file; pass the path of a .blend file.`);
  }
  if (!stats.isFile()) {
    throw new UserInputError(`"${path}" is not a regular file; pass the path of a .blend file.`);
  }
  if (stats.size === 0) {
    throw new UserInputError(`Blend file "${path}" is empty (0 bytes); copy or save it again.`);
  }
  const handle = await open(path, "r").catch((error: unknown) => {
    throw fileError(path, error);
  });
  let compression: Compression;
  try {
    const magic = Buffer.alloc(4);
    const { bytesRead } = await handle.read(magic, 0, 4, 0);
    compression = bytesRead === 4 ? compressionOf(magic) : "none";
  } catch (error) {
    await handle.close();
    throw error;
  }
  if (compression === "none") return { compression, reader: new FileByteReader(handle, stats.size) };
  await handle.close();
  const raw = createReadStream(path, { highWaterMark: READ_CHUNK_SIZE });
  const decompressed: AsyncIterable<Buffer> =
    compression === "gzip" ? pipeline(raw, createGunzip(), () => {}) : decompressZstd(raw);
  return { compression, reader: new StreamByteReader(decompressed) };
}

function fileError(path: string, error: unknown): unknown {
  const code = (error as NodeJS.ErrnoException).code;
  if (code === "ENOENT" || code === "ENOTDIR") {
    return new UserInputError(`Blend file "${path}" does not exist; check the path.`);
  }
  if (code === "EACCES" || code === "EPERM") {
    return new UserInputError(`Blend file "${path}" cannot be read (permission denied); fix its permissions.`);
  }
  return error;
}

async function readHeader(path: string, source: BlendSource): Promise<{ header: BlendHeader; size: number }> {
  try {
    let bytes = await source.reader.read(LEGACY_HEADER_SIZE);
    if (bytes.length === LEGACY_HEADER_SIZE && looksLikeLargeHeader(bytes)) {
      // Copy first: the reader's next read may reuse the buffer `bytes` points into.
      const legacyPart = Buffer.from(bytes);
      bytes = Buffer.concat([legacyPart, await source.reader.read(LARGE_HEADER_SIZE - LEGACY_HEADER_SIZE)]);
    }
    const compressed = source.compression !== "none";
    if (bytes.length === 0 && compressed && !source.reader.endedEarly) {
      throw new UserInputError(
        `"${path}" is not a .blend file (it is ${source.compression}-compressed but holds no data); pass a file saved by Blender.`,
      );
    }
    const parsed = parseHeader(bytes);
    switch (parsed.kind) {
      case "ok":
        return { header: { ...parsed.header, compression: source.compression }, size: parsed.size };
      case "short":
        throw new UserInputError(
          `Blend file "${path}" is truncated${endsEarly(source)}: it ends inside the file header at byte ${bytes.length}${compressed ? " of the decompressed data" : ""}; ${FIX_INCOMPLETE}.`,
        );
      case "unsupported":
        throw new UserInputError(
          `Blend file "${path}" has an unsupported header ${printable(bytes)}; it may come from a newer Blender, save it again with Blender 5.x or older.`,
        );
      case "not-blend": {
        const looks = compressed
          ? `it is ${source.compression}-compressed and its content starts with ${describeContent(bytes)}`
          : `it starts with ${describeContent(bytes)}`;
        throw new UserInputError(`"${path}" is not a .blend file (${looks}); pass a file saved by Blender.`);
      }
    }
  } catch (error) {
    throw asUserError(path, source, error);
  }
}

function endsEarly(source: BlendSource): string {
  return source.reader.endedEarly ? ` (its ${source.compression} data ends early)` : "";
}

/** Turns decompression failures into one-line user errors; passes everything else through. */
function asUserError(path: string, source: BlendSource, error: unknown): unknown {
  if (!(error instanceof CorruptCompressedData)) return error;
  return new UserInputError(
    `Blend file "${path}" has corrupt ${source.compression}-compressed data (${error.message}) after ${source.reader.position} decompressed bytes; ${FIX_DAMAGED}.`,
    { cause: error.cause },
  );
}

// ---------------------------------------------------------------------------
// Byte readers: the block walker only needs "read a few bytes" and "skip n"

interface ByteReader {
  /** Up to `n` bytes; fewer only at the end of the data. Valid until the next call. */
  read(n: number): Promise<Buffer>;
  /** Skips up to `n` bytes and returns how many were skipped (fewer only at the end). */
  skip(n: number): Promise<number>;
  /** Bytes read or skipped so far. */
  readonly position: number;
  /** True when compressed input ended in the middle of its stream. */
  readonly endedEarly: boolean;
  close(): Promise<void>;
}

/** Reads an uncompressed file; skipping seeks, so large blocks are never read. */
class FileByteReader implements ByteReader {
  readonly endedEarly = false;
  #handle: FileHandle;
  #size: number;
  #buffer = Buffer.allocUnsafe(READ_CHUNK_SIZE);
  #start = 0;
  #end = 0;
  /** File offset of #buffer[#end]. */
  #filePosition = 0;

  constructor(handle: FileHandle, size: number) {
    this.#handle = handle;
    this.#size = size;
  }

  get position(): number {
    return this.#filePosition - (this.#end - this.#start);
  }

  async read(n: number): Promise<Buffer> {
    if (this.#end - this.#start < n) {
      this.#buffer.copy(this.#buffer, 0, this.#start, this.#end);
      this.#end -= this.#start;
      this.#start = 0;
      while (this.#end < n) {
        const { bytesRead } = await this.#handle.read(
          this.#buffer,
          this.#end,
          this.#buffer.length - this.#end,
          this.#filePosition,
        );
        if (bytesRead === 0) break;
        this.#end += bytesRead;
        this.#filePosition += bytesRead;
      }
    }
    const bytes = this.#buffer.subarray(this.#start, Math.min(this.#start + n, this.#end));
    this.#start += bytes.length;
    return bytes;
  }

  async skip(n: number): Promise<number> {
    const buffered = this.#end - this.#start;
    if (n <= buffered) {
      this.#start += n;
      return n;
    }
    const beyond = Math.min(n - buffered, Math.max(0, this.#size - this.#filePosition));
    this.#start = this.#end = 0;
    this.#filePosition += beyond;
    return buffered + beyond;
  }

  async close(): Promise<void> {
    await this.#handle.close();
  }
}

/** A decompressor failed on bad input (not on a read error). */
class CorruptCompressedData extends Error {}

/** Compressed input stopped in the middle of a zstd frame. */
class CompressedDataEndsEarly extends Error {}

/** Reads decompressed chunks; skipping still decompresses, but keeps nothing. */
class StreamByteReader implements ByteReader {
  #chunks: AsyncIterator<Buffer>;
  #chunk: Buffer = Buffer.alloc(0);
  #done = false;
  #position = 0;
  #endedEarly = false;

  constructor(chunks: AsyncIterable<Buffer>) {
    this.#chunks = chunks[Symbol.asyncIterator]();
  }

  get position(): number {
    return this.#position;
  }

  get endedEarly(): boolean {
    return this.#endedEarly;
  }

  /** Loads the next non-empty chunk; false at the end of the data. */
  async #next(): Promise<boolean> {
    while (!this.#done) {
      let result: IteratorResult<Buffer>;
      try {
        result = await this.#chunks.next();
      } catch (error) {
        this.#done = true;
        if (error instanceof CompressedDataEndsEarly || zlibCode(error) === "Z_BUF_ERROR") {
          // Report it as a truncated .blend, at the decompressed byte where data stopped.
          this.#endedEarly = true;
          return false;
        }
        if (error instanceof CorruptCompressedData) throw error;
        if (zlibCode(error) !== undefined) {
          throw new CorruptCompressedData((error as Error).message, { cause: error });
        }
        throw error;
      }
      if (result.done) {
        this.#done = true;
        return false;
      }
      if (result.value.length > 0) {
        this.#chunk = result.value;
        return true;
      }
    }
    return false;
  }

  async read(n: number): Promise<Buffer> {
    if (this.#chunk.length >= n) return this.#take(n);
    const parts: Buffer[] = [];
    let have = 0;
    while (have < n) {
      if (this.#chunk.length === 0 && !(await this.#next())) break;
      const part = this.#take(n - have);
      parts.push(Buffer.from(part));
      have += part.length;
    }
    return Buffer.concat(parts, have);
  }

  async skip(n: number): Promise<number> {
    let skipped = 0;
    while (skipped < n) {
      if (this.#chunk.length === 0 && !(await this.#next())) break;
      skipped += this.#take(n - skipped).length;
    }
    return skipped;
  }

  #take(n: number): Buffer {
    const part = this.#chunk.subarray(0, n);
    this.#chunk = this.#chunk.subarray(part.length);
    this.#position += part.length;
    return part;
  }

  async close(): Promise<void> {
    this.#done = true;
    await this.#chunks.return?.();
  }
}

function zlibCode(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === "string" && (code.startsWith("Z_") || code.startsWith("ZSTD_")) ? code : undefined;
}

// ---------------------------------------------------------------------------
// zstd: split the compressed stream into frames (RFC 8878 §3.1.1) and decode each

const ZSTD_MAGIC = 0xfd2fb528;
const SKIPPABLE_MAGIC = 0x184d2a50;
const SKIPPABLE_MASK = 0xfffffff0;
/** Block_Maximum_Size: no block holds more than 128 KiB. */
const ZSTD_MAX_BLOCK = 128 * 1024;

const FRAME_END = Symbol("frame end");
type ZstdPiece = Buffer | typeof FRAME_END;

type SplitState =
  | { kind: "magic" }
  | { kind: "descriptor" }
  | { kind: "block-header"; checksum: boolean }
  | { kind: "skippable-size" }
  /** `count` bytes that need no parsing: forwarded to the decoder or dropped. */
  | { kind: "pass"; count: number; forward: boolean; then: SplitState | typeof FRAME_END };

const FIELD_SIZES = { magic: 4, descriptor: 1, "block-header": 3, "skippable-size": 4 } as const;

/**
 * Finds where zstd frames start and end in a compressed stream, walking frame
 * and block headers only. Skippable frames (Blender's seek table) are dropped.
 */
class ZstdFrameSplitter {
  #state: SplitState = { kind: "magic" };
  #field = Buffer.alloc(4);
  #fieldLength = 0;
  #offset = 0;

  /** True when the input so far ends exactly between frames. */
  get atFrameBoundary(): boolean {
    return this.#state.kind === "magic" && this.#fieldLength === 0;
  }

  /** Splits `chunk` into pieces for the current frame's decoder and frame ends. */
  push(chunk: Buffer): ZstdPiece[] {
    const pieces: ZstdPiece[] = [];
    let at = 0;
    while (at < chunk.length) {
      const state = this.#state;
      if (state.kind === "pass") {
        const take = Math.min(state.count, chunk.length - at);
        if (state.forward) pieces.push(chunk.subarray(at, at + take));
        at += take;
        this.#offset += take;
        state.count -= take;
        if (state.count === 0) this.#enter(state.then, pieces);
        continue;
      }
      const size = FIELD_SIZES[state.kind];
      const take = Math.min(size - this.#fieldLength, chunk.length - at);
      chunk.copy(this.#field, this.#fieldLength, at, at + take);
      this.#fieldLength += take;
      at += take;
      if (this.#fieldLength < size) break;
      const field = Buffer.from(this.#field.subarray(0, size));
      this.#fieldLength = 0;
      this.#parseField(state, field, pieces);
      this.#offset += size;
    }
    return pieces;
  }

  #enter(next: SplitState | typeof FRAME_END, pieces: ZstdPiece[]): void {
    if (next === FRAME_END) {
      pieces.push(FRAME_END);
      this.#state = { kind: "magic" };
    } else if (next.kind === "pass" && next.count === 0) {
      this.#enter(next.then, pieces);
    } else {
      this.#state = next;
    }
  }

  #parseField(state: Exclude<SplitState, { kind: "pass" }>, field: Buffer, pieces: ZstdPiece[]): void {
    switch (state.kind) {
      case "magic": {
        const magic = field.readUInt32LE(0);
        if (magic === ZSTD_MAGIC) {
          pieces.push(field);
          this.#enter({ kind: "descriptor" }, pieces);
        } else if ((magic & SKIPPABLE_MASK) >>> 0 === SKIPPABLE_MAGIC) {
          this.#enter({ kind: "skippable-size" }, pieces);
        } else {
          throw new CorruptCompressedData(`no zstd frame at compressed byte ${this.#offset}`);
        }
        return;
      }
      case "skippable-size":
        this.#enter({ kind: "pass", count: field.readUInt32LE(0), forward: false, then: { kind: "magic" } }, pieces);
        return;
      case "descriptor": {
        const descriptor = field[0] ?? 0;
        if (descriptor & 0x08) {
          throw new CorruptCompressedData(`reserved bit set in the zstd frame header at compressed byte ${this.#offset}`);
        }
        const contentSizeFlag = descriptor >> 6;
        const singleSegment = (descriptor & 0x20) !== 0;
        const contentSizeBytes = [singleSegment ? 1 : 0, 2, 4, 8][contentSizeFlag] ?? 0;
        const dictionaryBytes = [0, 1, 2, 4][descriptor & 0x03] ?? 0;
        const windowBytes = singleSegment ? 0 : 1;
        pieces.push(field);
        this.#enter(
          {
            kind: "pass",
            count: windowBytes + dictionaryBytes + contentSizeBytes,
            forward: true,
            then: { kind: "block-header", checksum: (descriptor & 0x04) !== 0 },
          },
          pieces,
        );
        return;
      }
      case "block-header": {
        const bits = field.readUIntLE(0, 3);
        const last = (bits & 1) === 1;
        const type = (bits >> 1) & 3;
        const size = bits >>> 3;
        if (type === 3 || (type !== 1 && size > ZSTD_MAX_BLOCK)) {
          throw new CorruptCompressedData(`invalid zstd block at compressed byte ${this.#offset}`);
        }
        const afterBlock: SplitState | typeof FRAME_END = !last
          ? { kind: "block-header", checksum: state.checksum }
          : state.checksum
            ? { kind: "pass", count: 4, forward: true, then: FRAME_END }
            : FRAME_END;
        pieces.push(field);
        // An RLE block stores one byte however many it expands to.
        this.#enter({ kind: "pass", count: type === 1 ? 1 : size, forward: true, then: afterBlock }, pieces);
        return;
      }
    }
  }
}

/** Feeds one zstd frame to its own decoder and hands back output as it appears. */
class ZstdFrameDecoder {
  #stream: ZstdDecompress = createZstdDecompress();
  #output: Buffer[] = [];
  #error: Error | undefined;
  /** Rejects on the first error: after one, pending write callbacks are never called. */
  #failed: Promise<never>;

  constructor() {
    this.#stream.on("data", (chunk: Buffer) => this.#output.push(chunk));
    this.#failed = new Promise<never>((_, reject) =>
      this.#stream.on("error", (error: Error) => {
        this.#error ??= error;
        reject(error);
      }),
    );
    this.#failed.catch(() => {});
  }

  async write(piece: Buffer): Promise<Buffer[]> {
    const written = new Promise<void>((resolve, reject) =>
      this.#stream.write(piece, (error) => (error ? reject(this.#error ?? error) : resolve())),
    );
    await Promise.race([written, this.#failed]);
    return this.#drain();
  }

  async end(): Promise<Buffer[]> {
    if (this.#error) throw this.#error;
    const ended = once(this.#stream, "end");
    this.#stream.end();
    await ended;
    return this.#drain();
  }

  /** Ends a frame whose input was cut off: returns whatever output it still gives. */
  async endIncomplete(): Promise<Buffer[]> {
    if (!this.#error) {
      const settled = new Promise<void>((resolve) => {
        this.#stream.once("error", () => resolve());
        this.#stream.once("end", () => resolve());
      });
      this.#stream.end();
      await settled;
    }
    const output = this.#output;
    this.#output = [];
    return output;
  }

  destroy(): void {
    this.#stream.destroy();
  }

  #drain(): Buffer[] {
    if (this.#error) throw this.#error;
    const output = this.#output;
    this.#output = [];
    return output;
  }
}

async function* decompressZstd(compressed: AsyncIterable<Buffer>): AsyncGenerator<Buffer> {
  const splitter = new ZstdFrameSplitter();
  let decoder: ZstdFrameDecoder | undefined;
  try {
    for await (const chunk of compressed) {
      for (const piece of splitter.push(chunk)) {
        if (piece === FRAME_END) {
          yield* await (decoder ?? new ZstdFrameDecoder()).end();
          decoder = undefined;
        } else {
          decoder ??= new ZstdFrameDecoder();
          yield* await decoder.write(piece);
        }
      }
    }
    if (!splitter.atFrameBoundary) {
      // Flush what the cut frame still yields, so truncation is reported where the data really stops.
      if (decoder) yield* await decoder.endIncomplete();
      throw new CompressedDataEndsEarly("zstd data ends inside a frame");
    }
  } finally {
    decoder?.destroy();
  }
}
