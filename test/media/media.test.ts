import { describe, it, type TestContext } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import fc from "fast-check";
import sharp from "sharp";
import { UserInputError } from "../../src/errors.ts";
import { FfmpegError, probeVideoStream, runFfmpeg, runMediaTool, tailOf } from "../../src/media/ffmpeg.ts";
import {
  frameRateArgument,
  makePreviewVideo,
  previewVideoPath,
  videoExtension,
  x264Arguments,
  type VideoContainer,
} from "../../src/media/preview-video.ts";
import {
  chooseExrLayer,
  cineonLogToLinear,
  decodeCineon,
  decodeRadianceHdr,
  exrChannelNames,
  linearToSrgb,
  sniffImageFormat,
} from "../../src/media/decode.ts";
import { makeThumbnail } from "../../src/media/thumbnail.ts";

type Rgb = readonly [number, number, number];

async function tempDir(t: TestContext): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), "brender-media-test-"));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

async function solidPng(file: string, width: number, height: number, colour: Rgb, alpha = 1): Promise<string> {
  await sharp({ create: { width, height, channels: 4, background: { r: colour[0], g: colour[1], b: colour[2], alpha } } })
    .png()
    .toFile(file);
  return file;
}

/** The RGBA of one pixel of any image sharp reads. */
async function pixelAt(file: string, x: number, y: number): Promise<number[]> {
  const { data, info } = await sharp(file).ensureAlpha().raw().toBuffer({ resolveWithObject: true });
  const at = (y * info.width + x) * 4;
  return [...data.subarray(at, at + 4)];
}

function assertClose(actual: readonly number[], expected: readonly number[], tolerance: number, what: string): void {
  assert.equal(actual.length, expected.length, what);
  actual.forEach((value, i) => {
    assert.ok(Math.abs(value - (expected[i] ?? NaN)) <= tolerance, `${what}: got [${actual.join(", ")}], expected about [${expected.join(", ")}]`);
  });
}

/** A float EXR of one flat linear grey, written by ffmpeg's own EXR encoder from raw planar floats. */
async function greyExr(dir: string, linear: number, width = 64, height = 32): Promise<string> {
  const raw = path.join(dir, "grey.raw");
  await writeFile(raw, new Float32Array(width * height * 3).fill(linear));
  const exr = path.join(dir, "grey.exr");
  await runFfmpeg(["-f", "rawvideo", "-pix_fmt", "gbrpf32le", "-s", `${width}x${height}`, "-i", raw, "-frames:v", "1", "-c:v", "exr", exr]);
  return exr;
}

/** Every frame of a video as RGB bytes. */
async function videoFrames(file: string, width: number, height: number): Promise<Buffer[]> {
  const raw = await runFfmpeg(["-i", file, "-f", "rawvideo", "-pix_fmt", "rgb24", "-"]);
  const size = width * height * 3;
  return Array.from({ length: raw.length / size }, (_, i) => raw.subarray(i * size, (i + 1) * size));
}

function centre(frame: Buffer, width: number, height: number): number[] {
  const at = (Math.floor(height / 2) * width + Math.floor(width / 2)) * 3;
  return [...frame.subarray(at, at + 3)];
}

// ------------------------------------------------------------ test encoders for HDR and Cineon

/** One linear value as a Radiance RGBE pixel (grey). */
function rgbeGrey(value: number): [number, number, number, number] {
  const exponent = Math.floor(Math.log2(value)) + 1;
  const mantissa = Math.floor(value * Math.pow(2, 8 - exponent));
  return [mantissa, mantissa, mantissa, exponent + 128];
}

/** Run-length encodes one component of a scanline the new-style Radiance way. */
function rleComponent(values: readonly number[]): number[] {
  const out: number[] = [];
  let i = 0;
  let literal: number[] = [];
  const flush = (): void => {
    if (literal.length > 0) out.push(literal.length, ...literal);
    literal = [];
  };
  while (i < values.length) {
    let run = 1;
    while (i + run < values.length && run < 127 && values[i + run] === values[i]) run++;
    if (run >= 3) {
      flush();
      out.push(128 + run, values[i] ?? 0);
      i += run;
    } else {
      literal.push(values[i] ?? 0);
      if (literal.length === 128) flush();
      i++;
    }
  }
  flush();
  return out;
}

