import type { AwsRenderRequest, submitAwsRender } from "../../backends/aws/submit-render.ts";
import type { PackingReport } from "../../packing/pack.ts";
import { recordAndFollow } from "./aws-renders.ts";

type Submitted = Awaited<ReturnType<typeof submitAwsRender>>;

/** After submitting to AWS: keep a local record of the render, then detach or follow it. */
export function finishAwsSubmission(
  run: { readonly options: { detach?: boolean; json?: boolean }; readonly started: number; readonly dependencies?: PackingReport },
  request: AwsRenderRequest,
  submitted: Submitted,
): Promise<number> {
  const jobs = submitted.plan.map((job, index) => ({ name: job.name, action: job.action, jobId: submitted.submitted[index]!.jobId, arraySize: job.arraySize }));
  const { queue, resources, attempts, timeoutSeconds, blenderVersion, priority } = submitted.options;
  return recordAndFollow(
    {
      renderId: request.payload.renderId,
      farm: request.farm,
      region: submitted.farm.region,
      ...(request.profile ? { profile: request.profile } : {}),
      storage: submitted.storage,
      payload: submitted.payload,
      bucketKey: submitted.bucketKey,
      submittedAt: new Date().toISOString(),
      jobs,
      submitOptions: { queue, resources, attempts, timeoutSeconds, blenderVersion, ...(priority !== undefined ? { priority } : {}) },
    },
    run.options,
    run.started,
    {
      files: submitted.upload.files,
      bytesUploaded: submitted.upload.bytesUploaded,
      bytesSkipped: submitted.upload.bytesSkipped,
      ...(run.dependencies && run.dependencies.traced > 0 ? { dependencies: run.dependencies } : {}),
    },
  );
}
