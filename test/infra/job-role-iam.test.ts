/**
 * The job role's policy checked by execution, not only by reading: moto with
 * IAM enforcement on, an IAM user whose only policy is exactly the job role's
 * statements from the synthesized template (Ref, Fn::GetAtt and Fn::Join
 * resolved to moto's resources), and the worker's real AWS calls made as that
 * user: the copy job (S3 reads), the upload job (S3 writes, the links' signing
 * key, SES, the webhook secret), the failed-render publisher (Batch
 * DescribeJobs) and the render job's cost-cap guard (Batch TerminateJob).
 *
 * Each statement is then removed in turn and the same run must go wrong: a
 * missing permission fails a test, and so does one that nothing needs (an
 * extra one), unless it is listed in NOT_EXECUTED with the reason.
 *
 * What moto 5 cannot evaluate (moto/iam/access_control.py):
 * - Condition keys: identity policies get no request context, so any
 *   Condition would deny. Left out of the executed policy:
 *   `ses:FromAddress` (AWS compares it with SendEmail's FromEmailAddress; the
 *   template test checks it names the farm's sender),
 *   `aws:ResourceTag/<farm tag>` on TerminateJob (AWS compares the job's tags,
 *   which the submission sets, with the farm's name) and
 *   `elasticfilesystem:AccessPointArn` (AWS checks it when ECS mounts EFS).
 * - Resources of services other than S3: moto checks their actions against
 *   resource "*", so their statements run with Resource "*" here; their
 *   scoping is asserted on the template (webhook-secret, link-distribution and
 *   farm-stack tests). S3 statements run with their real bucket ARNs.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { CreateAccessKeyCommand, CreateUserCommand, IAMClient, PutUserPolicyCommand } from "@aws-sdk/client-iam";
import { CreateBucketCommand, GetObjectCommand, PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { CreateSecretCommand, SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { CreateEmailIdentityCommand, SESv2Client } from "@aws-sdk/client-sesv2";
import { pino } from "pino";
import { makeLinkKeyPair } from "../../src/backends/aws/farm/link-key.ts";
import { synthFarmTemplate } from "../../src/infra/synth.ts";
import { LINK_ENV } from "../../src/storage/cloudfront-link.ts";
import { costCapGuard } from "../../src/worker/cost-cap-guard.ts";
import { runWorker } from "../../src/worker/main.ts";
import { tempDir } from "../helpers/blender.ts";
import { startMotoServer, type MotoServer } from "../helpers/moto-server.ts";
import { batchFixture, type BatchFixture } from "../worker/aws-batch-fixture.ts";
import { payloadFor, writeRenderedFrames } from "../worker/harness.ts";

type Json = Record<string, any>;
type Statement = { Sid?: string; Effect: string; Action: string | string[]; Resource: unknown; Condition?: Json };

const REGION = "us-east-1";
const ACCOUNT = "123456789012";
const BUCKET = "brender-iam-farm";
const SENDER = "renders@example.com";
const ARTIST = "artist@example.com";
const LINK_DOMAIN = "d1iamtest.cloudfront.net";
const silent = pino({ level: "silent" });

/** Statements no worker SDK call exercises, and why (each is still checked on the template). */
const NOT_EXECUTED: ReadonlyArray<{ readonly actions: RegExp; readonly why: string }> = [
  { actions: /^elasticfilesystem:Client/, why: "the ECS agent mounts the work folder with the role; the worker makes no EFS call" },
];

const keys = makeLinkKeyPair();
const { template } = synthFarmTemplate({
  farmName: "iam",
  blenderVersions: ["4.2.0"],
  notificationEmail: SENDER,
  linkPublicKey: keys.publicKeyPem,
  region: REGION,
  account: ACCOUNT,
});