/** A Radiance HDR file; rows of RGBE pixels, RLE encoded when the width allows it. */
function hdrFile(width: number, rows: readonly (readonly number[])[]): Uint8Array {
  const header = Buffer.from(`#?RADIANCE\nFORMAT=32-bit_rle_rgbe\nEXPOSURE=1.0\n\n-Y ${rows.length} +X ${width}\n`, "latin1");
  const body: number[] = [];
  for (const row of rows) {
    if (width < 8) {
      body.push(...row);
      continue;
    }
    body.push(2, 2, width >> 8, width & 0xff);
    for (let component = 0; component < 4; component++) {
      body.push(...rleComponent(Array.from({ length: width }, (_, x) => row[x * 4 + component] ?? 0)));
    }
  }
  return new Uint8Array([...header, ...body]);
}

/** A 10-bit log Cineon file as Blender writes it: 3 channels packed in one big-endian 32-bit word per pixel. */
function cineonFile(width: number, height: number, codeAt: (x: number, y: number) => Rgb): Uint8Array {
  const headerSize = 1024;
  const bytes = new Uint8Array(headerSize + width * height * 4);
  const view = new DataView(bytes.buffer);
  view.setUint32(0, 0x802a5fd7);
  view.setUint32(4, headerSize);
  bytes[193] = 3;
  for (let channel = 0; channel < 3; channel++) {
    const at = 196 + channel * 28;
    bytes[at + 2] = 10;
    view.setUint32(at + 4, width);
    view.setUint32(at + 8, height);
  }
  bytes[681] = 5;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const [r, g, b] = codeAt(x, y);
      view.setUint32(headerSize + (y * width + x) * 4, ((r << 22) | (g << 12) | (b << 2)) >>> 0);
    }
  }
  return bytes;
}

// ------------------------------------------------------------ thumbnails

