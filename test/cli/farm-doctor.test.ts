/**
 * `brender farm doctor` as users run it (bin/brender, built) against a
 * healthy farm in moto_server, then with one thing broken at a time: each
 * break turns exactly its check BLOCKED or WARN, with its fix, and the exit
 * code says whether a render is blocked. The base image's registry is a
 * loopback server (BRENDER_BASE_IMAGE_REGISTRY).
 *
 * moto cannot say everything AWS does: it has no EC2 or CodeBuild quotas in
 * Service Quotas and no SES GetAccount, so those checks are warnings here
 * ("could not read", naming the permission); their verdicts are unit-tested
 * on AWS-shaped answers in test/backends/aws/farm/doctor.test.ts.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { BatchDeleteImageCommand } from "@aws-sdk/client-ecr";
import { UpdateJobQueueCommand } from "@aws-sdk/client-batch";
import { DeleteRoleCommand } from "@aws-sdk/client-iam";
import { CreateEmailIdentityCommand, DeleteEmailIdentityCommand } from "@aws-sdk/client-sesv2";
import type { DoctorReport } from "../../src/backends/aws/farm/doctor/check.ts";
import { baseImageOf } from "../../src/backends/aws/farm/doctor/base-image.ts";
import { brender } from "../helpers/blender.ts";
import { createDoctorFarm, DOCTOR_FARM, startFakeRegistry, type DoctorFarm, type FakeRegistry } from "../helpers/doctor-farm.ts";
import { startMotoServer, type MotoServer } from "../helpers/moto-server.ts";
import { closedPort } from "../helpers/s3-server.ts";

let moto: MotoServer;
let farm: DoctorFarm;
let registry: FakeRegistry;

before(async () => {
  const base = baseImageOf(await readFile(new URL("../../docker/Dockerfile", import.meta.url), "utf8"))!;
  [moto, registry] = await Promise.all([startMotoServer(), startFakeRegistry(base.repository, base.digest!)]);
  await moto.configure({ batch: { use_docker: false } });
  farm = await createDoctorFarm(moto);
});
after(async () => {
  await Promise.all([moto?.stop(), registry?.close()]);
});

const env = (extra: Record<string, string> = {}) => ({
  AWS_ENDPOINT_URL: moto.endpoint,
  AWS_ACCESS_KEY_ID: moto.credentials.accessKeyId,
  AWS_SECRET_ACCESS_KEY: moto.credentials.secretAccessKey,
  AWS_SESSION_TOKEN: "",
  AWS_PROFILE: "",
  AWS_REGION: moto.region,
  AWS_CONFIG_FILE: "/nonexistent/aws-config",
  AWS_SHARED_CREDENTIALS_FILE: "/nonexistent/aws-credentials",
  AWS_EC2_METADATA_DISABLED: "true",
  BRENDER_BASE_IMAGE_REGISTRY: registry.url,
  ...extra,
});

async function doctor(extra: Record<string, string> = {}): Promise<{ code: number | null; report: DoctorReport; byId: Map<string, DoctorReport["checks"][number]> }> {
  const result = await brender(["farm", "doctor", DOCTOR_FARM.name, "--json"], env(extra));
  assert.ok(result.code === 0 || result.code === 1, `exit ${result.code}: ${result.stderr}`);
  const report = JSON.parse(result.stdout) as DoctorReport;
  return { code: result.code, report, byId: new Map(report.checks.map((check) => [check.id, check])) };
}

/** The checks that are not OK, as "ID STATUS". */
const notOk = (report: DoctorReport) => report.checks.filter((check) => check.status !== "OK").map((check) => `${check.id} ${check.status}`);

/** What moto cannot answer: warnings on a healthy farm. */
const MOTO_WARNINGS = ["quota:on-demand-cpu WARN", "quota:spot-cpu WARN", "quota:spot-gpu WARN", "codebuild-quota WARN", "ses-account WARN"];