/** Every statement of every policy attached to the job role (and proof that nothing else is attached). */
function jobRoleStatements(): Statement[] {
  const resources = template.Resources as Record<string, Json>;
  const roleIds = Object.keys(resources).filter((id) => resources[id]!.Type === "AWS::IAM::Role" && id.startsWith("JobRole"));
  assert.equal(roleIds.length, 1, "one job role");
  const role = resources[roleIds[0]!]!;
  assert.equal(role.Properties.ManagedPolicyArns, undefined, "no managed policy beside the statements executed here");
  assert.equal(role.Properties.Policies, undefined, "no inline policy beside the statements executed here");
  return Object.values(resources)
    .filter((r) => r.Type === "AWS::IAM::Policy" && (r.Properties.Roles as Json[]).some((x) => x.Ref === roleIds[0]))
    .flatMap((r) => r.Properties.PolicyDocument.Statement as Statement[]);
}

/** A template value with Ref / Fn::GetAtt / Fn::Join resolved against `refs` (logical id -> Ref value and attributes). */
function resolve(value: unknown, refs: Record<string, { ref?: string; attrs?: Record<string, string> }>): string {
  if (typeof value === "string") return value;
  const node = value as Json;
  const pseudo: Record<string, string> = { "AWS::Partition": "aws", "AWS::Region": REGION, "AWS::AccountId": ACCOUNT, "AWS::URLSuffix": "amazonaws.com" };
  if ("Ref" in node) {
    const ref = pseudo[node.Ref] ?? refs[node.Ref]?.ref;
    assert.ok(ref !== undefined, `no moto resource for Ref ${node.Ref}: map it in the test`);
    return ref;
  }
  if ("Fn::GetAtt" in node) {
    const [id, attribute] = node["Fn::GetAtt"] as [string, string];
    const found = refs[id]?.attrs?.[attribute];
    assert.ok(found !== undefined, `no moto value for ${id}.${attribute}: map it in the test`);
    return found;
  }
  if ("Fn::Join" in node) {
    const [separator, parts] = node["Fn::Join"] as [string, unknown[]];
    return parts.map((part) => resolve(part, refs)).join(separator);
  }
  throw new Error(`cannot resolve ${JSON.stringify(value)}`);
}

/** The statement as moto can run it (see the file's comment for what is left out and why). */
function executable(statement: Statement, refs: Parameters<typeof resolve>[1]): Statement {
  const { Condition: _notEvaluatedByMoto, ...rest } = statement;
  const actions = [statement.Action].flat();
  const resources = [statement.Resource].flat().map((resource) => resolve(resource, refs));
  const onlyS3 = actions.every((action) => action.startsWith("s3:"));
  return { ...rest, Resource: onlyS3 ? resources : "*" };
}

function isS3(statement: Statement): boolean {
  return [statement.Action].flat().every((action) => action.startsWith("s3:"));
}

function describeStatement(statement: Statement): string {
  return `${statement.Sid ?? "(no Sid)"} ${[statement.Action].flat().join(",")}`;
}

let moto: MotoServer;
let admin: { accessKeyId: string; secretAccessKey: string };
let fixture: BatchFixture;
let refs: Parameters<typeof resolve>[1];
let hooks: Server;
let imds: Server;
let hookUrl: string;
let imdsUrl: string;
/** Failed uploads (Batch failed them unstarted after a failed render), one per run, made before IAM is enforced. */
const failedUploads: Array<{ renderId: string; renderJob: string; uploadJob: string }> = [];
let runs = 0;
let linkSecretArn: string;
let webhookSecretArn: string;