describe("makeThumbnail", () => {
  it("fits a 1000x500 PNG into 512x256 and keeps its colour", async (t) => {
    const dir = await tempDir(t);
    const input = await solidPng(path.join(dir, "frame.png"), 1000, 500, [200, 100, 50]);
    const jpeg = path.join(dir, "thumb.jpg");
    assert.deepEqual(await makeThumbnail(input, jpeg), { width: 512, height: 256 });
    const meta = await sharp(jpeg).metadata();
    assert.equal(meta.format, "jpeg");
    assert.deepEqual([meta.width, meta.height], [512, 256]);
    assertClose(await pixelAt(jpeg, 256, 128), [200, 100, 50, 255], 4, "JPEG thumbnail colour");

    const png = path.join(dir, "thumb.png");
    assert.deepEqual(await makeThumbnail(input, png, { maxSize: 100 }), { width: 100, height: 50 });
    assert.equal((await sharp(png).metadata()).format, "png");
    assert.deepEqual(await pixelAt(png, 50, 25), [200, 100, 50, 255]);
  });

  it("never upscales a small image", async (t) => {
    const dir = await tempDir(t);
    const input = await solidPng(path.join(dir, "small.png"), 100, 40, [10, 20, 30]);
    const output = path.join(dir, "thumb.png");
    assert.deepEqual(await makeThumbnail(input, output), { width: 100, height: 40 });
    const meta = await sharp(output).metadata();
    assert.deepEqual([meta.width, meta.height], [100, 40]);
  });

  it("shows a linear mid-grey EXR (0.214) as sRGB grey 128, not as dark 55", async (t) => {
    const dir = await tempDir(t);
    const exr = await greyExr(dir, 0.214);
    assert.equal(sniffImageFormat(new Uint8Array([0x76, 0x2f, 0x31, 0x01]), exr), "exr");
    const output = path.join(dir, "thumb.png");
    assert.deepEqual(await makeThumbnail(exr, output), { width: 64, height: 32 });
    assertClose((await pixelAt(output, 32, 16)).slice(0, 3), [128, 128, 128], 2, "EXR grey");
  });

  it("flattens transparency onto dark grey for JPEG and keeps it for PNG", async (t) => {
    const dir = await tempDir(t);
    const input = await solidPng(path.join(dir, "clear.png"), 40, 20, [255, 255, 255], 0);
    const jpeg = path.join(dir, "thumb.jpg");
    await makeThumbnail(input, jpeg);
    assertClose(await pixelAt(jpeg, 20, 10), [64, 64, 64, 255], 3, "transparent pixel in JPEG");
    const png = path.join(dir, "thumb.png");
    await makeThumbnail(input, png);
    assert.equal((await pixelAt(png, 20, 10))[3], 0);
  });

  it("writes 8-bit thumbnails from 16-bit TIFF frames", async (t) => {
    const dir = await tempDir(t);
    const tiff = path.join(dir, "frame.tif");
    await runFfmpeg(["-f", "lavfi", "-i", "color=c=0x0080ff:s=30x30", "-frames:v", "1", "-pix_fmt", "rgb48le", tiff]);
    assert.equal((await sharp(tiff).metadata()).depth, "ushort");
    const png = path.join(dir, "thumb.png");
    await makeThumbnail(tiff, png);
    assert.equal((await sharp(png).metadata()).depth, "uchar");
    assertClose((await pixelAt(png, 15, 15)).slice(0, 3), [0, 128, 255], 3, "TIFF colour (ffmpeg made it via YUV)");
  });

  it("decodes Radiance HDR itself (ffmpeg 5.1 cannot) and applies the sRGB curve", async (t) => {
    const dir = await tempDir(t);
    const width = 16;
    const rows = Array.from({ length: 4 }, () => Array.from({ length: width }, () => rgbeGrey(0.214)).flat());
    const hdr = path.join(dir, "frame.hdr");
    await writeFile(hdr, hdrFile(width, rows));
    const output = path.join(dir, "thumb.png");
    assert.deepEqual(await makeThumbnail(hdr, output), { width: 16, height: 4 });
    assertClose((await pixelAt(output, 8, 2)).slice(0, 3), [128, 128, 128], 2, "HDR grey");
  });

  it("decodes Cineon log frames (ffmpeg 5.1 cannot)", async (t) => {
    const dir = await tempDir(t);
    // Left half reference white (code 685), right half reference black (code 95).
    const cin = path.join(dir, "frame.cin");
    await writeFile(cin, cineonFile(20, 10, (x) => (x < 10 ? [685, 685, 685] : [95, 95, 95])));
    const output = path.join(dir, "thumb.png");
    assert.deepEqual(await makeThumbnail(cin, output), { width: 20, height: 10 });
    assertClose((await pixelAt(output, 2, 5)).slice(0, 3), [255, 255, 255], 1, "Cineon white");
    assertClose((await pixelAt(output, 17, 5)).slice(0, 3), [0, 0, 0], 1, "Cineon black");
  });

  it("rejects an output that is neither .jpg nor .png, and a missing input", async (t) => {
    const dir = await tempDir(t);
    const input = await solidPng(path.join(dir, "frame.png"), 10, 10, [1, 2, 3]);
    await assert.rejects(makeThumbnail(input, path.join(dir, "thumb.gif")), (error: unknown) => {
      assert.ok(error instanceof UserInputError);
      assert.match(error.message, /"[^"]*thumb\.gif" must end in \.jpg or \.png/);
      return true;
    });
    await assert.rejects(makeThumbnail(path.join(dir, "nope.png"), path.join(dir, "t.png")), (error: unknown) => {
      assert.ok(error instanceof UserInputError);
      assert.match(error.message, /nope\.png" does not exist/);
      return true;
    });
  });

  it("reports ffmpeg's stderr when a frame is corrupt", async (t) => {
    const dir = await tempDir(t);
    const bad = path.join(dir, "bad.exr");
    await writeFile(bad, Buffer.concat([Buffer.from([0x76, 0x2f, 0x31, 0x01, 2, 0, 0, 0]), Buffer.alloc(200, 0x55)]));
    await assert.rejects(makeThumbnail(bad, path.join(dir, "t.jpg")), (error: unknown) => {
      assert.ok(error instanceof FfmpegError, String(error));
      assert.notEqual(error.stderrTail.trim(), "");
      assert.match(error.message, /^ffmpeg failed with exit code \d+: .+/);
      assert.ok(!error.message.includes("\n"), "message is one line");
      return true;
    });
  });
});

// ------------------------------------------------------------ preview videos

describe("makePreviewVideo", () => {
  const colours: Rgb[] = [
    [255, 0, 0],
    [0, 255, 0],
    [0, 0, 255],
    [255, 255, 0],
    [0, 255, 255],
    [255, 0, 255],
  ];

  it("plays 6 frames with gaps in their numbering in order, one video frame each", async (t) => {
    const dir = await tempDir(t);
    // Every 5th frame, in a folder whose name ffmpeg's patterns would trip over.
    const folder = path.join(dir, "shot %d 50%");
    await mkdir(folder);
    const frames = await Promise.all(
      colours.map((colour, i) => solidPng(path.join(folder, `frame_${String(1 + i * 5).padStart(4, "0")}.png`), 64, 32, colour)),
    );
    const video = await makePreviewVideo(frames, path.join(dir, "out", "preview.mp4"), { fps: 12, encodingSpeed: "REALTIME" });
    assert.deepEqual(video, { file: path.join(dir, "out", "preview.mp4"), frames: 6, width: 64, height: 32 });
    const stream = await probeVideoStream(video.file, { countFrames: true });
    assert.deepEqual(stream, { codec: "h264", pixelFormat: "yuv420p", width: 64, height: 32, frameRate: "12/1", frames: 6 });
    const decoded = await videoFrames(video.file, 64, 32);
    assert.equal(decoded.length, 6);
    decoded.forEach((frame, i) => assertClose(centre(frame, 64, 32), colours[i] ?? [], 16, `frame ${i}`));
    assert.deepEqual((await readdir(path.join(dir, "out"))).sort(), ["preview.mp4"], "no partial file is left behind");
  });

  for (const container of ["MPEG4", "QUICKTIME", "MKV", "AVI"] as const satisfies readonly VideoContainer[]) {
    it(`writes a ${container} file that ffprobe accepts, named with its extension`, async (t) => {
      const dir = await tempDir(t);
      const frames = await Promise.all([0, 1, 2].map((i) => solidPng(path.join(dir, `f${i}.png`), 48, 24, colours[i] ?? [0, 0, 0])));
      const video = await makePreviewVideo(frames, path.join(dir, "preview.mp4"), {
        fps: 24,
        container,
        quality: "LOW",
        encodingSpeed: "REALTIME",
      });
      assert.equal(video.file, path.join(dir, `preview${videoExtension(container)}`));
      assert.ok(existsSync(video.file));
      if (container !== "MPEG4") assert.ok(!existsSync(path.join(dir, "preview.mp4")));
      const stream = await probeVideoStream(video.file, { countFrames: true });
      assert.equal(stream.codec, "h264");
      assert.equal(stream.pixelFormat, "yuv420p");
      assert.equal(stream.frames, 3);
    });
  }

  it("makes odd frame sizes even, and scales wide frames down to maxWidth keeping the aspect", async (t) => {
    const dir = await tempDir(t);
    const odd = await Promise.all([0, 1].map((i) => solidPng(path.join(dir, `odd${i}.png`), 101, 51, [90, 90, 90])));
    const small = await makePreviewVideo(odd, path.join(dir, "odd.mp4"), { fps: 24, encodingSpeed: "REALTIME" });
    assert.deepEqual([small.width, small.height], [100, 50]);
    const probed = await probeVideoStream(small.file);
    assert.deepEqual([probed.width, probed.height, probed.pixelFormat], [100, 50, "yuv420p"]);

    const wide = await Promise.all([0, 1].map((i) => solidPng(path.join(dir, `wide${i}.png`), 1000, 500, [90, 90, 90])));
    const scaled = await makePreviewVideo(wide, path.join(dir, "wide.mp4"), { fps: 24, maxWidth: 320, encodingSpeed: "REALTIME" });
    assert.deepEqual([scaled.width, scaled.height], [320, 160]);
  });

  it("shows EXR frames in sRGB like thumbnails do, and encodes LOSSLESS", async (t) => {
    const dir = await tempDir(t);
    const exr = await greyExr(dir, 0.214);
    const video = await makePreviewVideo([exr, exr], path.join(dir, "grey"), {
      fps: 25,
      quality: "LOSSLESS",
      encodingSpeed: "REALTIME",
      container: "MKV",
    });
    assert.equal(video.file, path.join(dir, "grey.mkv"));
    const [first] = await videoFrames(video.file, 64, 32);
    assert.ok(first !== undefined);
    assertClose(centre(first, 64, 32), [128, 128, 128], 3, "EXR grey in the video");
  });

  it("converts frames ffmpeg cannot read (HDR) and mixed formats", async (t) => {
    const dir = await tempDir(t);
    const hdr = path.join(dir, "a.hdr");
    await writeFile(hdr, hdrFile(8, Array.from({ length: 8 }, () => Array.from({ length: 8 }, () => rgbeGrey(0.214)).flat())));
    const png = await solidPng(path.join(dir, "b.png"), 8, 8, [255, 0, 0]);
    const video = await makePreviewVideo([hdr, png], path.join(dir, "mixed.mp4"), { fps: 24, encodingSpeed: "REALTIME" });
    assert.deepEqual([video.frames, video.width, video.height], [2, 8, 8]);
    const decoded = await videoFrames(video.file, 8, 8);
    assert.equal(decoded.length, 2);
    assertClose(centre(decoded[0] ?? Buffer.alloc(0), 8, 8), [128, 128, 128], 6, "HDR frame");
    assertClose(centre(decoded[1] ?? Buffer.alloc(0), 8, 8), [255, 0, 0], 24, "PNG frame");
  });

  it("fails with ffmpeg's stderr tail when a frame is corrupt, leaving no video", async (t) => {
    const dir = await tempDir(t);
    const good = await solidPng(path.join(dir, "f1.png"), 32, 16, [0, 0, 0]);
    const corrupt = path.join(dir, "f2.png");
    await writeFile(corrupt, Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), Buffer.alloc(64, 0xff)]));
    await assert.rejects(makePreviewVideo([good, corrupt, good], path.join(dir, "p.mp4"), { fps: 24 }), (error: unknown) => {
      assert.ok(error instanceof FfmpegError, String(error));
      assert.match(error.stderrTail, /png|invalid|chunk/i);
      assert.ok(error.message.includes(error.stderrTail.trim().split("\n").at(-1)?.trim() ?? "?"), "message quotes the last stderr line");
      return true;
    });
    assert.deepEqual((await readdir(dir)).filter((name) => name.startsWith("p.")), []);
  });

  it("rejects an empty frame list and a bad frame rate", async () => {
    await assert.rejects(makePreviewVideo([], "/tmp/never.mp4", { fps: 24 }), UserInputError);
    await assert.rejects(makePreviewVideo(["/tmp/x.png"], "/tmp/never.mp4", { fps: 0 }), /frame rate "0"/);
  });
});

