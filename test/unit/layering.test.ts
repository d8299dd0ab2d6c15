/**
 * The layers docs/architecture.md draws, checked on the imports
 * themselves: the domain imports nothing outside itself (only zod and pure
 * Node modules), and the HTTP server never reaches into the CLI.
 */
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { describe, it } from "node:test";
import { fileURLToPath } from "node:url";

const SRC = resolve(dirname(fileURLToPath(import.meta.url)), "../../src");

function sourceFiles(folder: string): string[] {
  return readdirSync(folder, { withFileTypes: true }).flatMap((entry) => {
    const path = join(folder, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return entry.name.endsWith(".ts") ? [path] : [];
  });
}

/** Every module a file imports or re-exports (static and dynamic), as written. */
export function importsOf(text: string): string[] {
  const found: string[] = [];
  for (const match of text.matchAll(/(?:^|\n)\s*(?:import|export)\b[^;]*?\bfrom\s*["']([^"']+)["']/g)) found.push(match[1]!);
  for (const match of text.matchAll(/(?:^|\n)\s*import\s*["']([^"']+)["']/g)) found.push(match[1]!);
  for (const match of text.matchAll(/\bimport\(\s*["']([^"']+)["']\s*\)/g)) found.push(match[1]!);
  return found;
}

/** For each file under `layer`, the imports that leave `allowed` (relative ones resolved against src/). */
function crossings(layer: string, isAllowed: (specifier: string, resolved: string | undefined) => boolean): string[] {
  const problems: string[] = [];
  for (const file of sourceFiles(join(SRC, layer))) {
    for (const specifier of importsOf(readFileSync(file, "utf8"))) {
      const resolved = specifier.startsWith(".") ? relative(SRC, resolve(dirname(file), specifier)) : undefined;
      if (!isAllowed(specifier, resolved)) problems.push(`${relative(SRC, file)} imports ${specifier}`);
    }
  }
  return problems;
}

/** Packages the domain may use: schemas, and Node's pure path helpers. */
const DOMAIN_PACKAGES = new Set(["zod", "node:path"]);

describe("layers", () => {
  it("finds imports of every form (so the checks below can fail)", () => {
    const text = 'import { a } from "../x.ts";\nimport type { B } from "./y.ts";\nexport * from "../z.ts";\nimport "./side.ts";\nconst m = await import("../../cli/main.ts");\n';
    assert.deepEqual(importsOf(text).sort(), ["../../cli/main.ts", "../x.ts", "../z.ts", "./side.ts", "./y.ts"]);
    assert.deepEqual(crossings("domain", () => false).length > 0, true);
  });

  it("domain/ imports nothing outside domain/ but zod and pure Node modules", () => {
    const problems = crossings("domain", (specifier, resolved) => (resolved === undefined ? DOMAIN_PACKAGES.has(specifier) : resolved.startsWith("domain/")));
    assert.deepEqual(problems, []);
  });

  it("server/ imports nothing from cli/", () => {
    const problems = crossings("server", (_specifier, resolved) => resolved === undefined || !resolved.startsWith("cli/"));
    assert.deepEqual(problems, []);
  });
});
