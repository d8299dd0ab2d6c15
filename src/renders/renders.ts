/**
 * Every render backend of this machine behind one lookup: front ends ask
 * for a render by id and get the backend it runs on, never branching on which.
 */
import { UserInputError } from "../domain/errors.ts";
import type { RenderBackend, RenderRow } from "./backend.ts";
import { noSuchRender } from "./errors.ts";

export type FoundRender = { readonly backend: RenderBackend; readonly renderId: string };

export class Renders {
  readonly backends: readonly RenderBackend[];

  constructor(backends: readonly RenderBackend[]) {
    this.backends = backends;
  }

  /** The render `idOrPrefix` names: an exact id anywhere first, else an unambiguous start. Throws UserInputError when none or several. */
  async find(idOrPrefix: string, options: { exact?: boolean } = {}): Promise<FoundRender> {
    const found: FoundRender[] = [];
    for (const backend of this.backends) {
      const renderId = await backend.find(idOrPrefix);
      if (renderId === idOrPrefix) return { backend, renderId };
      if (renderId !== undefined) found.push({ backend, renderId });
    }
    // URLs name renders exactly; the CLI takes an id's start.
    if (found.length === 0 || options.exact) throw noSuchRender(idOrPrefix);
    if (found.length > 1) throw new UserInputError(`"${idOrPrefix}" matches ${found.length} renders (${found.map((one) => one.renderId).join(", ")}); give more of the id.`);
    return found[0]!;
  }

  /** Every render, newest submission first. */
  async list(): Promise<RenderRow[]> {
    const rows = (await Promise.all(this.backends.map((backend) => backend.list()))).flat();
    return rows.sort((a, b) => (a.submittedAt < b.submittedAt ? 1 : a.submittedAt > b.submittedAt ? -1 : 0));
  }

  close(): void {
    for (const backend of this.backends) backend.close();
  }
}
