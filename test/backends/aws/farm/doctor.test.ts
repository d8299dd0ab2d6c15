/**
 * The doctor's verdicts on AWS-shaped answers where moto cannot give them:
 * Service Quotas values for EC2 and CodeBuild (a new account's G and VT
 * quota is 0), SES GetAccount in and out of the sandbox, identities pending
 * verification, denied reads; and the pure judgements of stacks, queues,
 * builds and the base image reference.
 */
import { afterEach, describe, it } from "node:test";
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { mockClient } from "aws-sdk-client-mock";
import { GetServiceQuotaCommand, ServiceQuotasClient } from "@aws-sdk/client-service-quotas";
import { GetAccountCommand, GetEmailIdentityCommand, SESv2Client } from "@aws-sdk/client-sesv2";
import { GetRoleCommand, IAMClient } from "@aws-sdk/client-iam";
import { DescribeInstanceTypeOfferingsCommand, EC2Client } from "@aws-sdk/client-ec2";
import type { FarmCapacity, FarmEnvironment, FarmQueue } from "../../../../src/backends/aws/farm/batch-capacity.ts";
import { serviceRoleChecks, sesAccountCheck, sesChecks } from "../../../../src/backends/aws/farm/doctor/account-checks.ts";
import { baseImageCheck, baseImageOf, parseImageReference, registryUrl } from "../../../../src/backends/aws/farm/doctor/base-image.ts";
import { instanceOfferingsCheck, quotaNeeds, vcpuQuotaChecks } from "../../../../src/backends/aws/farm/doctor/capacity-checks.ts";
import { doctorReport, failureReason, guarded } from "../../../../src/backends/aws/farm/doctor/check.ts";
import { farmDoctor } from "../../../../src/backends/aws/farm/doctor/doctor.ts";
import { createFarmClients } from "../../../../src/backends/aws/farm/create-clients.ts";
import { DescribeStacksCommand } from "@aws-sdk/client-cloudformation";
import { queueChecks, stackCheck } from "../../../../src/backends/aws/farm/doctor/farm-checks.ts";
import { buildConcurrencyCheck, codeBuildQuotaCheck, ecrImage, imageBuildsCheck, imageChecks } from "../../../../src/backends/aws/farm/doctor/image-checks.ts";

const config = { region: "eu-west-1", credentials: { accessKeyId: "x", secretAccessKey: "y" } };
const quotas = new ServiceQuotasClient(config);
const ses = new SESv2Client(config);
const iam = new IAMClient(config);
const ec2 = new EC2Client(config);
const mocks = [mockClient(quotas), mockClient(ses), mockClient(iam), mockClient(ec2)] as const;
const [quotaMock, sesMock, iamMock, ec2Mock] = mocks;
afterEach(() => mocks.forEach((mock) => mock.reset()));

const denied = (action: string) =>
  Object.assign(new Error(`User: arn:aws:iam::123456789012:user/artist is not authorized to perform: ${action}`), { name: "AccessDeniedException", $metadata: { httpStatusCode: 400 } });

function environment(name: string, overrides: Partial<FarmEnvironment> = {}): FarmEnvironment {
  return { arn: `arn:aws:batch:eu-west-1:123456789012:compute-environment/${name}`, name, state: "ENABLED", status: "VALID", type: "SPOT", maxVcpus: 256, instanceTypes: ["c6i", "m6i"], ...overrides };
}
function queue(role: FarmQueue["role"], environments: FarmEnvironment[], overrides: Partial<FarmQueue> = {}): FarmQueue {
  return { role, output: `brender-studio-${role}`, name: `brender-studio-${role}`, state: "ENABLED", status: "VALID", environments, ...overrides };
}
/** The default farm: io (16 on-demand vCPUs), the four render queues (256 vCPUs each). */
const FARM: FarmCapacity = {
  queues: [
    queue("io", [environment("io-env", { type: "EC2", maxVcpus: 16, instanceTypes: ["c6i.large", "m6i.large"] })]),
    queue("spot-cpu", [environment("spot-cpu-env")]),
    queue("on-demand-cpu", [environment("on-demand-cpu-env", { type: "EC2" })]),
    queue("spot-gpu", [environment("spot-gpu-env", { instanceTypes: ["g5", "g6"] })]),
    queue("on-demand-gpu", [environment("on-demand-gpu-env", { type: "EC2", instanceTypes: ["g5", "g6"] })]),
  ],
  missing: [],
};