async function listen(server: Server): Promise<string> {
  await new Promise<void>((done) => server.listen(0, "127.0.0.1", done));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

const STATEMENTS = jobRoleStatements();
const RUNS_NEEDED = 2 + STATEMENTS.length;

before(async () => {
  // Enforcement starts only when the world exists (enforceIam); until then moto allows anything.
  moto = await startMotoServer({ region: REGION, env: { INITIAL_NO_AUTH_ACTION_COUNT: "1000000" }, iamSignatureFix: true });
  const config = { endpoint: moto.endpoint, region: REGION, credentials: moto.credentials };
  const s3 = new S3Client({ ...config, forcePathStyle: true });
  await s3.send(new CreateBucketCommand({ Bucket: BUCKET }));
  await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: "proj/input/scene.blend", Body: "BLENDER-v402 stand-in" }));
  s3.destroy();
  const secrets = new SecretsManagerClient(config);
  const linkSecret = await secrets.send(new CreateSecretCommand({ Name: "iam-links-key", SecretString: keys.privateKeyPem }));
  const webhookSecret = await secrets.send(new CreateSecretCommand({ Name: "iam-webhook", SecretString: "a".repeat(64) }));
  secrets.destroy();
  linkSecretArn = linkSecret.ARN!;
  webhookSecretArn = webhookSecret.ARN!;
  const ses = new SESv2Client(config);
  await ses.send(new CreateEmailIdentityCommand({ EmailIdentity: SENDER }));
  ses.destroy();
  const iam = new IAMClient(config);
  await iam.send(new CreateUserCommand({ UserName: "admin" }));
  await iam.send(new PutUserPolicyCommand({
    UserName: "admin",
    PolicyName: "everything",
    PolicyDocument: JSON.stringify({ Version: "2012-10-17", Statement: [{ Effect: "Allow", Action: "*", Resource: "*" }] }),
  }));
  const adminKey = (await iam.send(new CreateAccessKeyCommand({ UserName: "admin" }))).AccessKey!;
  admin = { accessKeyId: adminKey.AccessKeyId!, secretAccessKey: adminKey.SecretAccessKey! };
  iam.destroy();

  fixture = await batchFixture(moto);
  for (let run = 0; run < RUNS_NEEDED; run++) {
    const renderId = `r-20261207-000000-${String(100 + run).padStart(6, "0")}`;
    const render = await fixture.failing(`${renderId}-render`, "Host EC2 (instance i-0iam) terminated.");
    await fixture.settled(render);
    const uploadJob = await fixture.dependent(`${renderId}-upload`, [render], {
      JOB_ACTION_TYPE: "upload_render_output",
      BRENDER_JOB_PAYLOAD: JSON.stringify(payloadFor(renderId, { frames: "1-2", video: { enabled: false }, notify: { email: ARTIST } })),
      BRENDER_STORAGE: `s3://${BUCKET}`,
      BRENDER_SES_FROM: SENDER,
    });
    await fixture.settled(uploadJob);
    failedUploads.push({ renderId, renderJob: render, uploadJob });
  }

  // What the template's references stand for in this moto account.
  const resources = template.Resources as Record<string, Json>;
  refs = {};
  for (const [id, resource] of Object.entries(resources)) {
    if (resource.Type === "AWS::S3::Bucket") refs[id] = { ref: BUCKET, attrs: { Arn: `arn:aws:s3:::${BUCKET}` } };
    if (resource.Type === "AWS::SecretsManager::Secret") refs[id] = { ref: id.startsWith("Links") ? linkSecret.ARN! : webhookSecret.ARN! };
    if (resource.Type === "AWS::EFS::FileSystem") refs[id] = { ref: "fs-0iam", attrs: { Arn: `arn:aws:elasticfilesystem:${REGION}:${ACCOUNT}:file-system/fs-0iam` } };
    if (resource.Type === "AWS::EFS::AccessPoint") refs[id] = { ref: "fsap-0iam", attrs: { Arn: `arn:aws:elasticfilesystem:${REGION}:${ACCOUNT}:access-point/fsap-0iam` } };
    if (resource.Type === "AWS::SES::Template") refs[id] = { ref: resource.Properties.Template.TemplateName ?? id };
    if (resource.Type === "AWS::SES::EmailIdentity") refs[id] = { ref: SENDER };
  }

  hooks = createServer((request, response) => {
    request.resume();
    request.on("end", () => response.end("ok"));
  });
  hookUrl = `${await listen(hooks)}/hook`;
  imds = createServer((_request, response) => response.writeHead(404).end());
  imdsUrl = await listen(imds);

  await moto.enforceIam();
});

