import { createReadStream, createWriteStream } from "node:fs";
import { constants, copyFile, link, mkdir, readdir, readFile, rename, rm, stat, writeFile } from "node:fs/promises";
import { dirname, join, relative, sep } from "node:path";
import { pipeline } from "node:stream/promises";
import { createHash, randomBytes } from "node:crypto";
import { pathToFileURL } from "node:url";
import { countBytes } from "./progress.ts";
import { assertValidKey, type ObjectStore, type PutOptions, type PutResult, type ShareLink, type StoredObject, type TransferOptions } from "./object-store.ts";

/** Marks files being written; listings skip them so half objects never show. */
const PARTIAL_SUFFIX = ".brender-partial";

/**
 * The embedded object store: one folder on the local file system
 * (`$BRENDER_HOME/bucket` by default), keys mapped to relative paths.
 */
export class FsObjectStore implements ObjectStore {
  readonly root: string;

  constructor(root: string) {
    this.root = root;
  }

  describe(key: string): string {
    assertValidKey(key, { allowTrailingSlash: true });
    return join(this.root, ...key.split("/")) + (key.endsWith("/") ? sep : "");
  }

  async putFile(key: string, sourcePath: string, options: PutOptions = {}): Promise<PutResult> {
    const hash = createHash("sha256");
    let size = 0;
    await this.writeAtomically(key, (temp) =>
      pipeline(
        createReadStream(sourcePath),
        async function* (chunks: AsyncIterable<Buffer>) {
          for await (const chunk of chunks) {
            hash.update(chunk);
            size += chunk.length;
            options.onProgress?.(size);
            yield chunk;
          }
        },
        createWriteStream(temp),
        { signal: options.signal },
      ),
    );
    return { key, size, sha256: hash.digest("hex") };
  }

  async putBytes(key: string, data: string | Uint8Array): Promise<void> {
    await this.writeAtomically(key, (temp) => writeFile(temp, data));
  }

  async getFile(key: string, destinationPath: string, options: TransferOptions = {}): Promise<void> {
    const source = this.pathOf(key);
    await mkdir(dirname(destinationPath), { recursive: true });
    const temp = `${destinationPath}.${randomBytes(4).toString("hex")}${PARTIAL_SUFFIX}`;
    try {
      await pipeline(createReadStream(source), countBytes(options.onProgress), createWriteStream(temp), { signal: options.signal });
      await rename(temp, destinationPath);
    } catch (error) {
      await rm(temp, { force: true });
      throw error;
    }
  }

  async linkFile(key: string, destinationPath: string): Promise<"linked" | "copied"> {
    const source = this.pathOf(key);
    await mkdir(dirname(destinationPath), { recursive: true });
    try {
      await link(source, destinationPath);
      return "linked";
    } catch (error) {
      // Another file system (EXDEV), or one without hard links: a copy (a reflink where the file system can).
      if (!["EXDEV", "EPERM", "EMLINK", "ENOTSUP", "EOPNOTSUPP"].includes((error as NodeJS.ErrnoException).code ?? "")) throw error;
      await copyFile(source, destinationPath, constants.COPYFILE_FICLONE);
      return "copied";
    }
  }

  async getBytes(key: string): Promise<Buffer> {
    return readFile(this.pathOf(key));
  }

  async stat(key: string): Promise<StoredObject | undefined> {
    try {
      const info = await stat(this.pathOf(key));
      return info.isFile() ? { key, size: info.size } : undefined;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
      throw error;
    }
  }

  async *list(prefix: string): AsyncIterable<StoredObject> {
    if (prefix !== "") assertValidKey(prefix, { allowTrailingSlash: true });
    // Walk only the deepest folder the prefix names, then filter by the rest. Keys are
    // sorted as a whole (as S3 does): "a/b.png" comes after "a.zip", not before it.
    const folderPart = prefix.includes("/") ? prefix.slice(0, prefix.lastIndexOf("/")) : "";
    const objects: StoredObject[] = [];
    for await (const object of this.walk(join(this.root, folderPart), prefix)) objects.push(object);
    objects.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
    yield* objects;
  }

  async delete(key: string): Promise<void> {
    await rm(this.pathOf(key), { force: true });
  }

  /** Local files need no signing: the link is the file's URL, valid as long as the file is there. */
  async linkFor(key: string, _expiresSeconds: number): Promise<ShareLink> {
    return { url: pathToFileURL(this.pathOf(key)).href };
  }

  private async *walk(folder: string, prefix: string): AsyncIterable<StoredObject> {
    let entries;
    try {
      entries = await readdir(folder, { withFileTypes: true });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") return;
      throw error;
    }
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const entry of entries) {
      const path = join(folder, entry.name);
      const key = relative(this.root, path).split(sep).join("/");
      if (entry.isDirectory()) {
        if (key.startsWith(prefix) || prefix.startsWith(`${key}/`)) yield* this.walk(path, prefix);
      } else if (entry.isFile() && !entry.name.endsWith(PARTIAL_SUFFIX) && key.startsWith(prefix)) {
        yield { key, size: (await stat(path)).size };
      }
    }
  }

  private pathOf(key: string): string {
    assertValidKey(key);
    return join(this.root, ...key.split("/"));
  }

  private async writeAtomically(key: string, write: (tempPath: string) => Promise<unknown>): Promise<void> {
    const target = this.pathOf(key);
    await mkdir(dirname(target), { recursive: true });
    const temp = `${target}.${randomBytes(4).toString("hex")}${PARTIAL_SUFFIX}`;
    try {
      await write(temp);
      await rename(temp, target);
    } catch (error) {
      await rm(temp, { force: true });
      throw error;
    }
  }
}