describe("vCPU quotas per queue kind", () => {
  it("needs: each quota's queues' most vCPUs, the copy/upload queue counted against on-demand standard", () => {
    assert.deepEqual(
      quotaNeeds(FARM).map(({ kind, vcpus, vcpusPerJob }) => [kind, vcpus, vcpusPerJob]),
      [["spot-cpu", 256, 2], ["on-demand-cpu", 272, 2], ["spot-gpu", 256, 8], ["on-demand-gpu", 256, 8]],
    );
    // Queues whose environments could not be read still need one render child.
    const unread: FarmCapacity = { queues: [queue("spot-gpu", [])], missing: [] };
    assert.deepEqual(quotaNeeds(unread).map(({ kind, vcpus }) => [kind, vcpus]), [["spot-gpu", 8]]);
  });

  it("a new account (G and VT quotas 0, 5 standard spot vCPUs): GPU queues BLOCKED, spot CPU short (WARN), each with the increase command", async () => {
    const values: Record<string, number> = { "L-34B43A08": 5, "L-1216C47A": 640, "L-3819A6DF": 0, "L-DB2E81BA": 0 };
    for (const [code, value] of Object.entries(values)) quotaMock.on(GetServiceQuotaCommand, { ServiceCode: "ec2", QuotaCode: code }).resolves({ Quota: { QuotaCode: code, Value: value } });
    const checks = await vcpuQuotaChecks(FARM, quotas, "studio", "eu-west-1");
    assert.deepEqual(checks.map((check) => `${check.id} ${check.status}`), ["quota:spot-cpu WARN", "quota:on-demand-cpu OK", "quota:spot-gpu BLOCKED", "quota:on-demand-gpu BLOCKED"]);
    const gpu = checks[2]!;
    assert.match(gpu.summary, /EC2 quota L-3819A6DF "All G and VT Spot Instance Requests": 0 vCPUs, but one render child needs 8: jobs on brender-studio-spot-gpu would wait RUNNABLE forever/);
    assert.match(gpu.fix!, /^aws service-quotas request-service-quota-increase --service-code ec2 --quota-code L-3819A6DF --desired-value 256 --region eu-west-1 \(or https:\/\/eu-west-1\.console\.aws\.amazon\.com\/servicequotas\/home\/services\/ec2\/quotas\/L-3819A6DF\)$/);
    assert.match(checks[0]!.summary, /5 vCPUs, below the 256 that brender-studio-spot-cpu may run: fewer render children run at once/);
    assert.match(checks[1]!.summary, /640 vCPUs, enough for the 272 that brender-studio-io and brender-studio-on-demand-cpu may run/);
  });

  it("a denied read is a warning naming the permissions", async () => {
    quotaMock.on(GetServiceQuotaCommand).rejects(denied("servicequotas:GetServiceQuota"));
    const checks = await vcpuQuotaChecks({ queues: [FARM.queues[1]!], missing: [] }, quotas, "studio", "eu-west-1");
    assert.deepEqual(checks.map((check) => `${check.id} ${check.status}`), ["quota:spot-cpu WARN"]);
    assert.match(checks[0]!.fix!, /Allow servicequotas:GetServiceQuota and servicequotas:GetAWSDefaultServiceQuota/);
  });
});

