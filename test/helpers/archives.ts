/**
 * Hand-built archives for tests, including ones no honest tool would write:
 * "../" names, absolute paths, links out, devices, sizes that lie.
 */
import { crc32, deflateRawSync, gzipSync } from "node:zlib";
import yauzl from "yauzl";

export type TarSpec = {
  path: string;
  type?: "file" | "directory" | "symlink" | "hardlink" | "fifo" | "chardev";
  content?: string | Buffer;
  linkTarget?: string;
  /** Permission bits; defaults to 0o644 for files, 0o755 for folders. */
  mode?: number;
};

const TAR_TYPE_FLAGS = { file: "0", hardlink: "1", symlink: "2", chardev: "3", directory: "5", fifo: "6" } as const;

function writeField(header: Buffer, offset: number, length: number, text: string): void {
  const bytes = Buffer.from(text, "utf8");
  if (bytes.length > length) throw new Error(`tar field too long: ${text}`);
  bytes.copy(header, offset);
}

function octal(value: number, length: number): string {
  return value.toString(8).padStart(length - 1, "0");
}

function tarHeader(spec: TarSpec, size: number): Buffer {
  const type = spec.type ?? "file";
  const header = Buffer.alloc(512);
  writeField(header, 0, 100, spec.path);
  writeField(header, 100, 8, octal(spec.mode ?? (type === "directory" ? 0o755 : 0o644), 8));
  writeField(header, 108, 8, octal(1000, 8));
  writeField(header, 116, 8, octal(1000, 8));
  writeField(header, 124, 12, octal(size, 12));
  writeField(header, 136, 12, octal(1_700_000_000, 12));
  writeField(header, 156, 1, TAR_TYPE_FLAGS[type]);
  writeField(header, 157, 100, spec.linkTarget ?? "");
  writeField(header, 257, 6, "ustar");
  writeField(header, 263, 2, "00");
  writeField(header, 265, 32, "user");
  writeField(header, 297, 32, "user");
  // The checksum is computed with its own field read as eight spaces.
  header.fill(0x20, 148, 156);
  let sum = 0;
  for (const byte of header) sum += byte;
  writeField(header, 148, 8, `${octal(sum, 7)}\0`);
  return header;
}

/** A plain ustar archive with the given entries, in that order. */
export function buildTar(specs: readonly TarSpec[]): Buffer {
  const blocks: Buffer[] = [];
  for (const spec of specs) {
    const content = Buffer.from(spec.content ?? "");
    blocks.push(tarHeader(spec, content.length), content, Buffer.alloc((512 - (content.length % 512)) % 512));
  }
  blocks.push(Buffer.alloc(1024));
  return Buffer.concat(blocks);
}

/** buildTar, gzipped. */
export function buildTarGz(specs: readonly TarSpec[]): Buffer {
  return gzipSync(buildTar(specs));
}

export type ZipSpec = {
  /** Written byte for byte: backslashes and drive letters stay as given. */
  path: string;
  content?: string | Buffer;
  /** Full Unix mode including the file type bits, e.g. 0o100644, 0o120777 (symlink), 0o040755. */
  unixMode?: number;
  /** Lie about the uncompressed size in both headers. */
  declaredSize?: number;
  /** Store instead of deflate. */
  stored?: boolean;
};

/** A zip archive built header by header (local headers, central directory, end record). */
export function buildZip(specs: readonly ZipSpec[]): Buffer {
  const locals: Buffer[] = [];
  const centrals: Buffer[] = [];
  let offset = 0;
  for (const spec of specs) {
    const name = Buffer.from(spec.path, "utf8");
    const content = Buffer.from(spec.content ?? "");
    const data = spec.stored ? content : deflateRawSync(content);
    const method = spec.stored ? 0 : 8;
    const checksum = crc32(content);
    const size = spec.declaredSize ?? content.length;
    const unixMode = spec.unixMode ?? (spec.path.endsWith("/") ? 0o040755 : 0o100644);

    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4);
    local.writeUInt16LE(0x0800, 6); // names are UTF-8
    local.writeUInt16LE(method, 8);
    local.writeUInt16LE(0, 10);
    local.writeUInt16LE(0x21, 12);
    local.writeUInt32LE(checksum, 14);
    local.writeUInt32LE(data.length, 18);
    local.writeUInt32LE(size, 22);
    local.writeUInt16LE(name.length, 26);
    local.writeUInt16LE(0, 28);
    locals.push(local, name, data);

    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0);
    central.writeUInt16LE((3 << 8) | 20, 4); // made by Unix, so the mode is meaningful
    central.writeUInt16LE(20, 6);
    central.writeUInt16LE(0x0800, 8);
    central.writeUInt16LE(method, 10);
    central.writeUInt16LE(0, 12);
    central.writeUInt16LE(0x21, 14);
    central.writeUInt32LE(checksum, 16);
    central.writeUInt32LE(data.length, 20);
    central.writeUInt32LE(size, 24);
    central.writeUInt16LE(name.length, 28);
    central.writeUInt32LE((unixMode << 16) >>> 0, 38);
    central.writeUInt32LE(offset, 42);
    centrals.push(central, name);

    offset += local.length + name.length + data.length;
  }
  const directory = Buffer.concat(centrals);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(specs.length, 8);
  end.writeUInt16LE(specs.length, 10);
  end.writeUInt32LE(directory.length, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...locals, directory, end]);
}

/** The entry names of a zip file, in the archive's order. */
export async function zipEntryNames(file: string): Promise<string[]> {
  const zip = await yauzl.openPromise(file, { lazyEntries: true });
  const names: string[] = [];
  try {
    for await (const entry of zip.eachEntry()) names.push(entry.fileName);
  } finally {
    zip.close();
  }
  return names;
}
