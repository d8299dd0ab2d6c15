import { openLocalFarm } from "../backends/local/farm.ts";
import { brenderHome } from "../config.ts";
import { AwsRenderBackend } from "../renders/aws.ts";
import { LocalRenderBackend } from "../renders/local.ts";
import { Renders } from "../renders/renders.ts";

/** Every render of this machine for one command: the local farm's and those recorded from AWS submissions. Closed after `work`. */
export async function withRenders<T>(work: (renders: Renders) => Promise<T>): Promise<T> {
  const farm = openLocalFarm();
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
