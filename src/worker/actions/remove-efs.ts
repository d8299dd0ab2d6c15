import { readdir, rm } from "node:fs/promises";
import { homedir } from "node:os";
import { join, resolve } from "node:path";
import { workLayout } from "../../domain/layout.ts";
import { UserInputError } from "../../errors.ts";
import { loadPayload, type ActionContext } from "../context.ts";

/**
 * The `remove_efs` action: empties the shared work folder. With a payload it
 * removes only that render's folder; without one, everything in the work
 * folder (the folder itself stays, as an EFS mount point must).
 */
export async function removeEfs(context: ActionContext): Promise<void> {
  const folder = resolve(context.workFolder);
  if (folder === "/" || folder === resolve(homedir())) {
    throw new UserInputError(`Refusing to empty "${folder}": EFS_BLENDER_FOLDER_PATH must be a dedicated work folder.`);
  }
  const payload = await loadPayload(context.env);
  if (payload) {
    await rm(workLayout(folder, payload.renderId).root, { recursive: true, force: true });
    context.log.info({ renderId: payload.renderId }, "render folder removed");
    return;
  }
  const names = await readdir(folder).catch(() => [] as string[]);
  await Promise.all(names.map((name) => rm(join(folder, name), { recursive: true, force: true })));
  context.log.info({ folder, removed: names.length }, "work folder emptied");
}
