/**
 * Re-submitting a project of many small files to S3: how long the check for
 * blobs already there takes, with few and with many checks in flight.
 *
 * Starts the S3-compatible test server (its own process) with LATENCY_MS per
 * request (default 20, a nearby region), uploads a FILES-file project
 * (default 2000, 4 KiB each) once, then re-submits it unchanged (hashes from
 * the cache, nothing to send) with 4 and with 32 blob checks in flight, and
 * rebuilds it as copy_efs does with 4 and with 16 small blobs downloading at once.
 * Prints times and ratios; asserts nothing.
 * Run: node bench/project-check.ts [files=2000]
 */
import { randomBytes } from "node:crypto";
import { once } from "node:events";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { spawn } from "node:child_process";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { uploadProject } from "../src/storage/content-upload.ts";
import { HashCache } from "../src/storage/hash-cache.ts";
import { S3ObjectStore } from "../src/storage/s3-store.ts";
import { rebuildFromManifest } from "../src/worker/actions/copy-efs-manifest.ts";
import { TEST_CREDENTIALS } from "../test/helpers/s3-server.ts";

const files = Number(process.argv[2] ?? 2000);
const latencyMs = Number(process.env.LATENCY_MS ?? 20);
const dir = await mkdtemp(join(tmpdir(), "brender-bench-check-"));
const serverProcess = spawn(process.execPath, [new URL("./s3-server-process.ts", import.meta.url).pathname], {
  env: { ...process.env, LATENCY_MS: String(latencyMs) },
  stdio: ["ignore", "pipe", "inherit"],
});
const [firstLine] = (await once(serverProcess.stdout, "data")) as [Buffer];
const endpoint = firstLine.toString().trim();

try {
  const project = join(dir, "project");
  for (let folder = 0; folder < Math.ceil(files / 100); folder++) await mkdir(join(project, `f${folder}`), { recursive: true });
  for (let index = 0; index < files; index++) await writeFile(join(project, `f${Math.floor(index / 100)}`, `file${index}.bin`), randomBytes(4096));
  // The benchmark server holds one bucket, "bench".
  const store = new S3ObjectStore({ bucket: "bench", endpoint, region: "us-east-1", credentials: TEST_CREDENTIALS });
  const hashCache = HashCache.inMemory();
  const source = { kind: "folder" as const, path: project };
  const first = performance.now();
  await uploadProject(store, source, "bench/first.manifest.json", { hashCache, concurrency: 4 });
  console.log(`first upload: ${files} files in ${((performance.now() - first) / 1000).toFixed(2)} s`);

  const times: Record<number, number> = {};
  for (const checks of [4, 32]) {
    const started = performance.now();
    const result = await uploadProject(store, source, `bench/again-${checks}.manifest.json`, { hashCache, concurrency: 4, checkConcurrency: checks });
    times[checks] = (performance.now() - started) / 1000;
    console.log(`unchanged re-submit, ${checks} checks in flight: ${times[checks]!.toFixed(2)} s (${result.bytesUploaded} bytes uploaded)`);
  }
  console.log(`ratio (4 in flight / 32 in flight): ${(times[4]! / times[32]!).toFixed(2)}x faster with 32; latency ${latencyMs} ms per request`);

  const rebuilds: Record<number, number> = {};
  for (const downloads of [4, 16]) {
    const started = performance.now();
    await rebuildFromManifest(store, "bench/first.manifest.json", join(dir, `rebuilt-${downloads}`), { smallConcurrency: downloads });
    rebuilds[downloads] = (performance.now() - started) / 1000;
    console.log(`rebuild (copy_efs), ${downloads} small blobs downloading at once: ${rebuilds[downloads]!.toFixed(2)} s`);
  }
  console.log(`ratio (4 / 16): ${(rebuilds[4]! / rebuilds[16]!).toFixed(2)}x faster with 16`);
} finally {
  serverProcess.kill("SIGTERM");
  await once(serverProcess, "exit");
  await rm(dir, { recursive: true, force: true });
}