after(async () => {
  for (const server of [hooks, imds]) {
    server?.closeAllConnections();
    await new Promise((done) => server?.close(done));
  }
  fixture?.batch.destroy();
  await moto?.stop();
});

/** What one run of the three jobs did; `clean` when every job did all its AWS work. */
type Outcome = { readonly clean: boolean; readonly problems: string[] };

/** Runs copy, upload and the publisher as an IAM user holding exactly `statements`. */
async function runAsJobRole(statements: readonly Statement[], t: { after: (fn: () => Promise<void>) => void }): Promise<Outcome> {
  const run = runs++;
  const userName = `job-role-${run}`;
  const config = { endpoint: moto.endpoint, region: REGION, credentials: admin };
  const iam = new IAMClient(config);
  await iam.send(new CreateUserCommand({ UserName: userName }));
  if (statements.length > 0) {
    await iam.send(new PutUserPolicyCommand({
      UserName: userName,
      PolicyName: "job-role",
      PolicyDocument: JSON.stringify({ Version: "2012-10-17", Statement: statements.map((statement) => executable(statement, refs)) }),
    }));
  }
  const key = (await iam.send(new CreateAccessKeyCommand({ UserName: userName }))).AccessKey!;
  iam.destroy();

  const home = await tempDir(t);
  const renderId = `r-20261207-000000-${String(run).padStart(6, "0")}`;
  const env = {
    BRENDER_HOME: home,
    EFS_BLENDER_FOLDER_PATH: join(home, "work"),
    BRENDER_STORAGE: `s3://${BUCKET}`,
    AWS_ENDPOINT_URL: moto.endpoint,
    AWS_REGION: REGION,
    AWS_ACCESS_KEY_ID: key.AccessKeyId!,
    AWS_SECRET_ACCESS_KEY: key.SecretAccessKey!,
    BRENDER_IMDS_ENDPOINT: imdsUrl,
    BRENDER_SES_FROM: SENDER,
    BRENDER_WEBHOOK_SECRET_ARN: webhookSecretArn,
    [LINK_ENV.domain]: LINK_DOMAIN,
    [LINK_ENV.keyPairId]: "KIAMTEST",
    [LINK_ENV.privateKeySecret]: linkSecretArn,
  };
  const problems: string[] = [];
  const payload = payloadFor(renderId, { frames: "1-2", video: { enabled: false }, notify: { email: ARTIST, webhooks: [hookUrl] } });

  const copy = await runWorker({
    env: { ...env, JOB_ACTION_TYPE: "copy_efs", BRENDER_JOB_PAYLOAD: JSON.stringify(payload), BUCKET_KEY: "proj/input/scene.blend" },
    stdout: () => {},
    log: silent,
  });
  if (copy.exitCode !== 0) problems.push(`copy: ${copy.error}`);

  await writeRenderedFrames(join(home, "work"), renderId, [1, 2]);
  const upload = await runWorker({ env: { ...env, JOB_ACTION_TYPE: "upload_render_output", BRENDER_JOB_PAYLOAD: JSON.stringify(payload) }, stdout: () => {}, log: silent });
  if (upload.exitCode !== 0) problems.push(`upload: ${upload.error}`);
  else problems.push(...(await manifestProblems(renderId, "succeeded")));

  const failed = failedUploads[run]!;
  await writeRenderedFrames(join(home, "work"), failed.renderId, [1]);
  const publisher = await runWorker({ env: { ...env, BRENDER_AFTER_FAILED_UPLOAD: failed.uploadJob }, stdout: () => {}, log: silent });
  if (publisher.error !== `Render ${failed.renderId} is incomplete: ${failed.renderId}-render: Host EC2 (instance i-0iam) terminated.`) {
    problems.push(`publisher: ${publisher.error ?? `exit ${publisher.exitCode}`}`);
  } else {
    problems.push(...(await manifestProblems(failed.renderId, "failed")));
  }

  // The render job's cost-cap guard (Blender itself is not needed for its AWS calls): DescribeJobs, then TerminateJob.
  // moto's failed render ran about half a second, which at this price is far past the cap.
  const guard = costCapGuard(
    { ...env, BRENDER_COST_CAP: JSON.stringify({ maxUsd: 1, usdPerChildHour: 1_000_000 }), AWS_BATCH_JOB_ID: failed.renderJob },
    { log: silent, minIntervalMs: 0 },
  )!;
  const stopped = await guard.check(true);
  guard.close();
  if (stopped === undefined) problems.push("cost cap guard: the render over its cap was not stopped");
  return { clean: problems.length === 0, problems };
}

