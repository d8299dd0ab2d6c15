/**
 * Reads a Secrets Manager secret's string with the credentials of `env`
 * (its keys win over the default chain, since `env` may not be this
 * process's environment: tests, the local farm) or else the default chain (a
 * Batch job's role). The SDK is loaded only when a secret is read.
 */
export async function readSecretString(secretId: string, env: NodeJS.ProcessEnv): Promise<string | undefined> {
  const { SecretsManagerClient, GetSecretValueCommand } = await import("@aws-sdk/client-secrets-manager");
  const region = env.AWS_REGION?.trim() || env.AWS_DEFAULT_REGION?.trim();
  const endpoint = env.AWS_ENDPOINT_URL_SECRETS_MANAGER?.trim() || env.AWS_ENDPOINT_URL?.trim();
  const accessKeyId = env.AWS_ACCESS_KEY_ID?.trim();
  const secretAccessKey = env.AWS_SECRET_ACCESS_KEY?.trim();
  const sessionToken = env.AWS_SESSION_TOKEN?.trim();
  const client = new SecretsManagerClient({
    ...(region ? { region } : {}),
    ...(endpoint ? { endpoint } : {}),
    ...(accessKeyId && secretAccessKey ? { credentials: { accessKeyId, secretAccessKey, ...(sessionToken ? { sessionToken } : {}) } } : {}),
  });
  try {
    const answer = await client.send(new GetSecretValueCommand({ SecretId: secretId }));
    return answer.SecretString?.trim() || undefined;
  } finally {
    client.destroy();
  }
}
