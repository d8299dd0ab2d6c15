import { openLocalFarm } from "../backends/local/farm.ts";
import { brenderHome } from "../config.ts";
import { AwsRenderBackend } from "../renders/aws.ts";
import { LocalRenderBackend } from "../renders/local.ts";
import { Renders } from "../renders/renders.ts";

/**
 * Every render of this machine for one command: the local farm's and those
 * recorded from AWS submissions. Closed after `work`. `reading`: the command
 * changes nothing, so it keeps working on a full disk.
 */
export async function withRenders<T>(work: (renders: Renders) => Promise<T>, { reading = false } = {}): Promise<T> {
  const farm = openLocalFarm(process.env, { readOnlyWhenFull: reading });
  const renders = new Renders([
    new LocalRenderBackend(farm),
    new AwsRenderBackend(brenderHome(), process.env, { pollMs: Number(process.env.BRENDER_AWS_POLL_MS ?? 5000) }),
  ]);
  try {
    return await work(renders);
  } finally {
    renders.close();
    farm.close();
  }
}