/** Read with the admin's key: the manifest says whether e-mail, links and webhooks all worked. */
async function manifestProblems(renderId: string, status: string): Promise<string[]> {
  const s3 = new S3Client({ endpoint: moto.endpoint, region: REGION, credentials: admin, forcePathStyle: true });
  try {
    const answer = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: `proj/output/${renderId}/manifest.json` }));
    const manifest = JSON.parse(await answer.Body!.transformToString()) as { status: string; warnings: string[]; webhooks?: Array<{ outcome: string }> };
    const problems = manifest.warnings.map((warning) => `${renderId}: ${warning}`);
    if (manifest.status !== status) problems.push(`${renderId}: status ${manifest.status}, expected ${status}`);
    if (status === "succeeded" && manifest.webhooks?.[0]?.outcome !== "delivered") problems.push(`${renderId}: webhook ${manifest.webhooks?.[0]?.outcome}`);
    return problems;
  } catch (error) {
    return [`${renderId}: no manifest (${(error as Error).message})`];
  } finally {
    s3.destroy();
  }
}

describe("job role IAM, by execution (moto with IAM enforcement)", () => {
  it("the worker's copy, upload and publisher do all their AWS work with exactly the job role's statements", async (t) => {
    const outcome = await runAsJobRole(STATEMENTS, t);
    assert.deepEqual(outcome.problems, []);
  });

  it("without the job role's statements moto refuses the same calls (enforcement is on)", async (t) => {
    const outcome = await runAsJobRole([], t);
    assert.ok(!outcome.clean);
    assert.ok(outcome.problems.some((problem) => /copy: .*(Access Denied|AccessDenied|refused)/i.test(problem)), outcome.problems.join("\n"));
  });

  for (const [index, statement] of STATEMENTS.entries()) {
    const exempt = NOT_EXECUTED.find((entry) => [statement.Action].flat().every((action) => entry.actions.test(action)));
    if (exempt) {
      it(`statement ${describeStatement(statement)} is not executed here: ${exempt.why}`, () => {
        assert.ok(exempt.why.length > 0);
      });
      continue;
    }
    // Statements moto cannot tell apart (same actions, resource widened to "*") go together: the two secret reads.
    const actionsOf = (other: Statement) => JSON.stringify([other.Action].flat().sort());
    const same = (other: Statement) => !isS3(statement) && actionsOf(other) === actionsOf(statement);
    if (STATEMENTS.findIndex(same) !== -1 && STATEMENTS.findIndex(same) < index) continue;
    it(`statement ${describeStatement(statement)} is needed: without it the run goes wrong (no extra permission)`, async (t) => {
      const outcome = await runAsJobRole(STATEMENTS.filter((other, at) => at !== index && !same(other)), t);
      assert.ok(!outcome.clean, `the run was clean without ${describeStatement(statement)}: the job role grants more than the worker uses`);
      t.diagnostic(`without ${describeStatement(statement)}: ${outcome.problems[0]}`);
    });
  }
});
