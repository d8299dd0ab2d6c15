import { open, readFile } from "node:fs/promises";
import path from "node:path";
import sharp from "sharp";
import { JobFailedError, UserInputError } from "../errors.ts";
import { runFfmpeg } from "./ffmpeg.ts";

// Reading every image format Blender writes, for display. Thumbnails and
// preview videos share this: sharp reads the web formats, ffmpeg the rest, and
// what ffmpeg cannot turn into display values (Radiance HDR, Cineon, log DPX)
// is decoded here.

/** The image formats Blender can write, as recognised from a file's first bytes. */
export type ImageFormat =
  | "png"
  | "jpeg"
  | "webp"
  | "tiff"
  | "bmp"
  | "targa"
  | "exr"
  | "hdr"
  | "dpx"
  | "cineon"
  | "jpeg2000"
  | "iris"
  | "unknown";

/**
 * Decoded pixels: RGBA floats, straight (not premultiplied) alpha, top row
 * first. "linear" values are scene-linear light and need the sRGB curve before
 * display; "display" values are shown as they are.
 */
export interface DecodedImage {
  width: number;
  height: number;
  rgba: Float32Array;
  encoding: "linear" | "display";
}

/**
 * How to read one frame for display:
 * - "sharp": sharp (and ffmpeg) read it directly and its values are already display values;
 * - "ffmpeg": ffmpeg reads it, with `inputArgs` placed before its `-i` (EXR's sRGB transfer, layer);
 * - "decoded": Brender decodes it itself (`decode`), then encodes 8-bit sRGB.
 */
export type FrameDecoding =
  | { format: ImageFormat; reader: "sharp" }
  | { format: ImageFormat; reader: "ffmpeg"; inputArgs: readonly string[] }
  | { format: ImageFormat; reader: "decoded"; decode: (file: string) => Promise<DecodedImage> };

/** Enough to recognise any format and read a DPX file's transfer field. */
const HEAD_BYTES = 1024;
/** Enough for the header of any EXR Blender writes, even a multilayer one with many passes. */
const EXR_HEADER_BYTES = 256 * 1024;

export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** Looks at a frame's first bytes and decides how it can be read for display. */
export async function planFrameDecoding(file: string): Promise<FrameDecoding> {
  const head = await readHead(file, HEAD_BYTES);
  const format = sniffImageFormat(head, file);
  switch (format) {
    case "png":
    case "jpeg":
    case "webp":
    case "tiff":
      return { format, reader: "sharp" };
    case "exr": {
      const layer = exrDisplayLayer(await readHead(file, EXR_HEADER_BYTES));
      // EXR is scene-linear: ffmpeg's decoder applies the sRGB curve itself.
      const inputArgs = ["-apply_trc", "iec61966_2_1", ...(layer === "" ? [] : ["-layer", layer])];
      return { format, reader: "ffmpeg", inputArgs };
    }
    case "hdr":
      return { format, reader: "decoded", decode: async (f) => decodeRadianceHdr(await readFile(f), f) };
    case "cineon":
      return { format, reader: "decoded", decode: async (f) => decodeCineon(await readFile(f), f) };
    case "dpx":
      // Blender's "linear" DPX holds sRGB-encoded values already; only log DPX needs decoding.
      if (dpxIsLog(head)) return { format, reader: "decoded", decode: decodeLogDpx };
      return { format, reader: "ffmpeg", inputArgs: [] };
    default:
      return { format, reader: "ffmpeg", inputArgs: [] };
  }
}

/**
 * Writes `input` as a display-referred (sRGB) PNG at `outputPng`, whatever its
 * format; `decoding` comes from planFrameDecoding.
 */
