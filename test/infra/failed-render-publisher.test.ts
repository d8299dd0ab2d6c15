/**
 * The farm's answer to a failed or cancelled render, in the synthesized
 * template: an EventBridge rule on Batch job state changes that submits the
 * publisher job (the worker with --after-failed-upload) to the io queue with
 * the failed upload's id. Its event pattern is run through an EventBridge
 * matcher (moto_server's rules, delivering to SQS) against events shaped as
 * AWS Batch documents them ("AWS Batch events", Batch Job State Change).
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { CreateQueueCommand, DeleteMessageCommand, GetQueueAttributesCommand, ReceiveMessageCommand, SQSClient } from "@aws-sdk/client-sqs";
import { PUBLISHER_PARAMETER } from "../../src/infra/constructs/failed-render-publisher.ts";
import { synthFarmTemplate } from "../../src/infra/synth.ts";
import { startMotoServer, type MotoServer } from "../helpers/moto-server.ts";

type Json = Record<string, any>;

const farm = synthFarmTemplate({ farmName: "demo", blenderVersions: ["3.6.0", "4.2.0"] });
const resources = farm.template.Resources as Record<string, Json>;
const ofType = (type: string) => Object.entries(resources).filter(([, resource]) => resource.Type === type);
const [ioQueueId] = ofType("AWS::Batch::JobQueue").find(([, queue]) => queue.Properties.JobQueueName === "brender-demo-io")!;
const [ruleId, rule] = ofType("AWS::Events::Rule")[0]!;
const [publisherId, publisher] = ofType("AWS::Batch::JobDefinition").find(([, definition]) => definition.Properties.JobDefinitionName === "brender-demo-publish-failed")!;

const IO_QUEUE_ARN = "arn:aws:batch:eu-west-1:123456789012:job-queue/brender-demo-io";

/** A Batch Job State Change event as EventBridge delivers it (the detail is the job, as DescribeJobs gives it). */
function batchEvent(detail: Json): Json {
  return {
    version: "0",
    id: "c8f9c4b5-76e5-d76a-f980-7011e206042b",
    "detail-type": "Batch Job State Change",
    source: "aws.batch",
    account: "123456789012",
    time: "2026-12-07T04:00:00Z",
    region: "eu-west-1",
    resources: [`arn:aws:batch:eu-west-1:123456789012:job/${detail.jobId}`],
    detail: { jobArn: `arn:aws:batch:eu-west-1:123456789012:job/${detail.jobId}`, jobDefinition: "arn:aws:batch:eu-west-1:123456789012:job-definition/brender-demo-blender-4_2_0:1", dependsOn: [], attempts: [], container: {}, ...detail },
  };
}

let moto: MotoServer;
before(async () => {
  moto = await startMotoServer();
});
after(() => moto.stop());

/** A call to EventBridge's JSON 1.1 API on moto (no SDK client for it is installed). */
async function events(action: string, body: Json): Promise<Json> {
  const response = await fetch(moto.endpoint, {
    method: "POST",
    headers: {
      "content-type": "application/x-amz-json-1.1",
      "x-amz-target": `AWSEvents.${action}`,
      authorization: `AWS4-HMAC-SHA256 Credential=${moto.credentials.accessKeyId}/20261207/${moto.region}/events/aws4_request, SignedHeaders=host, Signature=0`,
    },
    body: JSON.stringify(body),
  });
  const text = await response.text();
  assert.equal(response.status, 200, text);
  return text ? (JSON.parse(text) as Json) : {};
}

/**
 * Which of `samples` the pattern matches, by EventBridge's matcher as moto
 * implements it (moto has no TestEventPattern): a rule with the pattern and
 * an SQS target, every sample put on the bus, the queue read back.
 */
async function matching(pattern: Json, samples: readonly Json[]): Promise<string[]> {
  const sqs = new SQSClient({ endpoint: moto.endpoint, region: moto.region, credentials: moto.credentials });
  try {
    const queueUrl = (await sqs.send(new CreateQueueCommand({ QueueName: `matched-${Date.now()}` }))).QueueUrl!;
    const queueArn = (await sqs.send(new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ["QueueArn"] }))).Attributes!.QueueArn!;
    const name = `rule-${Date.now()}`;
    await events("PutRule", { Name: name, EventPattern: JSON.stringify(pattern), State: "ENABLED" });
    await events("PutTargets", { Rule: name, Targets: [{ Id: "matched", Arn: queueArn }] });
    for (const sample of samples) {
      const answer = await events("PutEvents", {
        Entries: [{ Source: sample.source, DetailType: sample["detail-type"], Detail: JSON.stringify(sample.detail), Resources: sample.resources }],
      });
      assert.equal(answer.FailedEntryCount, 0);
    }
    const names: string[] = [];
    for (;;) {
      const received = await sqs.send(new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 0 }));
      if (!received.Messages?.length) break;
      for (const message of received.Messages) names.push(String((JSON.parse(message.Body!) as Json).detail.jobName) + ":" + String((JSON.parse(message.Body!) as Json).detail.status));
      await Promise.all(received.Messages.map((message) => sqs.send(new DeleteMessageCommand({ QueueUrl: queueUrl, ReceiptHandle: message.ReceiptHandle! }))));
    }
    await events("RemoveTargets", { Rule: name, Ids: ["matched"] });
    await events("DeleteRule", { Name: name });
    return names.sort();
  } finally {
    sqs.destroy();
  }
}

