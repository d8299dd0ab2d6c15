/**
 * What dependency tracing adds to a submission, on a project of many files:
 * IMAGES textures (one datablock each) and a SEQUENCE-frame image sequence
 * (default 1000 + 1000 = 2000 files), all outside the shot's folder.
 *
 * Tracing runs inside the inspection Blender already does before every
 * submission, so what it adds is brender_deps.trace() in Blender plus
 * packDependencies() (sizes, the farm's map) in Node; both are timed, and the
 * whole inspection too, for scale. Asserts nothing.
 * Run: node bench/dependency-tracing.ts [images=1000] [sequenceFrames=1000]
 */
import { execFile } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { inspectBlendFile } from "../src/blender/inspect.ts";
import { BPY_SCRIPTS } from "../src/blender/runner.ts";
import { packDependencies } from "../src/packing/pack.ts";
import { uploadProject } from "../src/storage/content-upload.ts";
import { FsObjectStore } from "../src/storage/fs-store.ts";
import { HashCache } from "../src/storage/hash-cache.ts";

const run = promisify(execFile);
const images = Number(process.argv[2] ?? 1000);
const frames = Number(process.argv[3] ?? 1000);
const here = new URL("./dependency-tracing/", import.meta.url).pathname;
const dir = await mkdtemp(join(tmpdir(), "brender-bench-trace-"));
try {
  await run("blender", ["-b", "--factory-startup", "-noaudio", "--python-exit-code", "1", "--python", join(here, "make_project.py"), "--", dir, String(images), String(frames)], { maxBuffer: 64 * 1024 * 1024 });
  const blend = join(dir, "shots", "shot.blend");
  // The scripts in src/ (the bench runs from source, not dist/).
  const scripts = new URL("../src/blender/bpy/", import.meta.url).pathname;

  const traced = await run("blender", ["-b", blend, "--factory-startup", "-noaudio", "--python", join(here, "time_trace.py"), "--", scripts], { maxBuffer: 64 * 1024 * 1024 });
  const line = traced.stdout.split("\n").find((text) => text.startsWith("@@TRACE "));
  const inBlender = JSON.parse(line!.slice(8)) as { seconds: number; dependencies: number; files: number };

  const openStarted = performance.now();
  await run("blender", ["-b", blend, "--factory-startup", "-noaudio", "--python-expr", "pass"], { maxBuffer: 64 * 1024 * 1024 });
  const openSeconds = (performance.now() - openStarted) / 1000;
  const inspectStarted = performance.now();
  const inspection = await inspectBlendFile(blend);
  const inspectSeconds = (performance.now() - inspectStarted) / 1000;
  const packStarted = performance.now();
  const packed = await packDependencies(inspection.dependencies ?? [], { kind: "file", path: blend });
  const packSeconds = (performance.now() - packStarted) / 1000;
  // Not tracing but its consequence: the files now travel. A re-submit hashes from the cache and sends nothing.
  const store = new FsObjectStore(join(dir, "bucket"));
  const hashCache = HashCache.inMemory();
  const uploads: string[] = [];
  for (const attempt of ["first upload", "unchanged re-submit"]) {
    const started = performance.now();
    const result = await uploadProject(store, packed.source, `bench/${uploads.length}.manifest.json`, { hashCache });
    uploads.push(`${attempt} ${((performance.now() - started) / 1000).toFixed(2)} s (${result.bytesUploaded} bytes sent)`);
  }
  await packed.dispose();

  console.log(`project: ${inBlender.dependencies} traced paths, ${inBlender.files} files (${images} textures + a ${frames}-frame sequence); scripts from ${BPY_SCRIPTS}`);
  console.log(`brender_deps.trace() in Blender: ${inBlender.seconds.toFixed(3)} s`);
  console.log(`packDependencies() in Node (sizes, the farm's map): ${packSeconds.toFixed(3)} s (${packed.report.files} files, ${packed.report.outside} outside the project)`);
  console.log(`tracing adds to a submission: ${(inBlender.seconds + packSeconds).toFixed(3)} s (budget 2 s); the whole inspection took ${inspectSeconds.toFixed(2)} s, Blender opening the file and quitting ${openSeconds.toFixed(2)} s`);
  console.log(`uploading the 2,000 files to a folder store: ${uploads.join("; ")}`);
} finally {
  await rm(dir, { recursive: true, force: true });
}
