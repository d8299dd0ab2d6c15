import { join } from "node:path";
import type { LocalFarm } from "../backends/local/farm.ts";
import type { ExtractionLimits } from "../worker/archive/policy.ts";
import type { AwsRenders } from "./aws/renders.ts";

/** What every route needs: the local farm the server owns, the AWS renders it shows, and where uploads go. */
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
  readonly aws: AwsRenders;
  /** How often an event stream of an AWS render asks AWS (through the status cache). */
  readonly awsPollMs: number;
};

export function uploadsDirOf(home: string): string {
  return join(home, "uploads");
}
