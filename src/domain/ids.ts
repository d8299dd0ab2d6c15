/** What a render id may be (newRenderId's, or one a user chose): it becomes part of paths, keys and URLs. */
export const RENDER_ID_PATTERN = /^[a-z0-9][a-z0-9-]{2,62}$/;

/** A render id that sorts by time and is unique: r-20261122-013012-a1b2c3. */
export function newRenderId(now: Date = new Date()): string {
  const stamp = now.toISOString().replace(/[-:]/g, "").replace("T", "-").slice(0, 15).toLowerCase();
  // Web Crypto: the same in Node and in the browser, so the domain needs no Node module.
  const random = [...crypto.getRandomValues(new Uint8Array(3))].map((byte) => byte.toString(16).padStart(2, "0")).join("");
  return `r-${stamp}-${random}`;
}