describe("CodeBuild", () => {
  it("reads the Linux/Medium concurrent-builds quota; 0 blocks only while an image is missing", async () => {
    quotaMock.on(GetServiceQuotaCommand, { ServiceCode: "codebuild", QuotaCode: "L-2DC20C30" }).resolves({ Quota: { QuotaCode: "L-2DC20C30", Value: 0 } });
    const [check] = await codeBuildQuotaCheck(quotas, true, "studio", "eu-west-1");
    assert.equal(check!.status, "BLOCKED");
    assert.match(check!.summary, /"Concurrently running builds for Linux\/Medium environment": 0, so the missing images cannot be built/);
    assert.match(check!.fix!, /--service-code codebuild --quota-code L-2DC20C30 --desired-value 1 --region eu-west-1/);
    assert.equal(buildConcurrencyCheck(0, false, "eu-west-1").status, "WARN");
    assert.equal(buildConcurrencyCheck(1, true, "eu-west-1").status, "OK");
  });

  it("the newest build of each version: a failed one is a warning pointing at its logs; running ones are fine", () => {
    const build = (id: string, version: string, status: string, link?: string) => ({
      id,
      buildStatus: status as "FAILED",
      environment: { type: "LINUX_CONTAINER" as const, image: "i", computeType: "BUILD_GENERAL1_MEDIUM" as const, environmentVariables: [{ name: "BLENDER_VERSION", value: version }] },
      ...(link ? { logs: { deepLink: link } } : {}),
    });
    // Newest first, as ListBuildsForProject(DESCENDING) gives them: 4.2.0's newest failed, an older one succeeded.
    const failed = imageBuildsCheck([build("b3", "4.2.0", "FAILED", "https://logs/b3"), build("b2", "3.6.0", "IN_PROGRESS"), build("b1", "4.2.0", "SUCCEEDED")], "studio");
    assert.equal(failed.status, "WARN");
    assert.equal(failed.summary, "The newest image builds: Blender 4.2.0 FAILED, Blender 3.6.0 IN_PROGRESS.");
    assert.equal(failed.fix, "See why Blender 4.2.0's failed (https://logs/b3), fix it, then run 'brender farm deploy studio'.");
    assert.equal(imageBuildsCheck([build("b2", "4.2.0", "SUCCEEDED"), build("b1", "4.2.0", "FAILED")], "studio").status, "OK");
  });
});

describe("images", () => {
  it("ECR image references, and a job definition gone or without its image", () => {
    assert.deepEqual(ecrImage("123456789012.dkr.ecr.eu-west-1.amazonaws.com/brender-farm-studio:blender-4.2.0"), { repository: "brender-farm-studio", tag: "blender-4.2.0" });
    assert.equal(ecrImage("ghcr.io/someone/image:1"), undefined);
    const checks = imageChecks(
      [
        { version: "4.2.0", jobDefinition: "arn:jd/1", definitionStatus: "INACTIVE", image: "x", present: true },
        { version: "3.6.0", jobDefinition: "arn:jd/2", definitionStatus: "ACTIVE", image: "123456789012.dkr.ecr.eu-west-1.amazonaws.com/r:blender-3.6.0", present: false },
      ],
      "studio",
    );
    assert.deepEqual(checks.map((check) => `${check.id} ${check.status}`), ["image:4.2.0 BLOCKED", "image:3.6.0 BLOCKED"]);
    assert.match(checks[0]!.summary, /job definition arn:jd\/1 is INACTIVE/);
    assert.equal(imageChecks([], "studio")[0]!.status, "BLOCKED");
  });
});

