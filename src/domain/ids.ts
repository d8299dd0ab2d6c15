import { randomBytes } from "node:crypto";

/** A render id that sorts by time and is unique: r-20261122-013012-a1b2c3. */
export function newRenderId(now: Date = new Date()): string {
  const stamp = now.toISOString().replace(/[-:]/g, "").replace("T", "-").slice(0, 15).toLowerCase();
  return `r-${stamp}-${randomBytes(3).toString("hex")}`;
}
