import { homedir } from "node:os";
import { join, resolve } from "node:path";

/**
 * Where Brender keeps its state on this machine. Everything lives under one
 * folder so a user can see, back up or delete it in one place:
 *
 *   $BRENDER_HOME (default ~/.brender)
 *   ├── bucket/   the local object store (projects and render outputs)
 *   ├── work/     the shared work folder (EFS on AWS): unpacked projects, frames in flight
 *   └── outbox/   e-mail notifications, one .eml file each
 */
export type BrenderPaths = {
  readonly home: string;
  readonly bucket: string;
  readonly work: string;
  readonly outbox: string;
};

export function brenderHome(env: NodeJS.ProcessEnv = process.env): string {
  const configured = env.BRENDER_HOME?.trim();
  return configured ? resolve(configured) : join(homedir(), ".brender");
}

export function brenderPaths(env: NodeJS.ProcessEnv = process.env): BrenderPaths {
  const home = brenderHome(env);
  return {
    home,
    bucket: join(home, "bucket"),
    work: join(home, "work"),
    outbox: join(home, "outbox"),
  };
}