describe("SES", () => {
  it("GetAccount: the sandbox, a paused account and a spent daily quota are warnings with their fix; production with quota left is OK", () => {
    const sandbox = sesAccountCheck({ ProductionAccessEnabled: false, SendingEnabled: true, SendQuota: { Max24HourSend: 200, MaxSendRate: 1, SentLast24Hours: 3 } }, "eu-west-1");
    assert.equal(sandbox.status, "WARN");
    assert.equal(sandbox.summary, "SES in eu-west-1 is in the sandbox: render e-mails reach only verified addresses (3 of 200 e-mails sent in the last 24 h).");
    assert.match(sandbox.fix!, /Request production access \(SES console, Account dashboard\), or verify each recipient: aws sesv2 create-email-identity --email-identity ADDRESS --region eu-west-1/);
    assert.match(sesAccountCheck({ ProductionAccessEnabled: true, SendingEnabled: false, EnforcementStatus: "SHUTDOWN" }, "eu-west-1").summary, /sending is paused .*\(SHUTDOWN\)/);
    assert.equal(sesAccountCheck({ ProductionAccessEnabled: true, SendingEnabled: true, SendQuota: { Max24HourSend: 50_000, SentLast24Hours: 50_000 } }, "eu-west-1").status, "WARN");
    const production = sesAccountCheck({ ProductionAccessEnabled: true, SendingEnabled: true, SendQuota: { Max24HourSend: 50_000, SentLast24Hours: 12 } }, "eu-west-1");
    assert.deepEqual(production, { id: "ses-account", status: "OK", summary: "SES in eu-west-1: production access, 12 of 50000 e-mails sent in the last 24 h." });
  });

  it("a sender pending verification is a warning, a verified domain is enough, a farm without e-mail has one OK", async () => {
    sesMock.on(GetAccountCommand).resolves({ ProductionAccessEnabled: true, SendingEnabled: true });
    sesMock.on(GetEmailIdentityCommand, { EmailIdentity: "renders@studio.example" }).resolves({ IdentityType: "EMAIL_ADDRESS", VerifiedForSendingStatus: false, VerificationStatus: "PENDING" });
    sesMock.on(GetEmailIdentityCommand, { EmailIdentity: "studio.example" }).rejects(Object.assign(new Error("not found"), { name: "NotFoundException" }));
    const pending = await sesChecks(ses, "renders@studio.example", "studio", "eu-west-1");
    assert.deepEqual(pending.map((check) => `${check.id} ${check.status}`), ["ses-account OK", "ses-sender WARN"]);
    assert.match(pending[1]!.summary, /renders@studio\.example is not verified yet/);
    assert.match(pending[1]!.fix!, /Open the link in the e-mail AWS sent to renders@studio\.example/);

    sesMock.on(GetEmailIdentityCommand, { EmailIdentity: "studio.example" }).resolves({ IdentityType: "DOMAIN", VerifiedForSendingStatus: true });
    assert.equal((await sesChecks(ses, "renders@studio.example", "studio", "eu-west-1"))[1]!.status, "OK");
    assert.deepEqual((await sesChecks(ses, undefined, "studio", "eu-west-1")).map((check) => `${check.id} ${check.status}`), ["ses OK"]);
  });

  it("denied SES reads are warnings naming ses:GetAccount and ses:GetEmailIdentity", async () => {
    sesMock.on(GetAccountCommand).rejects(denied("ses:GetAccount"));
    sesMock.on(GetEmailIdentityCommand).rejects(denied("ses:GetEmailIdentity"));
    const checks = await sesChecks(ses, "renders@studio.example", "studio", "eu-west-1");
    assert.deepEqual(checks.map((check) => `${check.id} ${check.status}`), ["ses-account WARN", "ses-sender WARN"]);
    assert.match(checks[0]!.summary, /Could not read the SES account of eu-west-1 \(access denied: User: .* is not authorized to perform: ses:GetAccount\)/);
    assert.match(checks[0]!.fix!, /^Allow ses:GetAccount /);
    assert.match(checks[1]!.fix!, /^Allow ses:GetEmailIdentity /);
  });
});

describe("service-linked roles", () => {
  it("asks for the spot role only when the farm has spot queues; a denied GetRole is a warning naming iam:GetRole", async () => {
    iamMock.on(GetRoleCommand).resolves({ Role: { RoleName: "r", Path: "/", Arn: "arn", RoleId: "id", CreateDate: new Date() } });
    assert.deepEqual((await serviceRoleChecks(iam, { spot: false }, "studio")).map((check) => check.id), ["service-role:batch", "service-role:ecs"]);
    iamMock.on(GetRoleCommand, { RoleName: "AWSServiceRoleForECS" }).rejects(denied("iam:GetRole"));
    const checks = await serviceRoleChecks(iam, { spot: true }, "studio");
    assert.deepEqual(checks.map((check) => `${check.id} ${check.status}`), ["service-role:batch OK", "service-role:ecs WARN", "service-role:spot OK"]);
    assert.match(checks[1]!.fix!, /^Allow iam:GetRole /);
  });
});

describe("instance types", () => {
  it("a family the region does not sell blocks, naming it", async () => {
    ec2Mock.on(DescribeInstanceTypeOfferingsCommand).callsFake((input: { Filters: { Values: string[] }[] }) => {
      const value = input.Filters[0]!.Values[0]!;
      return { InstanceTypeOfferings: value === "g6.*" ? [] : [{ InstanceType: value.replace("*", "xlarge"), LocationType: "region" }] };
    });
    const [check] = await instanceOfferingsCheck(FARM, ec2, "studio", "eu-west-1");
    assert.equal(check!.status, "BLOCKED");
    assert.match(check!.summary, /^EC2 in eu-west-1 does not offer g6: the compute environments naming them cannot start hosts\.$/);
  });
});

