/**
 * Project upload to S3: parallel multipart against a single stream, and an
 * unchanged re-submit.
 *
 * Starts an S3-compatible server (fauxqs, its own process) on loopback with a
 * per-request delay (LATENCY_MS, default 20), writes a project of
 * SIZE MiB (default 1024) in 8 files, then:
 *   1. uploads one big file in 8 MiB parts (the test server takes at most
 *      about 11 MiB a request) with 4 parts in flight, and with 1 (one stream);
 *   2. submits the whole project content-addressed twice (the second time
 *      nothing changed: hashes come from the cache, no byte is sent).
 * Prints times, throughputs and ratios; asserts nothing.
 * Run: node bench/s3-upload.ts [sizeMiB=1024]   (LATENCY_MS=0 for raw loopback)
 */
import { randomBytes } from "node:crypto";
import { mkdtemp, rm, mkdir, open } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { spawn } from "node:child_process";
import { once } from "node:events";
import { S3ObjectStore } from "../src/storage/s3-store.ts";
import { TEST_CREDENTIALS } from "../test/helpers/s3-server.ts";
import { uploadProject } from "../src/storage/content-upload.ts";
import { HashCache } from "../src/storage/hash-cache.ts";

const MiB = 1024 * 1024;
const sizeMiB = Number(process.argv[2] ?? 1024);
const dir = await mkdtemp(join(tmpdir(), "brender-bench-s3-"));
// The server runs in its own process (as a real one would), with LATENCY_MS of delay per
// request (default 20 ms, a nearby region) so that parts in flight matter as they do over a network.
const latencyMs = Number(process.env.LATENCY_MS ?? 20);
const serverProcess = spawn(process.execPath, [new URL("./s3-server-process.ts", import.meta.url).pathname], {
  env: { ...process.env, LATENCY_MS: String(latencyMs) },
  stdio: ["ignore", "pipe", "inherit"],
});
const [firstLine] = (await once(serverProcess.stdout, "data")) as [Buffer];
const endpoint = firstLine.toString().trim();
const server = {
  store: (bucket: string, tuning: { concurrency: number; partSize: number }) =>
    new S3ObjectStore({ bucket, endpoint, region: "us-east-1", credentials: TEST_CREDENTIALS, ...tuning }),
  stop: async () => {
    serverProcess.kill("SIGTERM");
    await once(serverProcess, "exit");
  },
};

async function writeRandomFile(path: string, bytes: number): Promise<void> {
  const block = randomBytes(4 * MiB);
  const handle = await open(path, "w");
  for (let written = 0; written < bytes; written += block.length) await handle.write(block, 0, Math.min(block.length, bytes - written));
  await handle.close();
}

async function timed(work: () => Promise<unknown>): Promise<number> {
  const started = performance.now();
  await work();
  return (performance.now() - started) / 1000;
}

try {
  const big = join(dir, "big.bin");
  await writeRandomFile(big, sizeMiB * MiB);
  const parallel = await timed(() => server.store("bench", { concurrency: 4, partSize: 8 * MiB }).putFile("parallel/big.bin", big));
  const single = await timed(() => server.store("bench", { concurrency: 1, partSize: 8 * MiB }).putFile("single/big.bin", big));

  const project = join(dir, "project");
  await mkdir(project);
  for (let index = 0; index < 8; index += 1) await writeRandomFile(join(project, `texture-${index}.bin`), (sizeMiB * MiB) / 8);
  const cache = HashCache.inMemory();
  const store = server.store("bench", { concurrency: 4, partSize: 8 * MiB });
  const first = await timed(() => uploadProject(store, { kind: "folder", path: project }, "p/projects/one.manifest.json", { hashCache: cache }));
  const again = await timed(() => uploadProject(store, { kind: "folder", path: project }, "p/projects/two.manifest.json", { hashCache: cache }));

  const rate = (seconds: number) => `${(sizeMiB / seconds).toFixed(0)} MiB/s`;
  console.log(`S3-compatible server: fauxqs in its own process on loopback, ${latencyMs} ms added per request; ${sizeMiB} MiB`);
  console.log(`one file, 4 parts in flight:   ${parallel.toFixed(2)} s (${rate(parallel)})`);
  console.log(`one file, single stream:       ${single.toFixed(2)} s (${rate(single)})`);
  console.log(`ratio single / parallel:       ${(single / parallel).toFixed(2)}`);
  console.log(`project (8 files), first:      ${first.toFixed(2)} s`);
  console.log(`project unchanged, re-submit:  ${again.toFixed(3)} s (${(first / again).toFixed(0)}x faster)`);
} finally {
  await server.stop();
  await rm(dir, { recursive: true, force: true });
}