export async function decodeToDisplayPng(input: string, outputPng: string, decoding: FrameDecoding): Promise<void> {
  switch (decoding.reader) {
    case "sharp":
      await sharp(input)
        .png()
        .toFile(outputPng)
        .catch((error: unknown) => {
          throw new JobFailedError(`could not read image "${input}": ${errorMessage(error)}`, { cause: error });
        });
      return;
    case "ffmpeg":
      await runFfmpeg([...decoding.inputArgs, "-i", input, "-frames:v", "1", "-c:v", "png", "-f", "image2", outputPng]);
      return;
    case "decoded": {
      const image = await decoding.decode(input);
      await sharp(toDisplay8(image), { raw: { width: image.width, height: image.height, channels: 4 } })
        .png()
        .toFile(outputPng);
      return;
    }
  }
}

async function readHead(file: string, bytes: number): Promise<Uint8Array> {
  let handle;
  try {
    handle = await open(file, "r");
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "ENOENT") throw new UserInputError(`image "${file}" does not exist; check the path`, { cause: error });
    throw new JobFailedError(`could not open image "${file}": ${errorMessage(error)}`, { cause: error });
  }
  try {
    const buffer = new Uint8Array(bytes);
    const { bytesRead } = await handle.read(buffer, 0, bytes, 0);
    return buffer.subarray(0, bytesRead);
  } catch (error) {
    throw new JobFailedError(`could not read image "${file}": ${errorMessage(error)}`, { cause: error });
  } finally {
    await handle.close();
  }
}

function startsWith(bytes: Uint8Array, prefix: readonly number[], at = 0): boolean {
  if (bytes.length < at + prefix.length) return false;
  return prefix.every((value, i) => bytes[at + i] === value);
}

function ascii(text: string): number[] {
  return [...text].map((c) => c.charCodeAt(0));
}

/** Recognises an image format from its first bytes; Targa has no signature, so it goes by the file name. */
export function sniffImageFormat(head: Uint8Array, fileName: string): ImageFormat {
  if (startsWith(head, [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])) return "png";
  if (startsWith(head, [0xff, 0xd8, 0xff])) return "jpeg";
  if (startsWith(head, ascii("RIFF")) && startsWith(head, ascii("WEBP"), 8)) return "webp";
  if (startsWith(head, [0x49, 0x49, 0x2a, 0x00]) || startsWith(head, [0x4d, 0x4d, 0x00, 0x2a])) return "tiff";
  if (startsWith(head, [0x76, 0x2f, 0x31, 0x01])) return "exr";
  if (startsWith(head, ascii("#?"))) return "hdr";
  if (startsWith(head, ascii("SDPX")) || startsWith(head, ascii("XPDS"))) return "dpx";
  if (startsWith(head, [0x80, 0x2a, 0x5f, 0xd7]) || startsWith(head, [0xd7, 0x5f, 0x2a, 0x80])) return "cineon";
  if (startsWith(head, [0x00, 0x00, 0x00, 0x0c, 0x6a, 0x50, 0x20, 0x20]) || startsWith(head, [0xff, 0x4f, 0xff, 0x51])) {
    return "jpeg2000";
  }
  if (startsWith(head, [0x01, 0xda])) return "iris";
  if (startsWith(head, ascii("BM"))) return "bmp";
  const extension = path.extname(fileName).toLowerCase();
  if (extension === ".tga" || extension === ".targa") return "targa";
  return "unknown";
}

/** The file extension ffmpeg's image2 demuxer maps to the right decoder for `format`. */
export function ffmpegImageExtension(format: ImageFormat, fileName: string): string {
  switch (format) {
    case "jpeg":
      return "jpg";
    case "tiff":
      return "tif";
    case "targa":
      return "tga";
    case "jpeg2000":
      return "jp2";
    case "iris":
      return "sgi";
    case "unknown":
      return path.extname(fileName).slice(1).toLowerCase() || "png";
    default:
      return format;
  }
}

// ---------------------------------------------------------------- EXR

/**
 * The EXR layer to show, for ffmpeg's `-layer` option: "" when the file has
 * plain R/G/B (or Y) channels, else the layer holding R, G and B, preferring
 * Blender's "….Combined" pass in multilayer files. `header` is the file's start.
 */