describe("the stack and the queues", () => {
  it("stack states: usable OK, still working WARN, rolled-back update WARN, failed BLOCKED with the command", () => {
    const verdict = (status: string) => stackCheck("studio", { StackName: "brender-farm-studio", StackStatus: status as "CREATE_COMPLETE", CreationTime: new Date(), StackStatusReason: "because" });
    assert.equal(verdict("UPDATE_COMPLETE").status, "OK");
    assert.equal(verdict("UPDATE_IN_PROGRESS").status, "WARN");
    assert.equal(verdict("UPDATE_ROLLBACK_COMPLETE").status, "WARN");
    assert.deepEqual(verdict("ROLLBACK_COMPLETE"), {
      id: "stack",
      status: "BLOCKED",
      summary: "Stack brender-farm-studio is ROLLBACK_COMPLETE (because): no render can be submitted to it.",
      fix: "Run 'brender farm deploy studio' (a failed first deploy is cleared and made again).",
    });
    assert.match(verdict("DELETE_FAILED").fix!, /brender farm destroy studio --yes/);
  });

  it("an INVALID or DISABLED compute environment blocks its queue, with the reason or the command; a queue Batch lacks blocks", () => {
    const capacity: FarmCapacity = {
      queues: [
        queue("spot-cpu", [environment("spot-cpu-env", { status: "INVALID", statusReason: "CLIENT_ERROR - AWSServiceRoleForEC2Spot does not exist" })]),
        queue("on-demand-cpu", [environment("on-demand-cpu-env", { state: "DISABLED" })]),
        queue("io", [environment("io-env", { status: "UPDATING" })]),
      ],
      missing: [{ role: "spot-gpu", output: "brender-studio-spot-gpu" }],
    };
    const checks = queueChecks(capacity, "studio", "eu-west-1");
    assert.deepEqual(checks.map((check) => `${check.id} ${check.status}`), ["queue:spot-cpu BLOCKED", "queue:on-demand-cpu BLOCKED", "queue:io WARN", "queue:spot-gpu BLOCKED"]);
    assert.match(checks[0]!.summary, /compute environment spot-cpu-env is INVALID \(CLIENT_ERROR - AWSServiceRoleForEC2Spot does not exist\)/);
    assert.equal(checks[1]!.fix, "aws batch update-compute-environment --compute-environment on-demand-cpu-env --state ENABLED --region eu-west-1");
  });
});

describe("the base image", () => {
  it("reads BASE_IMAGE's default from the worker's Dockerfile, and splits references as Docker does", async () => {
    const image = baseImageOf(await readFile(new URL("../../../../docker/Dockerfile", import.meta.url), "utf8"));
    assert.equal(image?.registry, "nvcr.io");
    assert.equal(image?.repository, "nvidia/cuda");
    assert.equal(image?.tag, "12.4.1-runtime-ubuntu22.04");
    assert.match(image?.digest ?? "", /^sha256:[0-9a-f]{64}$/);
    assert.equal(registryUrl(image!, undefined), "https://nvcr.io");
    assert.equal(registryUrl(image!, "http://127.0.0.1:5000/"), "http://127.0.0.1:5000");
    const hub = parseImageReference("ubuntu:22.04");
    assert.deepEqual([hub.registry, hub.repository, hub.tag, hub.digest], ["docker.io", "library/ubuntu", "22.04", undefined]);
    assert.equal(registryUrl(hub, undefined), "https://registry-1.docker.io");
    assert.deepEqual(parseImageReference("localhost:5000/a/b@sha256:ab"), { text: "localhost:5000/a/b@sha256:ab", registry: "localhost:5000", repository: "a/b", digest: "sha256:ab" });
    assert.equal(baseImageOf("FROM scratch\n")?.repository, "library/scratch");
    assert.equal(baseImageOf("# nothing\n"), undefined);
  });

  it("a registry error blocks only while an image is still to be built", () => {
    const image = parseImageReference("nvcr.io/nvidia/cuda:12.4.1@sha256:0123456789abcdef0123");
    assert.equal(baseImageCheck(image, "https://nvcr.io", { status: 200 }, true, "studio").status, "OK");
    assert.equal(baseImageCheck(image, "https://nvcr.io", { status: 503 }, true, "studio").status, "BLOCKED");
    assert.equal(baseImageCheck(image, "https://nvcr.io", { status: 503 }, false, "studio").status, "WARN");
  });
});

