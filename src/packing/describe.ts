import { stat } from "node:fs/promises";
import { describeMissing, isInside, isMissing, manifestPathOf, type TracedDependency } from "../domain/dependencies.ts";

/** One dependency as `brender inspect --deps` shows it. */
export type DependencyRow = TracedDependency & {
  /** Bytes of the files found. */
  readonly size: number;
  /** Whether it lives inside the project folder (else it travels under `_external/`). */
  readonly insideProject: boolean;
  /** Where its copy goes in the uploaded project. */
  readonly uploadedAs: string;
  readonly isMissing: boolean;
};

/** The dependency list with sizes and where each stands relative to the project folder. */
export async function describeDependencies(dependencies: readonly TracedDependency[], projectRoot: string): Promise<DependencyRow[]> {
  return Promise.all(
    dependencies.map(async (dependency) => {
      const sizes = await Promise.all(dependency.files.map((file) => stat(file).then((info) => info.size, () => 0)));
      return {
        ...dependency,
        size: sizes.reduce((sum, size) => sum + size, 0),
        insideProject: isInside(dependency.resolved, projectRoot),
        uploadedAs: dependency.packed ? "(packed in the .blend)" : manifestPathOf(dependency.resolved, projectRoot),
        isMissing: isMissing(dependency),
      };
    }),
  );
}

/** The human listing: one line per dependency, its files' count and size, and the missing ones spelled out. */
export function formatDependencies(rows: readonly DependencyRow[], projectRoot: string, formatBytes: (bytes: number) => string): string {
  const lines = [`Dependencies: ${rows.length} (project folder ${projectRoot})`];
  for (const row of rows) {
    const status = row.packed ? "packed " : row.isMissing ? "MISSING" : row.insideProject ? "inside " : "outside";
    const files = row.files.length > 1 || row.folder ? ` [${row.files.length} files]` : "";
    const from = row.library ? ` (in ${row.library})` : "";
    lines.push(`  ${status} ${row.kind.padEnd(11)} ${row.owner}${from}: ${row.path}${row.path === row.resolved ? "" : ` -> ${row.resolved}`}${files} ${formatBytes(row.size)}`);
  }
  const missing = rows.filter((row) => row.isMissing);
  if (missing.length > 0) {
    lines.push(`${missing.length} missing:`);
    for (const row of missing) lines.push(`  ${describeMissing(row)}`);
  }
  return `${lines.join("\n")}\n`;
}