export function exrDisplayLayer(header: Uint8Array): string {
  return chooseExrLayer(exrChannelNames(header));
}

/** Channel names listed in an EXR header (of its first part); empty when the header cannot be read. */
export function exrChannelNames(header: Uint8Array): string[] {
  const view = new DataView(header.buffer, header.byteOffset, header.byteLength);
  const readString = (from: number): { text: string; next: number } | undefined => {
    const end = header.indexOf(0, from);
    if (end < 0) return undefined;
    return { text: Buffer.from(header.subarray(from, end)).toString("latin1"), next: end + 1 };
  };
  let pos = 8; // magic number and version field
  for (;;) {
    const name = readString(pos);
    if (name === undefined || name.text === "") return [];
    const type = readString(name.next);
    if (type === undefined || type.next + 4 > header.length) return [];
    const size = view.getInt32(type.next, true);
    const valueStart = type.next + 4;
    if (size < 0 || valueStart + size > header.length) return [];
    if (name.text === "channels" && type.text === "chlist") {
      const names: string[] = [];
      let at = valueStart;
      for (;;) {
        const channel = readString(at);
        if (channel === undefined || channel.text === "") return names;
        names.push(channel.text);
        at = channel.next + 16; // pixel type, pLinear, reserved, x and y sampling
      }
    }
    pos = valueStart + size;
  }
}

/** Picks the layer to display from EXR channel names; see exrDisplayLayer. */
export function chooseExrLayer(channelNames: readonly string[]): string {
  const plain = new Set(channelNames.filter((n) => !n.includes(".")).map((n) => n.toUpperCase()));
  if ((plain.has("R") && plain.has("G") && plain.has("B")) || plain.has("Y")) return "";
  const suffixesByLayer = new Map<string, Set<string>>();
  for (const name of channelNames) {
    const dot = name.lastIndexOf(".");
    if (dot <= 0) continue;
    const layer = name.slice(0, dot);
    const suffixes = suffixesByLayer.get(layer) ?? new Set<string>();
    suffixes.add(name.slice(dot + 1).toUpperCase());
    suffixesByLayer.set(layer, suffixes);
  }
  const colourLayers = [...suffixesByLayer]
    .filter(([, suffixes]) => suffixes.has("R") && suffixes.has("G") && suffixes.has("B"))
    .map(([layer]) => layer);
  const combined = colourLayers.find((layer) => layer === "Combined" || layer.endsWith(".Combined"));
  return combined ?? colourLayers[0] ?? "";
}

// ---------------------------------------------------------------- transfer curves

/** The sRGB transfer curve (IEC 61966-2-1): scene-linear 0..1 to display 0..1, clamped. */
export function linearToSrgb(linear: number): number {
  if (!(linear > 0)) return 0; // also maps NaN to black
  if (linear >= 1) return 1;
  return linear <= 0.0031308 ? linear * 12.92 : 1.055 * Math.pow(linear, 1 / 2.4) - 0.055;
}

// Kodak's conventional printing-density encoding, as Blender writes Cineon and
// log DPX: 10-bit code 95 is black, 685 is white, 0.002 density per code value,
// negative gamma 0.6.
const LOG_BLACK_CODE = 95;
const LOG_WHITE_CODE = 685;
const LOG_DENSITY_PER_CODE = 0.002;
const LOG_NEGATIVE_GAMMA = 0.6;
const LOG_BLACK_LEVEL = Math.pow(10, ((LOG_BLACK_CODE - LOG_WHITE_CODE) * LOG_DENSITY_PER_CODE) / LOG_NEGATIVE_GAMMA);

/**
 * A 10-bit printing-density (Cineon log) code value to its linear value (0 at
 * code 95, 1 at code 685). Blender log-encodes display (sRGB) values, so for its
 * files the result is shown as it is.
 */
