// Copies the non-TypeScript files needed at run time (bpy scripts, the Blender add-on and its manifest)
// from src/ into dist/, keeping their relative paths.
import { cpSync, readdirSync, statSync, mkdirSync } from "node:fs";
import { join, relative, dirname, extname } from "node:path";

const ASSET_EXTENSIONS = new Set([".py", ".toml"]);
const srcRoot = new URL("../src/", import.meta.url).pathname;
const distRoot = new URL("../dist/", import.meta.url).pathname;

function* walk(dir) {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) yield* walk(path);
    else yield path;
  }
}

for (const file of walk(srcRoot)) {
  if (!ASSET_EXTENSIONS.has(extname(file))) continue;
  const target = join(distRoot, relative(srcRoot, file));
  mkdirSync(dirname(target), { recursive: true });
  cpSync(file, target);
}
