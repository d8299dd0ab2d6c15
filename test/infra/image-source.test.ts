import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { chmod, mkdir, mkdtemp, readFile, readdir, rm, writeFile } from "node:fs/promises";
import { existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { createHash } from "node:crypto";
import { fileURLToPath } from "node:url";
import { text } from "node:stream/consumers";
import yauzl from "yauzl";
import { bundleImageSource, sourceDigest } from "../../src/infra/image-source.ts";
import { UserInputError } from "../../src/errors.ts";

const REPO_ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..");

type ZipEntry = { readonly mode: number; readonly content: string; readonly modified: Date };

/** Every entry of a zip: its Unix mode (from the external attributes), content and DOS time. */
async function readZip(file: string): Promise<Map<string, ZipEntry>> {
  const zip = await yauzl.openPromise(file, { lazyEntries: true });
  const entries = new Map<string, ZipEntry>();
  try {
    for await (const entry of zip.eachEntry()) {
      const content = await text(await zip.openReadStreamPromise(entry));
      entries.set(entry.fileName, {
        mode: entry.externalFileAttributes >>> 16,
        content,
        modified: entry.getLastModDate({ forceDosFormat: true }),
      });
    }
  } finally {
    zip.close();
  }
  return entries;
}

/** A small built checkout: what the zip takes, plus files it must leave out. */
async function makeRepo(): Promise<string> {
  const root = await mkdtemp(join(tmpdir(), "brender-image-source-"));
  const files: Record<string, string> = {
    "docker/Dockerfile": "FROM scratch\n",
    "docker/buildspec.yml": "version: 0.2\n",
    "docker/README.md": "not shipped\n",
    "package.json": '{"name":"brender"}\n',
    "package-lock.json": '{"lockfileVersion":3}\n',
    "bin/brender": "#!/bin/sh\nexit 0\n",
    "dist/cli/main.js": "console.log('main');\n",
    "dist/cli/main.js.map": "{}\n",
    "dist/blender/bpy/render_frames.py": "import bpy\n",
    "dist/blender/bpy/inspect_scene.py": "import bpy\n",
    "src/cli/main.ts": "not shipped\n",
    "node_modules/zod/index.js": "not shipped\n",
    "README.md": "not shipped\n",
  };
  for (const [path, content] of Object.entries(files)) {
    await mkdir(dirname(join(root, path)), { recursive: true });
    await writeFile(join(root, path), content);
  }
  await chmod(join(root, "bin/brender"), 0o755);
  return root;
}

describe("bundleImageSource", () => {
  it("zips exactly the Dockerfile, buildspec and the app files at the zip's root, bin/brender executable", async () => {
    const repo = await makeRepo();
    try {
      const out = join(repo, "out", "nested", "source.zip");
      const result = await bundleImageSource(repo, out);
      const entries = await readZip(out);
      assert.deepEqual(
        [...entries.keys()],
        [
          "Dockerfile",
          "bin/brender",
          "buildspec.yml",
          "dist/blender/bpy/inspect_scene.py",
          "dist/blender/bpy/render_frames.py",
          "dist/cli/main.js",
          "dist/cli/main.js.map",
          "package-lock.json",
          "package.json",
        ],
      );
      assert.equal(entries.get("Dockerfile")?.content, "FROM scratch\n");
      assert.equal(entries.get("buildspec.yml")?.content, "version: 0.2\n");
      assert.equal(entries.get("dist/blender/bpy/render_frames.py")?.content, "import bpy\n");
      assert.equal(entries.get("bin/brender")?.mode, 0o100755);
      assert.equal(entries.get("dist/cli/main.js")?.mode, 0o100644);
      assert.equal(entries.get("Dockerfile")?.mode, 0o100644);
      assert.deepEqual(result, { file: out, bytes: (await readFile(out)).length, files: 9 });
      assert.equal(existsSync(`${out}.partial`), false);
    } finally {
      await rm(repo, { recursive: true, force: true });
    }
  });

  it("gives byte-identical zips for an unchanged source, whatever the files' times, and a new digest after a change", async () => {
    const repo = await makeRepo();
    try {
      const first = join(repo, "first.zip");
      const second = join(repo, "second.zip");
      await bundleImageSource(repo, first);
      // Rewriting the same content gives the files new mtimes.
      await writeFile(join(repo, "dist/cli/main.js"), "console.log('main');\n");
      await bundleImageSource(repo, second);
      assert.deepEqual(await readFile(first), await readFile(second));
      assert.equal(await sourceDigest(first), await sourceDigest(second));
      const times = [...(await readZip(first)).values()].map((entry) => entry.modified.getTime());
      assert.deepEqual(new Set(times), new Set([new Date(1980, 0, 1).getTime()]));

      await writeFile(join(repo, "dist/cli/main.js"), "console.log('changed');\n");
      const changed = join(repo, "changed.zip");
      await bundleImageSource(repo, changed);
      assert.notEqual(await sourceDigest(changed), await sourceDigest(first));
    } finally {
      await rm(repo, { recursive: true, force: true });
    }
  });

  it("gives the same bytes in every time zone (deploys from different machines compare digests)", async () => {
    const repo = await makeRepo();
    try {
      const moduleUrl = new URL("../../src/infra/image-source.ts", import.meta.url).href;
      const digests = ["Pacific/Kiritimati", "America/Los_Angeles", "UTC"].map((zone) => {
        const out = join(repo, `${zone.replaceAll("/", "-")}.zip`);
        const script = `const m = await import(${JSON.stringify(moduleUrl)}); await m.bundleImageSource(${JSON.stringify(repo)}, ${JSON.stringify(out)}); console.log(await m.sourceDigest(${JSON.stringify(out)}));`;
        return execFileSync(process.execPath, ["--input-type=module", "-e", script], {
          env: { ...process.env, TZ: zone },
          encoding: "utf8",
        }).trim();
      });
      assert.match(digests[0] ?? "", /^[0-9a-f]{64}$/);
      assert.deepEqual(new Set(digests).size, 1, `digests differ: ${digests.join(", ")}`);
    } finally {
      await rm(repo, { recursive: true, force: true });
    }
  });

  it("refuses an unbuilt checkout with 'run npm run build first' and writes nothing", async () => {
    const repo = await makeRepo();
    try {
      await rm(join(repo, "dist"), { recursive: true });
      const out = join(repo, "source.zip");
      await assert.rejects(bundleImageSource(repo, out), (error: unknown) => {
        assert.ok(error instanceof UserInputError);
        assert.match(error.message, /"dist\/cli\/main\.js" is missing/);
        assert.match(error.message, /run npm run build first/);
        return true;
      });
      assert.equal(existsSync(out), false);
    } finally {
      await rm(repo, { recursive: true, force: true });
    }
  });

  it("names a missing Dockerfile", async () => {
    const repo = await makeRepo();
    try {
      await rm(join(repo, "docker/Dockerfile"));
      await assert.rejects(bundleImageSource(repo, join(repo, "source.zip")), (error: unknown) => {
        assert.ok(error instanceof UserInputError);
        assert.match(error.message, /"docker\/Dockerfile", which is missing/);
        return true;
      });
    } finally {
      await rm(repo, { recursive: true, force: true });
    }
  });

  it("bundles this repository: the real Dockerfile, buildspec, entry point and every bpy script", { skip: !existsSync(join(REPO_ROOT, "dist/cli/main.js")) && "not built (npm test builds first)" }, async () => {
    const dir = await mkdtemp(join(tmpdir(), "brender-image-source-real-"));
    try {
      const out = join(dir, "source.zip");
      await bundleImageSource(REPO_ROOT, out);
      const entries = await readZip(out);
      assert.equal(entries.get("Dockerfile")?.content, await readFile(join(REPO_ROOT, "docker/Dockerfile"), "utf8"));
      assert.equal(entries.get("buildspec.yml")?.content, await readFile(join(REPO_ROOT, "docker/buildspec.yml"), "utf8"));
      assert.equal(entries.get("bin/brender")?.mode, 0o100755);
      assert.ok(entries.has("dist/cli/main.js"));
      const scripts = (await readdir(join(REPO_ROOT, "src/blender/bpy"))).filter((name) => name.endsWith(".py"));
      assert.ok(scripts.length > 0);
      for (const script of scripts) assert.ok(entries.has(`dist/blender/bpy/${script}`), `dist/blender/bpy/${script} is not in the zip`);
      const outside = [...entries.keys()].filter(
        (name) => !/^(Dockerfile|buildspec\.yml|package\.json|package-lock\.json|bin\/.+|dist\/.+)$/.test(name),
      );
      assert.deepEqual(outside, []);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe("sourceDigest", () => {
  it("is the SHA-256 of the file's bytes", async () => {
    const dir = await mkdtemp(join(tmpdir(), "brender-digest-"));
    try {
      const file = join(dir, "any.zip");
      const bytes = Buffer.from("not really a zip, any bytes will do");
      await writeFile(file, bytes);
      assert.equal(await sourceDigest(file), createHash("sha256").update(bytes).digest("hex"));
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