export function cineonLogToLinear(code10: number): number {
  const exposure = Math.pow(10, ((code10 - LOG_WHITE_CODE) * LOG_DENSITY_PER_CODE) / LOG_NEGATIVE_GAMMA);
  return Math.max(0, (exposure - LOG_BLACK_LEVEL) / (1 - LOG_BLACK_LEVEL));
}

function clamp01(value: number): number {
  return value > 0 ? Math.min(1, value) : 0; // NaN becomes 0 too
}

/** Decoded pixels to 8-bit sRGB RGBA (the sRGB curve applied to linear images), ready for sharp's raw input. */
export function toDisplay8(image: DecodedImage): Uint8Array {
  const curve = image.encoding === "linear" ? linearToSrgb : clamp01;
  const out = new Uint8Array(image.width * image.height * 4);
  for (let i = 0; i < out.length; i += 4) {
    out[i] = Math.round(curve(image.rgba[i] ?? 0) * 255);
    out[i + 1] = Math.round(curve(image.rgba[i + 1] ?? 0) * 255);
    out[i + 2] = Math.round(curve(image.rgba[i + 2] ?? 0) * 255);
    out[i + 3] = Math.round(clamp01(image.rgba[i + 3] ?? 1) * 255);
  }
  return out;
}

// ---------------------------------------------------------------- Radiance HDR

function unreadable(name: string, why: string): JobFailedError {
  return new JobFailedError(`cannot read image "${name}": ${why}; re-render the frame or save it as EXR`);
}

/** Decodes a Radiance HDR (RGBE) file, flat or run-length encoded, to scene-linear pixels. */
export function decodeRadianceHdr(bytes: Uint8Array, name = "image.hdr"): DecodedImage {
  let pos = 0;
  const readLine = (): string => {
    const end = bytes.indexOf(0x0a, pos);
    if (end < 0) throw unreadable(name, "its Radiance header is cut short");
    const line = Buffer.from(bytes.subarray(pos, end)).toString("latin1");
    pos = end + 1;
    return line;
  };
  if (!readLine().startsWith("#?")) throw unreadable(name, "it is not a Radiance HDR file");
  let exposure = 1;
  for (let line = readLine(); line.trim() !== ""; line = readLine()) {
    const [key, value] = [line.slice(0, line.indexOf("=")).trim(), line.slice(line.indexOf("=") + 1).trim()];
    if (key === "FORMAT" && value !== "32-bit_rle_rgbe") throw unreadable(name, `its pixel format "${value}" is not supported`);
    if (key === "EXPOSURE") {
      const factor = Number(value);
      if (Number.isFinite(factor) && factor > 0) exposure *= factor;
    }
  }
  const resolution = /^([-+])Y\s+(\d+)\s+([-+])X\s+(\d+)\s*$/.exec(readLine());
  if (resolution === null) throw unreadable(name, "its resolution line is missing or rotated (unsupported)");
  const height = Number(resolution[2]);
  const width = Number(resolution[4]);
  const topDown = resolution[1] === "-";
  const leftToRight = resolution[3] === "+";
  if (width < 1 || height < 1 || width * height > 1 << 28) throw unreadable(name, `its size ${width}x${height} is not plausible`);

  // RGBE: the shared exponent byte scales all three mantissas; EXPOSURE multiplied the stored values.
  const scale = Float32Array.from({ length: 256 }, (_, e) => (e === 0 ? 0 : Math.pow(2, e - 136) / exposure));
  const rgba = new Float32Array(width * height * 4);
  const scanline = new Uint8Array(width * 4);
  for (let row = 0; row < height; row++) {
    pos = readRgbeScanline(bytes, pos, scanline, width, name);
    const y = topDown ? row : height - 1 - row;
    for (let x = 0; x < width; x++) {
      const e = scanline[x * 4 + 3] ?? 0;
      const factor = scale[e] ?? 0;
      const target = (y * width + (leftToRight ? x : width - 1 - x)) * 4;
      // +0.5: the centre of the mantissa's quantisation step.
      rgba[target] = e === 0 ? 0 : ((scanline[x * 4] ?? 0) + 0.5) * factor;
      rgba[target + 1] = e === 0 ? 0 : ((scanline[x * 4 + 1] ?? 0) + 0.5) * factor;
      rgba[target + 2] = e === 0 ? 0 : ((scanline[x * 4 + 2] ?? 0) + 0.5) * factor;
      rgba[target + 3] = 1;
    }
  }
  return { width, height, rgba, encoding: "linear" };
}

