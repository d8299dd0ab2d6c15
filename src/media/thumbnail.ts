import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import sharp from "sharp";
import { JobFailedError, UserInputError } from "../errors.ts";
import { decodeToDisplayPng, errorMessage, planFrameDecoding } from "./decode.ts";

/** Longest thumbnail edge when none is given. */
const DEFAULT_THUMBNAIL_SIZE = 512;
/** Transparent pixels of a JPEG thumbnail (which has no alpha) show this neutral dark grey. */
const THUMBNAIL_BACKGROUND = { r: 64, g: 64, b: 64 };
const JPEG_QUALITY = 85;

/**
 * Writes a thumbnail of a rendered frame (any format Blender writes) no larger
 * than `maxSize` on its longest edge, never upscaled. The output format follows
 * the output extension: .jpg/.jpeg (transparency flattened onto dark grey) or .png.
 */
export async function makeThumbnail(
  input: string,
  output: string,
  options: { maxSize?: number } = {},
): Promise<{ width: number; height: number }> {
  const maxSize = options.maxSize ?? DEFAULT_THUMBNAIL_SIZE;
  if (!Number.isInteger(maxSize) || maxSize < 1) {
    throw new UserInputError(`thumbnail size "${maxSize}" is not a positive whole number of pixels; use e.g. 512`);
  }
  const outputKind = thumbnailKind(output);
  const decoding = await planFrameDecoding(input);
  const tempDir = await mkdtemp(path.join(tmpdir(), "brender-thumb-"));
  try {
    let source = input;
    if (decoding.reader !== "sharp") {
      source = path.join(tempDir, "decoded.png");
      await decodeToDisplayPng(input, source, decoding);
    }
    await mkdir(path.dirname(path.resolve(output)), { recursive: true });
    let pipeline = sharp(source)
      .resize({ width: maxSize, height: maxSize, fit: "inside", withoutEnlargement: true })
      // 16-bit sources (TIFF, EXR via ffmpeg) would otherwise give 16-bit PNG thumbnails.
      .toColourspace("srgb");
    pipeline =
      outputKind === "jpeg"
        ? pipeline.flatten({ background: THUMBNAIL_BACKGROUND }).jpeg({ quality: JPEG_QUALITY })
        : pipeline.png();
    const info = await pipeline.toFile(output).catch((error: unknown) => {
      throw new JobFailedError(`could not make a thumbnail of "${input}": ${errorMessage(error)}`, { cause: error });
    });
    return { width: info.width, height: info.height };
  } finally {
    await rm(tempDir, { recursive: true, force: true });
  }
}

function thumbnailKind(output: string): "jpeg" | "png" {
  const extension = path.extname(output).toLowerCase();
  if (extension === ".jpg" || extension === ".jpeg") return "jpeg";
  if (extension === ".png") return "png";
  throw new UserInputError(`thumbnail file "${output}" must end in .jpg or .png; rename it`);
}

