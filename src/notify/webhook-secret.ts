import { randomBytes } from "node:crypto";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { UserInputError } from "../errors.ts";

/** The local farm's webhook signing secret: one file, readable by its owner only. */
export function farmSecretFile(brenderHome: string): string {
  return path.join(brenderHome, "webhook-secret");
}

/**
 * The secret that signs webhook bodies, in this order:
 * - BRENDER_WEBHOOK_SECRET (a secret for this runner or render, given by whoever starts it);
 * - BRENDER_WEBHOOK_SECRET_PARAMETER (AWS farms): the SSM SecureString parameter of that name,
 *   read with the job role (the value is never in the job's environment);
 * - the local farm's `$BRENDER_HOME/webhook-secret`, created (32 random bytes, hex, mode 0600)
 *   when missing.
 */
export async function webhookSecret(env: NodeJS.ProcessEnv, brenderHome: string): Promise<string> {
  const given = env.BRENDER_WEBHOOK_SECRET?.trim();
  if (given) return given;
  const parameter = env.BRENDER_WEBHOOK_SECRET_PARAMETER?.trim();
  if (parameter) return readSecretParameter(parameter, env);
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

/** An SSM SecureString, decrypted; the SDK is loaded only on AWS farms. */
async function readSecretParameter(name: string, env: NodeJS.ProcessEnv): Promise<string> {
  const { SSMClient, GetParameterCommand } = await import("@aws-sdk/client-ssm");
  const region = env.AWS_REGION?.trim() || env.AWS_DEFAULT_REGION?.trim();
  const endpoint = env.AWS_ENDPOINT_URL_SSM?.trim() || env.AWS_ENDPOINT_URL?.trim();
  const client = new SSMClient({ ...(region ? { region } : {}), ...(endpoint ? { endpoint } : {}) });
  try {
    const answer = await client.send(new GetParameterCommand({ Name: name, WithDecryption: true }));
    const value = answer.Parameter?.Value?.trim();
    if (!value) throw new UserInputError(`The webhook secret parameter ${name} is empty: put a value in it (aws ssm put-parameter --type SecureString --overwrite)`);
    return value;
  } finally {
    client.destroy();
  }
}
