/**
 * The AWS farms deployed in the account, for the new-render form: a farm
 * deployed with `brender farm deploy` is offered before anything was
 * rendered on it. Asked through CloudFormation (ListStacks, as `brender farm
 * list`) only when AWS is configured for the server's process, so a server
 * without AWS never waits on the SDK's credential lookup; answers are cached
 * and a failure only leaves the list to the farms known from render records.
 */
import { existsSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import { CloudFormationClient } from "@aws-sdk/client-cloudformation";
import { listFarms } from "../backends/aws/farm/list.ts";

export type DiscoveredFarm = { readonly farm: string; readonly region: string; readonly status: string };
export type Discovery = { readonly farms: readonly DiscoveredFarm[]; readonly error?: string };

/** How long one answer from CloudFormation is reused. */
export const DISCOVERY_TTL_MS = 60_000;

/** True when the environment names AWS credentials, a profile, a region or an endpoint, or ~/.aws holds a config. */
export function awsConfigured(env: NodeJS.ProcessEnv, home = homedir()): boolean {
  const named = ["AWS_PROFILE", "AWS_ACCESS_KEY_ID", "AWS_REGION", "AWS_DEFAULT_REGION", "AWS_ENDPOINT_URL", "AWS_CONTAINER_CREDENTIALS_FULL_URI", "AWS_WEB_IDENTITY_TOKEN_FILE"];
  if (named.some((name) => (env[name] ?? "").trim() !== "")) return true;
  return existsSync(join(home, ".aws", "config")) || existsSync(join(home, ".aws", "credentials"));
}

type ListFarms = () => Promise<readonly DiscoveredFarm[]>;

/** Lists live farm stacks in the SDK's default region. */
export function cloudFormationFarms(): ListFarms {
  return async () => {
    const cfn = new CloudFormationClient({});
    try {
      return (await listFarms(cfn)).map((farm) => ({ farm: farm.name, region: farm.region, status: farm.status }));
    } finally {
      cfn.destroy();
    }
  };
}

/** Cached farm discovery; `list` is injectable for tests. */
export class FarmDiscovery {
  readonly #enabled: boolean;
  readonly #list: ListFarms;
  readonly #now: () => number;
  #cached: { at: number; answer: Promise<Discovery> } | undefined;

  constructor(options: { enabled: boolean; list?: ListFarms; now?: () => number }) {
    this.#enabled = options.enabled;
    this.#list = options.list ?? cloudFormationFarms();
    this.#now = options.now ?? Date.now;
  }

  /** The deployed farms, from cache when fresh; never throws. */
  discover(): Promise<Discovery> {
    if (!this.#enabled) return Promise.resolve({ farms: [] });
    const now = this.#now();
    if (this.#cached && now - this.#cached.at < DISCOVERY_TTL_MS) return this.#cached.answer;
    // Concurrent requests share one call: the promise is cached, not its result.
    const answer = this.#list().then(
      (farms) => ({ farms }),
      (error: unknown) => ({ farms: [], error: `Cannot list AWS farms: ${error instanceof Error ? error.message.split("\n")[0] : String(error)}` }),
    );
    this.#cached = { at: now, answer };
    return answer;
  }
}