describe("the report", () => {
  it("blocks when any check is BLOCKED; a check that throws becomes its warning", async () => {
    const thrown = await guarded("x", "the thing", ["svc:Read"], "studio", async () => {
      throw Object.assign(new Error("fetch failed"), { cause: { code: "ECONNREFUSED", address: "127.0.0.1", port: 9 } });
    });
    assert.deepEqual(thrown, [
      { id: "x", status: "WARN", summary: "Could not read the thing (ECONNREFUSED at 127.0.0.1:9: fetch failed).", fix: "Allow svc:Read to these credentials (or pass another --profile), then run 'brender farm doctor studio' again." },
    ]);
    assert.equal(doctorReport("studio", "eu-west-1", thrown).blocking, false);
    assert.equal(doctorReport("studio", "eu-west-1", [...thrown, { id: "y", status: "BLOCKED", summary: "s", fix: "f" }]).blocking, true);
    assert.match(failureReason(denied("iam:GetRole")), /^access denied: /);
  });
});

describe("farmDoctor", () => {
  it("credentials that may read the stack and nothing else: every other check a warning naming its permission, no crash, nothing blocked", async () => {
    const clients = { ...createFarmClients(config), ses, ec2, iam, serviceQuotas: quotas };
    const cfn = mockClient(clients.cloudFormation);
    const [batch, ecr, codeBuild] = [mockClient(clients.batch), mockClient(clients.ecr), mockClient(clients.codeBuild)];
    try {
      cfn.on(DescribeStacksCommand).resolves({
        Stacks: [{
          StackName: "brender-farm-studio",
          StackStatus: "CREATE_COMPLETE",
          CreationTime: new Date(),
          Outputs: [
            { OutputKey: "IoQueue", OutputValue: "brender-studio-io" },
            { OutputKey: "SpotGpuQueue", OutputValue: "brender-studio-spot-gpu" },
            { OutputKey: "JobDefinitions", OutputValue: JSON.stringify({ "4.2.0": "arn:aws:batch:eu-west-1:123456789012:job-definition/jd:1" }) },
            { OutputKey: "SenderEmail", OutputValue: "renders@studio.example" },
            { OutputKey: "ImageBuildProject", OutputValue: "brender-studio-images" },
          ],
        }],
      });
      batch.onAnyCommand().rejects(denied("batch:Describe*"));
      ecr.onAnyCommand().rejects(denied("ecr:DescribeImages"));
      codeBuild.onAnyCommand().rejects(denied("codebuild:ListBuildsForProject"));
      quotaMock.onAnyCommand().rejects(denied("servicequotas:GetServiceQuota"));
      sesMock.onAnyCommand().rejects(denied("ses:GetAccount"));
      iamMock.onAnyCommand().rejects(denied("iam:GetRole"));
      const report = await farmDoctor("studio", clients, { dockerfile: undefined });
      assert.equal(report.blocking, false);
      assert.deepEqual(
        report.checks.map((check) => `${check.id} ${check.status}`),
        [
          "stack OK", "queues WARN", "quota:on-demand-cpu WARN", "quota:spot-gpu WARN", "instance-types OK", "images WARN", "codebuild-quota WARN",
          "image-builds WARN", "ses-account WARN", "ses-sender WARN", "service-role:batch WARN", "service-role:ecs WARN", "service-role:spot WARN", "base-image WARN",
        ],
      );
      const fixes = new Map(report.checks.map((check) => [check.id, check.fix ?? ""]));
      assert.match(fixes.get("queues")!, /^Allow batch:DescribeJobQueues, batch:DescribeComputeEnvironments /);
      assert.match(fixes.get("images")!, /^Allow batch:DescribeJobDefinitions, ecr:DescribeImages /);
      assert.match(fixes.get("image-builds")!, /^Allow codebuild:ListBuildsForProject, codebuild:BatchGetBuilds /);
      assert.match(fixes.get("service-role:spot")!, /^Allow iam:GetRole /);
    } finally {
      for (const mock of [cfn, batch, ecr, codeBuild]) mock.restore();
    }
  });
});
