import { saveRenderRecord, type AwsRenderRecord } from "../../backends/aws/render-record.ts";
import type { ProjectUploadSummary } from "../../backends/local/farm.ts";
import { brenderHome } from "../../config.ts";
import { withRenders } from "../open-renders.ts";
import { watchAndSummarize } from "../render-follow.ts";

/** Saves the record of a fresh AWS submission, then returns at once (--detach) or follows the render to its end. */
export async function recordAndFollow(
  record: AwsRenderRecord,
  options: { detach?: boolean; json?: boolean },
  started: number,
  upload?: ProjectUploadSummary,
): Promise<number> {
  await saveRenderRecord(brenderHome(), record);
  if (options.detach) {
    process.stdout.write(options.json ? `${JSON.stringify({ renderId: record.renderId, status: "SUBMITTED", farm: record.farm, ...(upload ? { upload } : {}) })}\n` : `${record.renderId}\n`);
    return 0;
  }
  if (!options.json) process.stderr.write(`render ${record.renderId} on AWS farm ${record.farm} (${record.region}): ${record.payload.project.name}, frames ${record.payload.frames}\n`);
  return withRenders(async (renders) => {
    const { backend, renderId } = await renders.find(record.renderId, { exact: true });
    return watchAndSummarize(backend, renderId, { json: options.json === true, started, runJobs: false, ...(upload ? { upload } : {}) });
  });
}
