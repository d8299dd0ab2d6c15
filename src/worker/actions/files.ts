import { stat } from "node:fs/promises";
import { checkBlendFile, type BlendHeader } from "../../blender/blend-file.ts";
import { JobFailedError } from "../../errors.ts";

/** Fails the job with a clear message when a file the action needs is not there. */
export async function assertFileExists(path: string, what: string): Promise<void> {
  const info = await stat(path).catch(() => undefined);
  if (!info?.isFile()) {
    throw new JobFailedError(`${what} is missing: ${path}. Run the copy_efs job first, or check EFS_BLENDER_FILE_PATH and the project's blendFile.`);
  }
}

/**
 * Checks the .blend before Blender opens it: Blender given a damaged file
 * carries on with its default scene, which would render the wrong picture.
 * Returns the file's header (which Blender saved it).
 */
export async function assertBlendFileReadable(path: string): Promise<BlendHeader> {
  await assertFileExists(path, "The .blend file");
  return (await checkBlendFile(path)).header;
}
