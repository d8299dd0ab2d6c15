import { access } from "node:fs/promises";
import { join } from "node:path";
import { DEPENDENCY_MAP_PATH } from "../../domain/dependencies.ts";

/**
 * The packing map a project was uploaded with (src/packing/pack.ts), for
 * render_frames.py to point every traced path at its uploaded copy before
 * rendering. Projects submitted without one (no dependencies, or older
 * submissions) render as they are.
 */
export async function dependencyMapOf(projectFolder: string): Promise<{ dependencyMap?: { file: string; projectRoot: string } }> {
  const file = join(projectFolder, DEPENDENCY_MAP_PATH);
  const present = await access(file).then(() => true, () => false);
  return present ? { dependencyMap: { file, projectRoot: projectFolder } } : {};
}