describe("preview video settings", () => {
  it("maps quality to CRF (LOSSLESS to qp 0) and speed to x264 presets", () => {
    assert.deepEqual(x264Arguments("LOWEST", "REALTIME"), ["-c:v", "libx264", "-preset", "ultrafast", "-crf", "35"]);
    assert.deepEqual(x264Arguments("HIGH", "GOOD"), ["-c:v", "libx264", "-preset", "medium", "-crf", "18"]);
    assert.deepEqual(x264Arguments("PERC_LOSSLESS", "BEST"), ["-c:v", "libx264", "-preset", "slow", "-crf", "10"]);
    assert.deepEqual(x264Arguments("LOSSLESS", "BEST").slice(-2), ["-qp", "0"]);
    const order = ["LOWEST", "VERYLOW", "LOW", "MEDIUM", "HIGH", "PERC_LOSSLESS", "LOSSLESS"] as const;
    const crfs = order.map((quality) => Number(x264Arguments(quality, "GOOD").at(-1)));
    assert.deepEqual([...crfs].sort((a, b) => b - a), crfs, "better quality never has a higher CRF");
    assert.throws(() => x264Arguments("ULTRA" as never, "GOOD"), UserInputError);
  });

  it("gives exact frame rates, NTSC ones as n*1000/1001", () => {
    assert.equal(frameRateArgument(24), "24/1");
    assert.equal(frameRateArgument(30 / 1.001), "30000/1001");
    assert.equal(frameRateArgument(23.976), "24000/1001");
    assert.equal(frameRateArgument(12.5), "12500/1000");
    assert.throws(() => frameRateArgument(Number.NaN), UserInputError);
    assert.throws(() => frameRateArgument(-1), UserInputError);
  });

  it("replaces the output extension with the container's", () => {
    assert.equal(previewVideoPath("/a/b/preview.mp4", "QUICKTIME"), "/a/b/preview.mov");
    assert.equal(previewVideoPath("/a/b.c/preview", "MKV"), "/a/b.c/preview.mkv");
    assert.equal(previewVideoPath("rel/clip.avi", "MPEG4"), path.join("rel", "clip.mp4"));
    assert.deepEqual((["MPEG4", "QUICKTIME", "MKV", "AVI"] as const).map(videoExtension), [".mp4", ".mov", ".mkv", ".avi"]);
  });
});

