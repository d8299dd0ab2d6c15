/**
 * What does content-addressed upload save on an unchanged re-submit?
 *
 * Generates a project (200 files, 200 MB of random bytes by default), uploads
 * it to a fresh filesystem object store with a fresh hash cache, then submits
 * the unchanged project again (new manifest, same cache). Prints both times,
 * the bytes each uploaded and the ratio; asserts nothing.
 *
 * Run: node bench/project-upload.ts [files=200] [megabytes=200]
 */
import { randomBytes } from "node:crypto";
import { mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { uploadProject, type UploadResult } from "../src/storage/content-upload.ts";
import { FsObjectStore } from "../src/storage/fs-store.ts";
import { HashCache, hashCachePath } from "../src/storage/hash-cache.ts";

const files = Number(process.argv[2] ?? 200);
const megabytes = Number(process.argv[3] ?? 200);
const dir = mkdtempSync(join(tmpdir(), "brender-bench-upload-"));

try {
  const project = join(dir, "project");
  const fileBytes = Math.floor((megabytes * 1024 * 1024) / files);
  // A project saved some time ago, as one usually is when it is submitted:
  // the hash cache does not trust files modified moments before it reads them.
  const saved = new Date(Date.now() - 60_000);
  for (let index = 0; index < files; index += 1) {
    const folder = join(project, "textures", `set${index % 10}`);
    mkdirSync(folder, { recursive: true });
    const path = join(folder, `texture_${index}.png`);
    writeFileSync(path, randomBytes(fileBytes));
    utimesSync(path, saved, saved);
  }
  const store = new FsObjectStore(join(dir, "bucket"));
  const cacheFile = hashCachePath(join(dir, "home"));

  async function submit(renderId: string): Promise<{ seconds: number; result: UploadResult }> {
    const started = performance.now();
    const hashCache = await HashCache.open(cacheFile);
    const result = await uploadProject(store, { kind: "folder", path: project }, `bench/projects/${renderId}.manifest.json`, { hashCache });
    return { seconds: (performance.now() - started) / 1000, result };
  }

  const first = await submit("first");
  const again = await submit("again");
  const mib = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
  console.log(`project: ${files} files, ${mib(first.result.bytesTotal)}`);
  console.log(`first upload:        ${first.seconds.toFixed(3)} s (uploaded ${mib(first.result.bytesUploaded)}, ${(first.result.bytesTotal / 1024 / 1024 / first.seconds).toFixed(0)} MiB/s)`);
  console.log(`unchanged re-submit: ${again.seconds.toFixed(3)} s (uploaded ${mib(again.result.bytesUploaded)}, skipped ${mib(again.result.bytesSkipped)})`);
  console.log(`ratio (first / re-submit): ${(first.seconds / again.seconds).toFixed(1)}x`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
