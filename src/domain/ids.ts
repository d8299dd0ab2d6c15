import { randomBytes } from "node:crypto";

/** What a render id may be (newRenderId's, or one a user chose): it becomes part of paths, keys and URLs. */
export const RENDER_ID_PATTERN = /^[a-z0-9][a-z0-9-]{2,62}$/;

/** A render id that sorts by time and is unique: r-20261122-013012-a1b2c3. */
export function newRenderId(now: Date = new Date()): string {
  const stamp = now.toISOString().replace(/[-:]/g, "").replace("T", "-").slice(0, 15).toLowerCase();
  return `r-${stamp}-${randomBytes(3).toString("hex")}`;
}
