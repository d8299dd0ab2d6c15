/**
 * Publishes and reports renders that fail or are cancelled, with no
 * container waiting for them.
 *
 * The upload job depends on the render (`dependsOn`), so AWS Batch fails it,
 * unstarted, when the copy or render fails or is cancelled. This rule sees
 * that "Batch Job State Change" event (an upload job of this farm's io queue
 * going FAILED) and submits the publisher job definition to the io queue with
 * the failed upload's id as its `uploadJobId` parameter; the worker
 * (`--after-failed-upload`, src/worker/failed-upload.ts) reads that job's
 * environment and its upstream failure from Batch, uploads what was rendered
 * and sends the failure e-mail. It does nothing for an upload that ran itself
 * or was cancelled on purpose, so a duplicate event (EventBridge delivers at
 * least once) or a `cancel --include-upload` publishes nothing.
 */
import type * as batch from "aws-cdk-lib/aws-batch";
import * as events from "aws-cdk-lib/aws-events";
import * as iam from "aws-cdk-lib/aws-iam";
import { Construct } from "constructs";

/** The publisher job definition's parameter that receives the failed upload job's id (`Ref::uploadJobId`). */
export const PUBLISHER_PARAMETER = "uploadJobId";
/** The tries of a publisher job (Batch's retry strategy; its RETRY rules are the job definition's defaults). */
export const PUBLISHER_ATTEMPTS = 3;

/** The event pattern of an upload job of the io queue `ioQueueArn` that AWS Batch failed (pure). */
export function failedUploadPattern(ioQueueArn: string): Record<string, unknown> {
  return {
    source: ["aws.batch"],
    "detail-type": ["Batch Job State Change"],
    detail: { status: ["FAILED"], jobQueue: [ioQueueArn], jobName: [{ suffix: "-upload" }] },
  };
}

export type FailedRenderPublisherProps = {
  /** Used in the rule and job names. */
  readonly farmName: string;
  /** Where the upload jobs run, and where the publisher job is submitted. */
  readonly ioQueue: batch.CfnJobQueue;
  /** The job definition whose command takes `Ref::uploadJobId` (JobDefinitions.publisher). */
  readonly publisher: batch.CfnJobDefinition;
};

export class FailedRenderPublisher extends Construct {
  readonly rule: events.CfnRule;
  /** The role EventBridge submits the publisher job with: SubmitJob on that queue and definition only. */
  readonly role: iam.Role;

  constructor(scope: Construct, id: string, props: FailedRenderPublisherProps) {
    super(scope, id);
    this.role = new iam.Role(this, "Role", {
      assumedBy: new iam.ServicePrincipal("events.amazonaws.com"),
      description: "Brender: submit the publisher job when a render's upload job failed",
    });
    const policy = new iam.Policy(this, "Policy", {
      roles: [this.role],
      statements: [
        new iam.PolicyStatement({ sid: "SubmitPublisherJob", actions: ["batch:SubmitJob"], resources: [props.ioQueue.ref, props.publisher.ref] }),
      ],
    });
    this.rule = new events.CfnRule(this, "Rule", {
      description: `Brender farm ${props.farmName}: publish and report a render whose upload job AWS Batch failed`,
      state: "ENABLED",
      eventPattern: failedUploadPattern(props.ioQueue.ref),
      targets: [
        {
          id: "PublishFailedRender",
          arn: props.ioQueue.ref,
          roleArn: this.role.roleArn,
          batchParameters: {
            jobDefinition: props.publisher.ref,
            jobName: `brender-${props.farmName}-publish-failed`,
            retryStrategy: { attempts: PUBLISHER_ATTEMPTS },
          },
          // The input becomes the job's parameters: {"uploadJobId": "<the failed upload's id>"}.
          inputTransformer: {
            inputPathsMap: { [PUBLISHER_PARAMETER]: "$.detail.jobId" },
            inputTemplate: `{"${PUBLISHER_PARAMETER}": <${PUBLISHER_PARAMETER}>}`,
          },
          // A submission Batch refuses for a while (throttling) is retried for a day.
          retryPolicy: { maximumEventAgeInSeconds: 86_400, maximumRetryAttempts: 185 },
        },
      ],
    });
    // The role must be allowed to submit before the first event arrives.
    this.rule.node.addDependency(policy);
  }
}
