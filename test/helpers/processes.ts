/** This machine's processes as /proc tells them (Linux), for tests that follow the processes their code starts. */
import { readdirSync, readFileSync } from "node:fs";

type ProcessState = { readonly parent: number; readonly zombie: boolean; readonly commandLine: readonly string[] };

function stateOf(pid: number): ProcessState | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return { parent: Number(fields[1]), zombie: fields[0] === "Z", commandLine: readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0") };
  } catch {
    return undefined;
  }
}

/** Running: it exists and is not a zombie (dead, only waiting for its parent to reap it). */
export function isAlive(pid: number): boolean {
  const state = stateOf(pid);
  return state !== undefined && !state.zombie;
}

/** The running children of `parent` with `argument` among their command line's (any child without it). */
export function childProcesses(parent: number, argument?: string): number[] {
  return readdirSync("/proc").filter((name) => /^\d+$/.test(name)).map(Number).filter((pid) => {
    const state = stateOf(pid);
    return state !== undefined && !state.zombie && state.parent === parent && (argument === undefined || state.commandLine.some((part) => part.includes(argument)));
  });
}
