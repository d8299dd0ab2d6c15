import { join } from "node:path";
import type { LocalFarm } from "../backends/local/farm.ts";
import type { Renders } from "../renders/renders.ts";
import type { ExtractionLimits } from "../worker/archive/policy.ts";

/** What every route needs: the local farm the server owns (and submits to), the renders it shows, and where uploads go. */
export type ServerContext = {
  readonly farm: LocalFarm;
  readonly env: NodeJS.ProcessEnv;
  readonly home: string;
  readonly uploadsDir: string;
  /** What one upload may take and unpack to (uploadLimitsOf). */
  readonly uploadLimits: ExtractionLimits;
  /** How often live views (SSE) look at the job store and event files. */
  readonly pollMs: number;
  readonly heartbeatMs: number;
  /** Every render of this machine (the local farm's, and those recorded from AWS submissions), behind one RenderBackend each. */
  readonly renders: Renders;
};

export function uploadsDirOf(home: string): string {
  return join(home, "uploads");
}