// ------------------------------------------------------------ decoders and curves

describe("image decoding", () => {
  it("sRGB curve: 0 to 0, 1 to 1, 0.214 to mid-grey, monotonic and clamped", () => {
    assert.equal(linearToSrgb(0), 0);
    assert.equal(linearToSrgb(1), 1);
    assert.ok(Math.abs(linearToSrgb(0.214) - 0.5) < 0.001);
    assert.equal(linearToSrgb(Number.NaN), 0);
    fc.assert(
      fc.property(fc.double({ min: -2, max: 4, noNaN: true }), fc.double({ min: -2, max: 4, noNaN: true }), (a, b) => {
        const [lo, hi] = a <= b ? [a, b] : [b, a];
        const [x, y] = [linearToSrgb(lo), linearToSrgb(hi)];
        return x <= y && x >= 0 && y <= 1;
      }),
    );
  });

  it("Cineon log: code 95 is black, 685 is white, monotonic in between", () => {
    assert.equal(cineonLogToLinear(95), 0);
    assert.ok(Math.abs(cineonLogToLinear(685) - 1) < 1e-9);
    fc.assert(fc.property(fc.integer({ min: 0, max: 1022 }), (code) => cineonLogToLinear(code) <= cineonLogToLinear(code + 1)));
  });

  it("decodes any RGBE scanlines, run-length encoded or flat", () => {
    // (1,1,1,n) would be a repeat marker in a flat scanline, which this encoder never writes.
    const pixel = fc
      .tuple(fc.integer({ min: 0, max: 255 }), fc.integer({ min: 0, max: 255 }), fc.integer({ min: 0, max: 255 }), fc.integer({ min: 1, max: 255 }))
      .filter(([r, g, b]) => !(r === 1 && g === 1 && b === 1));
    // Few distinct values, so that runs occur and the RLE run path is exercised.
    const runPixel = fc.constantFrom<[number, number, number, number]>([10, 20, 30, 128], [200, 200, 200, 120], [2, 2, 2, 130]);
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 70 }),
        fc.integer({ min: 1, max: 3 }),
        fc.infiniteStream(fc.oneof(pixel, runPixel)),
        (width, height, stream) => {
          const rows = Array.from({ length: height }, () => Array.from({ length: width }, () => stream.next().value as number[]).flat());
          const image = decodeRadianceHdr(hdrFile(width, rows));
          assert.deepEqual([image.width, image.height, image.encoding], [width, height, "linear"]);
          rows.forEach((row, y) => {
            for (let x = 0; x < width; x++) {
              const [r, g, b, e] = row.slice(x * 4, x * 4 + 4) as [number, number, number, number];
              const expected = [r, g, b].map((m) => (m + 0.5) * Math.pow(2, e - 136));
              const at = (y * width + x) * 4;
              const actual = [...image.rgba.subarray(at, at + 3)];
              actual.forEach((value, i) => assert.ok(Math.abs(value - (expected[i] ?? NaN)) <= (expected[i] ?? 0) * 1e-6));
            }
          });
        },
      ),
      { numRuns: 60 },
    );
  });

  it("expands the old HDR encoding's repeat markers", () => {
    const image = decodeRadianceHdr(hdrFile(4, [[128, 128, 128, 129, 1, 1, 1, 2, 0, 0, 0, 0]]));
    const reds = [0, 1, 2, 3].map((x) => image.rgba[x * 4]);
    assert.deepEqual(reds, [1.00390625, 1.00390625, 1.00390625, 0]);
  });

  it("refuses damaged HDR and Cineon data with an error naming the file", () => {
    const good = hdrFile(16, [Array.from({ length: 16 }, () => rgbeGrey(0.5)).flat()]);
    assert.throws(() => decodeRadianceHdr(good.subarray(0, good.length - 3), "cut.hdr"), /"cut\.hdr".*cut short/);
    const cin = cineonFile(4, 4, () => [500, 500, 500]);
    assert.throws(() => decodeCineon(cin.subarray(0, cin.length - 8), "cut.cin"), /"cut\.cin".*cut short/);
    const rotated = cineonFile(4, 4, () => [500, 500, 500]);
    rotated[192] = 4;
    assert.throws(() => decodeCineon(rotated, "rot.cin"), /orientation 4\) is not supported/);
  });

  it("reads Cineon orientation: bottom-up rows are flipped", () => {
    const cin = cineonFile(1, 2, (_x, y) => (y === 0 ? [685, 685, 685] : [95, 95, 95]));
    cin[192] = 1; // stored bottom row first
    const image = decodeCineon(cin);
    assert.equal(image.rgba[0], 0, "top pixel is the second stored row (black)");
    assert.ok(Math.abs((image.rgba[4] ?? 0) - 1) < 1e-6, "bottom pixel is the first stored row (white)");
  });

  it("picks the EXR layer to show", async (t) => {
    assert.equal(chooseExrLayer(["A", "B", "G", "R"]), "");
    assert.equal(chooseExrLayer(["Y"]), "");
    const blender = ["ViewLayer.Combined.A", "ViewLayer.Combined.B", "ViewLayer.Combined.G", "ViewLayer.Combined.R"];
    assert.equal(chooseExrLayer(blender), "ViewLayer.Combined");
    const passes = ["ViewLayer.DiffCol.B", "ViewLayer.DiffCol.G", "ViewLayer.DiffCol.R", "ViewLayer.Depth.Z", ...blender];
    assert.equal(chooseExrLayer(passes), "ViewLayer.Combined");
    assert.equal(chooseExrLayer(["ViewLayer.DiffCol.B", "ViewLayer.DiffCol.G", "ViewLayer.DiffCol.R"]), "ViewLayer.DiffCol");
    assert.equal(chooseExrLayer(["ViewLayer.Depth.Z"]), "");

    const dir = await tempDir(t);
    const { readFile } = await import("node:fs/promises");
    assert.deepEqual([...exrChannelNames(await readFile(await greyExr(dir, 0.5, 4, 4)))].sort(), ["B", "G", "R"]);
    assert.deepEqual(exrChannelNames(new Uint8Array([0x76, 0x2f, 0x31, 0x01, 2, 0, 0, 0, 0x63])), [], "a cut-short header gives no channels");
  });

  it("recognises formats by their first bytes, Targa by its name", () => {
    const bytes = (...values: number[]): Uint8Array => new Uint8Array(values);
    const text = (value: string): Uint8Array => new Uint8Array(Buffer.from(value, "latin1"));
    assert.equal(sniffImageFormat(bytes(0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a), "a.bin"), "png");
    assert.equal(sniffImageFormat(bytes(0xff, 0xd8, 0xff, 0xe0), "a"), "jpeg");
    assert.equal(sniffImageFormat(text("RIFF\0\0\0\0WEBPVP8 "), "a"), "webp");
    assert.equal(sniffImageFormat(bytes(0x49, 0x49, 0x2a, 0), "a"), "tiff");
    assert.equal(sniffImageFormat(text("BM\0\0"), "a"), "bmp");
    assert.equal(sniffImageFormat(text("#?RADIANCE\n"), "a"), "hdr");
    assert.equal(sniffImageFormat(text("SDPX"), "a"), "dpx");
    assert.equal(sniffImageFormat(bytes(0x80, 0x2a, 0x5f, 0xd7), "a"), "cineon");
    assert.equal(sniffImageFormat(bytes(0, 0, 0, 0x0c, 0x6a, 0x50, 0x20, 0x20), "a"), "jpeg2000");
    assert.equal(sniffImageFormat(bytes(0xff, 0x4f, 0xff, 0x51), "a"), "jpeg2000");
    assert.equal(sniffImageFormat(bytes(0x01, 0xda, 1, 1), "a.rgb"), "iris");
    assert.equal(sniffImageFormat(bytes(0, 0, 2, 0), "frame_0001.TGA"), "targa");
    assert.equal(sniffImageFormat(bytes(0, 0, 2, 0), "frame_0001.xyz"), "unknown");
  });
});