/** Reads one scanline of RGBE pixels into `out` (interleaved R,G,B,E) and returns the position after it. */
function readRgbeScanline(bytes: Uint8Array, start: number, out: Uint8Array, width: number, name: string): number {
  const truncated = (): JobFailedError => unreadable(name, "its pixel data is cut short or damaged");
  let pos = start;
  const isRunLengthEncoded =
    width >= 8 && width < 0x8000 && bytes[pos] === 2 && bytes[pos + 1] === 2 && ((bytes[pos + 2] ?? 0x80) & 0x80) === 0;
  if (isRunLengthEncoded) {
    if ((((bytes[pos + 2] ?? 0) << 8) | (bytes[pos + 3] ?? 0)) !== width) throw truncated();
    pos += 4;
    // Each of the four components is stored separately as runs and literal spans.
    for (let component = 0; component < 4; component++) {
      let x = 0;
      while (x < width) {
        const count = bytes[pos++];
        if (count === undefined || count === 0) throw truncated();
        if (count > 128) {
          const run = count - 128;
          const value = bytes[pos++];
          if (value === undefined || x + run > width) throw truncated();
          for (let i = 0; i < run; i++) out[(x++) * 4 + component] = value;
        } else {
          if (x + count > width || pos + count > bytes.length) throw truncated();
          for (let i = 0; i < count; i++) out[(x++) * 4 + component] = bytes[pos++] ?? 0;
        }
      }
    }
    return pos;
  }
  // Flat pixels, possibly with the old encoding's (1,1,1,n) "repeat the previous pixel" markers.
  let x = 0;
  let repeatShift = 0;
  while (x < width) {
    if (pos + 4 > bytes.length) throw truncated();
    const [r, g, b, e] = [bytes[pos] ?? 0, bytes[pos + 1] ?? 0, bytes[pos + 2] ?? 0, bytes[pos + 3] ?? 0];
    pos += 4;
    if (r === 1 && g === 1 && b === 1) {
      if (x === 0) throw truncated();
      const repeat = e << repeatShift;
      if (x + repeat > width) throw truncated();
      for (let i = 0; i < repeat; i++, x++) out.copyWithin(x * 4, (x - 1) * 4, x * 4);
      repeatShift += 8;
    } else {
      out.set([r, g, b, e], x * 4);
      x++;
      repeatShift = 0;
    }
  }
  return pos;
}

// ---------------------------------------------------------------- Cineon

