import { randomBytes } from "node:crypto";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { readSecretString } from "../backends/aws/secret-string.ts";
import { UserInputError } from "../errors.ts";

/** The local farm's webhook signing secret: one file, readable by its owner only. */
export function farmSecretFile(brenderHome: string): string {
  return path.join(brenderHome, "webhook-secret");
}

/**
 * The secret that signs webhook bodies, in this order:
 * - BRENDER_WEBHOOK_SECRET (a secret for this runner or render, given by whoever starts it);
 * - BRENDER_WEBHOOK_SECRET_ARN (AWS farms): the farm's Secrets Manager secret, read with the
 *   job role (only its ARN is in the job's environment, never the value);
 * - the local farm's `$BRENDER_HOME/webhook-secret`, created (32 random bytes, hex, mode 0600)
 *   when missing.
 */
export async function webhookSecret(env: NodeJS.ProcessEnv, brenderHome: string): Promise<string> {
  const given = env.BRENDER_WEBHOOK_SECRET?.trim();
  if (given) return given;
  const secretArn = env.BRENDER_WEBHOOK_SECRET_ARN?.trim();
  if (secretArn) return readSecretValue(secretArn, env);
  return farmSecret(brenderHome);
}

/** Reads (creating once, race-free) the local farm's secret. */
export async function farmSecret(brenderHome: string): Promise<string> {
  const file = farmSecretFile(brenderHome);
  const existing = await readFile(file, "utf8").catch((error: NodeJS.ErrnoException) => {
    if (error.code === "ENOENT") return undefined;
    throw error;
  });
  if (existing?.trim()) return existing.trim();
  await mkdir(brenderHome, { recursive: true });
  try {
    await writeFile(file, `${randomBytes(32).toString("hex")}\n`, { mode: 0o600, flag: "wx" });
  } catch (error) {
    // Another worker created it first: use theirs.
    if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
  }
  return (await readFile(file, "utf8")).trim();
}

/** The farm's webhook secret, read with the job role; the SDK is loaded only on AWS farms. */
async function readSecretValue(secretId: string, env: NodeJS.ProcessEnv): Promise<string> {
  const value = await readSecretString(secretId, env);
  if (!value) throw new UserInputError(`The webhook secret ${secretId} has no string value: set one (aws secretsmanager put-secret-value --secret-id ${secretId} --secret-string …)`);
  return value;
}