describe("farm stack: failed and cancelled renders are published by an event rule, not by a waiting container", () => {
  it("matches exactly the failed upload jobs of this farm's io queue", async () => {
    const pattern = JSON.parse(JSON.stringify(rule.Properties.EventPattern).replaceAll(JSON.stringify({ Ref: ioQueueId }), JSON.stringify(IO_QUEUE_ARN))) as Json;
    const upload = { jobName: "r-20261207-040000-000001-upload", jobId: "u-1", jobQueue: IO_QUEUE_ARN, status: "FAILED", statusReason: "Dependent Job failed" };
    const samples = [
      batchEvent(upload),
      batchEvent({ ...upload, status: "SUCCEEDED", statusReason: "Essential container in task exited" }),
      batchEvent({ ...upload, status: "RUNNABLE" }),
      // A failed copy or render fails the upload, whose event is the one that counts.
      batchEvent({ ...upload, jobName: "r-20261207-040000-000001-copy" }),
      batchEvent({ ...upload, jobName: "r-20261207-040000-000001-render" }),
      // A failed publisher never starts another.
      batchEvent({ ...upload, jobName: "brender-demo-publish-failed" }),
      batchEvent({ ...upload, jobName: "r-20261207-040000-000002-upload", jobQueue: IO_QUEUE_ARN.replace("demo", "other") }),
      { ...batchEvent({ ...upload, jobName: "r-20261207-040000-000003-upload" }), source: "my.app" },
    ];
    assert.deepEqual(await matching(pattern, samples), ["r-20261207-040000-000001-upload:FAILED"]);
  });

  it("submits the publisher job to the io queue with the failed upload's id as its parameter", () => {
    assert.equal(rule.Properties.State, "ENABLED");
    const [target] = rule.Properties.Targets as Json[];
    assert.deepEqual(target!.Arn, { Ref: ioQueueId });
    assert.deepEqual(target!.BatchParameters.JobDefinition, { Ref: publisherId });
    assert.equal(target!.BatchParameters.JobName, "brender-demo-publish-failed");
    assert.deepEqual(target!.InputTransformer, {
      InputPathsMap: { [PUBLISHER_PARAMETER]: "$.detail.jobId" },
      InputTemplate: `{"${PUBLISHER_PARAMETER}": <${PUBLISHER_PARAMETER}>}`,
    });
    // The template with the id filled in is the job's parameters: valid JSON.
    const filled = target!.InputTransformer.InputTemplate.replace(`<${PUBLISHER_PARAMETER}>`, JSON.stringify("0f0e-job-id"));
    assert.deepEqual(JSON.parse(filled), { [PUBLISHER_PARAMETER]: "0f0e-job-id" });

    // EventBridge's role may submit exactly that job to exactly that queue.
    const roleId = target!.RoleArn["Fn::GetAtt"][0] as string;
    assert.equal(resources[roleId]!.Properties.AssumeRolePolicyDocument.Statement[0].Principal.Service, "events.amazonaws.com");
    const policies = ofType("AWS::IAM::Policy").filter(([, policy]) => (policy.Properties.Roles as Json[]).some((role) => role.Ref === roleId));
    const statements = policies.flatMap(([, policy]) => policy.Properties.PolicyDocument.Statement as Json[]);
    assert.deepEqual(statements.map((statement) => [statement.Action, statement.Resource]), [["batch:SubmitJob", [{ Ref: ioQueueId }, { Ref: publisherId }]]]);
    assert.deepEqual(rule.DependsOn, [policies[0]![0]], "the role may submit before the rule exists");
    assert.ok(ruleId.startsWith("FailedRenders"));
  });

  it("the publisher job runs the worker with --after-failed-upload Ref::uploadJobId, like the other jobs otherwise", () => {
    const properties = publisher.Properties;
    assert.deepEqual(properties.ContainerProperties.Command, ["--after-failed-upload", `Ref::${PUBLISHER_PARAMETER}`]);
    assert.ok(PUBLISHER_PARAMETER in properties.Parameters);
    const blender = ofType("AWS::Batch::JobDefinition").find(([, definition]) => definition.Properties.JobDefinitionName === "brender-demo-blender-4_2_0")![1];
    for (const key of ["JobRoleArn", "Volumes", "MountPoints", "LogConfiguration", "Image"]) {
      assert.deepEqual(properties.ContainerProperties[key], blender.Properties.ContainerProperties[key], key);
    }
    const environment = properties.ContainerProperties.Environment as Json[];
    assert.deepEqual(environment.find((variable) => variable.Name === "AWS_REGION")?.Value, { Ref: "AWS::Region" });
    assert.deepEqual(properties.RetryStrategy.EvaluateOnExit.at(-1), { Action: "EXIT", OnExitCode: "*" }, "its own errors are not retried");
  });
});