// ------------------------------------------------------------ the ffmpeg runner

describe("ffmpeg runner", () => {
  it("says how to install ffmpeg when it is not on PATH", async (t) => {
    const emptyDir = await tempDir(t);
    const savedPath = process.env["PATH"];
    process.env["PATH"] = emptyDir;
    try {
      await assert.rejects(runFfmpeg(["-version"]), (error: unknown) => {
        assert.ok(error instanceof UserInputError);
        assert.equal(error.message, "ffmpeg was not found on PATH; install it (Debian: apt-get install ffmpeg)");
        return true;
      });
      await assert.rejects(runMediaTool("ffprobe", ["-version"]), /ffprobe was not found on PATH/);
    } finally {
      process.env["PATH"] = savedPath;
    }
  });

  it("keeps the end of long stderr output, starting on a line boundary", () => {
    assert.equal(tailOf("short", 100), "short");
    assert.equal(tailOf("line one\nline two\nline three", 14), "line three");
    fc.assert(fc.property(fc.string(), fc.integer({ min: 1, max: 50 }), (text, max) => text.endsWith(tailOf(text, max)) && tailOf(text, max).length <= max));
  });
});

// ------------------------------------------------------------ real Blender output

const blender = "/usr/bin/blender";

describe("frames as Blender writes them", { skip: existsSync(blender) ? false : "Blender is not installed" }, () => {
  it("thumbnails every Blender format like the PNG of the same render", async (t) => {
    const dir = await tempDir(t);
    const formats: [string, string, string][] = [
      ["PNG", "png", ""],
      ["OPEN_EXR", "exr", ""],
      ["OPEN_EXR_MULTILAYER", "ml.exr", ""],
      ["HDR", "hdr", ""],
      ["CINEON", "cin", ""],
      ["DPX", "dpx", "st.color_depth='10'"],
      ["DPX", "log.dpx", "st.color_depth='10'; st.use_cineon_log=True"],
      ["TARGA", "tga", ""],
      ["TARGA_RAW", "raw.tga", ""],
      ["IRIS", "rgb", ""],
      ["JPEG2000", "jp2", ""],
      ["BMP", "bmp", ""],
      ["TIFF", "tif", "st.color_depth='16'"],
    ];
    const script = [
      "import bpy",
      "s = bpy.context.scene",
      "s.render.engine = 'BLENDER_WORKBENCH'",
      "s.render.resolution_x, s.render.resolution_y, s.render.resolution_percentage = 64, 32, 100",
      "s.view_settings.view_transform = 'Standard'",
      "bpy.ops.render.render()",
      "img = bpy.data.images['Render Result']",
      ...formats.flatMap(([format, extension, extra]) => [
        "st = s.render.image_settings",
        `st.file_format = '${format}'`,
        "st.color_mode = 'RGB'",
        ...(extra === "" ? [] : [extra]),
        `img.save_render(${JSON.stringify(path.join(dir, `frame.${extension}`))}, scene=s)`,
      ]),
    ].join("\n");
    await promisify(execFile)(blender, ["-b", "--factory-startup", "--python-expr", script], { timeout: 60_000 });

    const reference = path.join(dir, "thumb-png.png");
    await makeThumbnail(path.join(dir, "frame.png"), reference);
    const expected = await sharp(reference).removeAlpha().raw().toBuffer();
    for (const [, extension] of formats) {
      const output = path.join(dir, `thumb-${extension}.png`);
      assert.deepEqual(await makeThumbnail(path.join(dir, `frame.${extension}`), output), { width: 64, height: 32 }, extension);
      const actual = await sharp(output).removeAlpha().raw().toBuffer();
      const meanDifference = actual.reduce((sum, value, i) => sum + Math.abs(value - (expected[i] ?? 0)), 0) / actual.length;
      assert.ok(meanDifference < 3, `${extension}: mean difference ${meanDifference.toFixed(2)} from the PNG`);
    }
  });
});