/** Decodes a Cineon file (10-bit log, 3 channels, as Blender and film scanners write it); see cineonLogToLinear. */
export function decodeCineon(bytes: Uint8Array, name = "image.cin"): DecodedImage {
  if (bytes.length < 1024) throw unreadable(name, "its Cineon header is cut short");
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const magic = view.getUint32(0, false);
  if (magic !== 0x802a5fd7 && magic !== 0xd75f2a80) throw unreadable(name, "it is not a Cineon file");
  const littleEndian = magic === 0xd75f2a80;
  const u32 = (at: number): number => view.getUint32(at, littleEndian);

  const dataOffset = u32(4);
  const orientation = bytes[192] ?? 0;
  const channels = bytes[193] ?? 0;
  const bits = bytes[196 + 2] ?? 0;
  const width = u32(196 + 4);
  const height = u32(196 + 8);
  const interleave = bytes[680] ?? 0;
  const packing = bytes[681] ?? 0;
  const lineEndPadding = u32(684) === 0xffffffff ? 0 : u32(684);

  const tenBitWords = bits === 10 && (packing & 0x7f) === 5;
  const eightBitBytes = bits === 8 && (packing & 0x7f) <= 1;
  if (channels !== 3 || interleave !== 0 || !(tenBitWords || eightBitBytes) || orientation > 3) {
    throw unreadable(
      name,
      `its Cineon layout (${channels} channels, ${bits}-bit, packing ${packing}, interleave ${interleave}, orientation ${orientation}) is not supported`,
    );
  }
  if (width < 1 || height < 1 || width * height > 1 << 28) throw unreadable(name, `its size ${width}x${height} is not plausible`);
  const bytesPerPixel = tenBitWords ? 4 : 3;
  const lineBytes = width * bytesPerPixel + lineEndPadding;
  if (dataOffset + lineBytes * height - lineEndPadding > bytes.length) throw unreadable(name, "its pixel data is cut short");

  // Orientation 0..3: rows top-down or bottom-up, pixels left-right or right-left.
  const flipX = orientation === 2 || orientation === 3;
  const flipY = orientation === 1 || orientation === 3;
  const toLinear = Float32Array.from({ length: 1024 }, (_, code) => cineonLogToLinear(code));
  const rgba = new Float32Array(width * height * 4);
  for (let row = 0; row < height; row++) {
    const y = flipY ? height - 1 - row : row;
    for (let column = 0; column < width; column++) {
      const x = flipX ? width - 1 - column : column;
      const at = dataOffset + row * lineBytes + column * bytesPerPixel;
      let codes: [number, number, number];
      if (tenBitWords) {
        // Three 10-bit samples packed from the top of a 32-bit word, two spare bits at the bottom.
        const word = u32(at);
        codes = [(word >>> 22) & 0x3ff, (word >>> 12) & 0x3ff, (word >>> 2) & 0x3ff];
      } else {
        codes = [0, 1, 2].map((i) => Math.round(((bytes[at + i] ?? 0) * 1023) / 255)) as [number, number, number];
      }
      const target = (y * width + x) * 4;
      rgba[target] = toLinear[codes[0]] ?? 0;
      rgba[target + 1] = toLinear[codes[1]] ?? 0;
      rgba[target + 2] = toLinear[codes[2]] ?? 0;
      rgba[target + 3] = 1;
    }
  }
  return { width, height, rgba, encoding: "display" };
}

// ---------------------------------------------------------------- DPX

/** Whether a DPX file's first image element is log encoded (transfer "printing density" or "logarithmic"). */
export function dpxIsLog(head: Uint8Array): boolean {
  const transfer = head[801];
  return transfer === 1 || transfer === 3;
}

/** Decodes a log DPX with ffmpeg (which handles all its bit depths and packings), then undoes the log curve. */
async function decodeLogDpx(file: string): Promise<DecodedImage> {
  const head = await readHead(file, 1024);
  if (head.length < 780) throw unreadable(file, "its DPX header is cut short");
  const view = new DataView(head.buffer, head.byteOffset, head.byteLength);
  const littleEndian = startsWith(head, ascii("XPDS"));
  const width = view.getUint32(772, littleEndian);
  const height = view.getUint32(776, littleEndian);
  const raw = await runFfmpeg(["-i", file, "-frames:v", "1", "-f", "rawvideo", "-pix_fmt", "rgba64le", "-"]);
  if (raw.length !== width * height * 8) {
    throw unreadable(file, `its DPX header says ${width}x${height} but ffmpeg decoded ${raw.length} bytes`);
  }
  const samples = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  const rgba = new Float32Array(width * height * 4);
  for (let i = 0; i < rgba.length; i++) {
    const value = samples.getUint16(i * 2, true) / 65535;
    rgba[i] = i % 4 === 3 ? value : cineonLogToLinear(value * 1023);
  }
  return { width, height, rgba, encoding: "display" };
}
