/**
 * Where a Python command-line tool the tests run (moto_server, cfn-lint) is:
 * PATH, then pyenv's shims, then the project's own venv that scripts/setup.sh
 * makes when this machine's Python cannot take them (.tools/python).
 */
import { existsSync } from "node:fs";
import { delimiter, join } from "node:path";

const REPO = new URL("../..", import.meta.url).pathname;

export function pythonTool(name: string): string | undefined {
  const folders = [
    ...(process.env["PATH"] ?? "").split(delimiter).filter(Boolean),
    join(process.env["PYENV_ROOT"] ?? join(process.env["HOME"] ?? "/root", ".pyenv"), "shims"),
    join(REPO, ".tools", "python", "bin"),
  ];
  return folders.map((folder) => join(folder, name)).find((path) => existsSync(path));
}
