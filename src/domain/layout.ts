import { join } from "node:path";

/**
 * Where one render's files live in the shared work folder (EFS on AWS).
 * Every render gets its own folder named by its render id, so two renders of
 * the same project never touch each other's files.
 */
export type WorkLayout = {
  readonly root: string;
  readonly project: string;
  readonly output: string;
  readonly events: string;
  readonly logs: string;
};

export function workLayout(workFolder: string, renderId: string): WorkLayout {
  const root = join(workFolder, renderId);
  return {
    root,
    project: join(root, "project"),
    output: join(root, "output"),
    events: join(root, "events"),
    logs: join(root, "logs"),
  };
}

/** Sub-folders of a render's output folder. Frames only appear in `frames` once complete. */
export function outputLayout(outputFolder: string) {
  return {
    frames: join(outputFolder, "frames"),
    partial: join(outputFolder, ".partial"),
    compositor: join(outputFolder, "compositor"),
  } as const;
}

/** The file name (without extension) of a frame: frame_0001, frame_-0012. */
export function frameFileStem(frame: number): string {
  const digits = String(Math.abs(frame)).padStart(4, "0");
  return `frame_${frame < 0 ? "-" : ""}${digits}`;
}

/** The frame number a frame file name stands for, or undefined for other files. */
export function frameOfFileName(name: string): number | undefined {
  const match = /^frame_(-?\d+)\.[A-Za-z0-9]+$/.exec(name);
  return match ? Number(match[1]) : undefined;
}

/** The object-store prefix of one render's outputs: unique per render, so re-using a project name never overwrites. */
export function outputPrefix(projectName: string, renderId: string): string {
  return `${projectName}/output/${renderId}/`;
}

/**
 * The object tag every render output carries, so the farm's bucket lifecycle
 * can expire old renders (S3 lifecycle filters match tags and literal prefixes, not a pattern like "any project/output").
 */
export const RENDER_OUTPUT_TAG = { key: "brender:kind", value: "render-output" } as const;

/** The events file of one render child, in the work folder's events/ (and, on AWS, under the outputs' events/). */
export function eventFileName(child: number): string {
  return `render-${child}.jsonl`;
}

/** The child an events file belongs to, or undefined for other files; takes a file name or a key ending in one. */
export function childOfEventFile(nameOrKey: string): number | undefined {
  const match = /(?:^|\/)render-(\d+)\.jsonl$/.exec(nameOrKey);
  return match ? Number(match[1]) : undefined;
}