describe("brender farm doctor on moto_server", () => {
  it("a healthy farm: exit 0, every check OK but what moto cannot answer (WARN naming the permission), the base image fetched with the registry's anonymous token", async () => {
    const { code, report, byId } = await doctor();
    assert.equal(code, 0);
    assert.equal(report.farm, "doc");
    assert.equal(report.region, moto.region);
    assert.equal(report.blocking, false);
    assert.deepEqual(notOk(report).sort(), [...MOTO_WARNINGS].sort());
    assert.deepEqual(
      report.checks.map((check) => check.id),
      [
        "stack", "queue:io", "queue:spot-cpu", "queue:spot-gpu", "quota:spot-cpu", "quota:on-demand-cpu", "quota:spot-gpu", "instance-types",
        "image:4.2.0", "codebuild-quota", "image-builds", "ses-account", "ses-sender",
        "service-role:batch", "service-role:ecs", "service-role:spot", "base-image",
      ],
    );
    for (const check of report.checks) {
      assert.ok(["OK", "WARN", "BLOCKED"].includes(check.status));
      assert.equal(check.fix !== undefined, check.status !== "OK", `${check.id}: a fix exactly when not OK`);
    }
    assert.match(byId.get("queue:spot-cpu")!.summary, /brender-doc-spot-cpu is ENABLED and VALID: brender-doc-spot-cpu-env \(SPOT, up to 256 vCPUs of c6i\.2xlarge\/m7i\.2xlarge\)/);
    assert.match(byId.get("instance-types")!.summary, new RegExp(`EC2 in ${moto.region} offers c6i\\.large, m6i\\.large, c6i\\.2xlarge, m7i\\.2xlarge, g5\\.2xlarge, g6\\.2xlarge`));
    assert.match(byId.get("image:4.2.0")!.summary, /brender-farm-doc:blender-4\.2\.0 is in ECR/);
    assert.match(byId.get("quota:spot-gpu")!.summary, /Could not read the EC2 quota L-3819A6DF "All G and VT Spot Instance Requests"/);
    assert.match(byId.get("quota:spot-gpu")!.fix!, /servicequotas:GetServiceQuota/);
    assert.match(byId.get("ses-account")!.summary, /Could not read the SES account of us-east-1 \(the API did not answer here: HTTP 404\)/);
    assert.match(byId.get("ses-account")!.fix!, /^Allow ses:GetAccount to these credentials/);
    assert.match(byId.get("ses-sender")!.summary, /renders@example\.com is verified/);
    assert.match(byId.get("base-image")!.summary, /nvcr\.io\/nvidia\/cuda@sha256:[0-9a-f]{12}… resolves at http:\/\/127\.0\.0\.1:\d+/);
    assert.deepEqual(registry.requests.slice(-3).map((line) => line.replace(/sha256:[0-9a-f]+/, "DIGEST")), [
      "GET /v2/nvidia/cuda/manifests/DIGEST no-token",
      "GET /token no-token",
      "GET /v2/nvidia/cuda/manifests/DIGEST with-token",
    ]);
  });

  it("prints one line per check, the fix under it, and the verdict", async () => {
    const result = await brender(["farm", "doctor", "doc"], env());
    assert.equal(result.code, 0, result.stderr);
    const lines = result.stdout.trim().split("\n");
    assert.equal(lines[0], `Farm "doc" in ${moto.region}:`);
    assert.match(result.stdout, /\n {2}OK {7}stack {16}Stack brender-farm-doc: CREATE_COMPLETE\.\n/);
    assert.match(result.stdout, /\n {2}WARN {5}ses-account {10}Could not read .*\n {32}fix: Allow ses:GetAccount/);
    assert.equal(lines.at(-1), "Nothing blocks a render (5 warning(s) above).");
  });

  it("an unverified sender: ses-sender WARN with the command that verifies it; a render is not blocked (exit 0)", async () => {
    await farm.ses.send(new DeleteEmailIdentityCommand({ EmailIdentity: DOCTOR_FARM.sender }));
    try {
      const { code, report, byId } = await doctor();
      assert.equal(code, 0);
      assert.deepEqual(notOk(report).sort(), [...MOTO_WARNINGS, "ses-sender WARN"].sort());
      assert.match(byId.get("ses-sender")!.summary, /renders@example\.com is not an SES identity in us-east-1: render e-mails cannot be sent/);
      assert.equal(byId.get("ses-sender")!.fix, "Run 'brender farm deploy doc --email renders@example.com' (it asks SES to verify it), then open the link AWS mails.");
    } finally {
      await farm.ses.send(new CreateEmailIdentityCommand({ EmailIdentity: DOCTOR_FARM.sender }));
    }
  });

  it("a missing image: image:4.2.0 BLOCKED (deploy builds it), and the CodeBuild quota and the base image now matter (exit 1)", async () => {
    await farm.ecr.send(new BatchDeleteImageCommand({ repositoryName: DOCTOR_FARM.repository, imageIds: [{ imageTag: DOCTOR_FARM.tag }] }));
    try {
      const { code, report, byId } = await doctor();
      assert.equal(code, 1);
      assert.equal(report.blocking, true);
      assert.deepEqual(notOk(report).sort(), [...MOTO_WARNINGS, "image:4.2.0 BLOCKED"].sort());
      assert.match(byId.get("image:4.2.0")!.summary, /ECR lacks \d{12}\.dkr\.ecr\.us-east-1\.amazonaws\.com\/brender-farm-doc:blender-4\.2\.0, which its job definition runs/);
      assert.equal(byId.get("image:4.2.0")!.fix, "Run 'brender farm deploy doc': it builds the missing images.");

      // With an image to build, a registry that cannot be reached blocks too.
      const offline = await doctor({ BRENDER_BASE_IMAGE_REGISTRY: `http://127.0.0.1:${await closedPort()}` });
      assert.equal(offline.code, 1);
      assert.equal(offline.byId.get("base-image")!.status, "BLOCKED");
      assert.match(offline.byId.get("base-image")!.summary, /Could not reach http:\/\/127\.0\.0\.1:\d+ .*ECONNREFUSED.*: the missing images cannot be built/);
    } finally {
      await farm.pushImage();
    }
  });

  it("a disabled queue: its queue check BLOCKED with the command that enables it (exit 1)", async () => {
    await farm.batch.send(new UpdateJobQueueCommand({ jobQueue: DOCTOR_FARM.queues.spotCpu, state: "DISABLED" }));
    try {
      const { code, report, byId } = await doctor();
      assert.equal(code, 1);
      assert.deepEqual(notOk(report).sort(), [...MOTO_WARNINGS, "queue:spot-cpu BLOCKED"].sort());
      assert.match(byId.get("queue:spot-cpu")!.summary, /The spot CPU queue brender-doc-spot-cpu is DISABLED: jobs sent to it never start/);
      assert.equal(byId.get("queue:spot-cpu")!.fix, `aws batch update-job-queue --job-queue brender-doc-spot-cpu --state ENABLED --region ${moto.region}`);
    } finally {
      await farm.batch.send(new UpdateJobQueueCommand({ jobQueue: DOCTOR_FARM.queues.spotCpu, state: "ENABLED" }));
    }
  });

  it("a missing service-linked role: service-role:spot BLOCKED with the command that makes it (exit 1)", async () => {
    const spot = DOCTOR_FARM.serviceLinkedRoles.find((role) => role.name === "AWSServiceRoleForEC2Spot")!;
    await farm.iam.send(new DeleteRoleCommand({ RoleName: spot.name }));
    try {
      const { code, report, byId } = await doctor();
      assert.equal(code, 1);
      assert.deepEqual(notOk(report).sort(), [...MOTO_WARNINGS, "service-role:spot BLOCKED"].sort());
      assert.match(byId.get("service-role:spot")!.summary, /AWSServiceRoleForEC2Spot is missing: EC2 starts the spot hosts with it/);
      assert.equal(byId.get("service-role:spot")!.fix, "aws iam create-service-linked-role --aws-service-name spot.amazonaws.com");
    } finally {
      await farm.createServiceLinkedRole(spot);
    }
  });

  it("an unreachable base-image registry, or one without the pinned digest: base-image WARN while every image is built (exit 0)", async () => {
    const offline = await doctor({ BRENDER_BASE_IMAGE_REGISTRY: `http://127.0.0.1:${await closedPort()}` });
    assert.equal(offline.code, 0);
    assert.deepEqual(notOk(offline.report).sort(), [...MOTO_WARNINGS, "base-image WARN"].sort());
    assert.match(offline.byId.get("base-image")!.summary, /Could not reach http:\/\/127\.0\.0\.1:\d+ for the worker's base image .*ECONNREFUSED.*the next build would fail/);
    assert.match(offline.byId.get("base-image")!.fix!, /BRENDER_BASE_IMAGE_REGISTRY/);

    const other = await startFakeRegistry("nvidia/cuda", `sha256:${"0".repeat(64)}`);
    try {
      const withdrawn = await doctor({ BRENDER_BASE_IMAGE_REGISTRY: other.url });
      assert.equal(withdrawn.code, 0);
      assert.match(withdrawn.byId.get("base-image")!.summary, /answered HTTP 404 .*no such manifest: a wrong or withdrawn digest/);
      assert.match(withdrawn.byId.get("base-image")!.fix!, /docker buildx imagetools inspect nvcr\.io\/nvidia\/cuda:12\.4\.1-runtime-ubuntu22\.04/);
    } finally {
      await other.close();
    }
  });

  it("an unknown farm or a bad name: exit 2 in one line, nothing checked", async () => {
    const unknown = await brender(["farm", "doctor", "nowhere"], env());
    assert.equal(unknown.code, 2);
    assert.equal(unknown.stderr.trim(), `brender: No Brender farm "nowhere" in ${moto.region}: deploy it with 'brender farm deploy nowhere', or check --region/--profile.`);
    assert.equal(unknown.stdout, "");
    const bad = await brender(["farm", "doctor", "no_underscores"], env());
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /^brender: Farm name "no_underscores" is invalid/);
  });
});
