/** deployFarm against the fake cloud (fake-cloud.ts): call order, what is printed, failures. */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { createHash, createSign, createVerify } from "node:crypto";
import fc from "fast-check";
import { CreateStackCommand } from "@aws-sdk/client-cloudformation";
import { CreateBucketCommand } from "@aws-sdk/client-s3";
import { StartBuildCommand } from "@aws-sdk/client-codebuild";
import { JobFailedError, UserInputError } from "../../../../src/errors.ts";
import { deployFarm } from "../../../../src/backends/aws/farm/deploy.ts";
import { chooseBlenderVersion } from "../../../../src/backends/aws/batch-submission.ts";
import {
  FARM_SETTINGS_KEY,
  MAX_TEMPLATE_BODY_BYTES,
  SES_IDENTITY_TAG,
  SOURCE_DIGEST_METADATA,
  type FarmTemplateProps,
} from "../../../../src/backends/aws/farm/settings.ts";
import { estimateFixedMonthlyCost, HOURS_PER_MONTH, NAT_GATEWAY_USD_PER_HOUR } from "../../../../src/backends/aws/farm-cost.ts";
import { BUILD_LIMIT_RETRIES } from "../../../../src/backends/aws/farm/image-build.ts";
import { REGION, fakeCloud, milestones, reports, withCloud } from "./fake-cloud.ts";

describe("deployFarm", () => {
  it("first deploy: CreateStack, waits for it, uploads the source, builds one image per version, waits, then summarizes", withCloud(async (cloud) => {
    const result = await cloud.deploy({ blenderVersions: ["3.6.0", "4.2.0"], email: "renders@example.com" });

    assert.deepEqual(
      milestones(cloud.log, /^(CreateStack|UpdateStack|DescribeStacks|PutObject|StartBuild|BatchGetBuilds|CreateEmailIdentity|report: ==> Farm)/),
      [
        "DescribeStacks", // does the farm exist?
        "CreateStack",
        "DescribeStacks", // polled until CREATE_COMPLETE
        "PutObject:build/source.zip",
        "StartBuild:3.6.0",
        "BatchGetBuilds", // polled until it completes: one build at a time (new accounts allow 0-1 at once)
        "StartBuild:4.2.0",
        "BatchGetBuilds",
        "CreateEmailIdentity",
        `PutObject:${FARM_SETTINGS_KEY}`,
        'report: ==> Farm "demo" created in eu-west-1',
      ],
    );
    assert.equal(result.stack, "created");
    assert.equal(result.sourceUploaded, true);
    assert.deepEqual(result.builds.map((build) => [build.blenderVersion, build.status]), [["3.6.0", "SUCCEEDED"], ["4.2.0", "SUCCEEDED"]]);
    assert.equal(result.email, "verification-sent");
    assert.deepEqual(cloud.identities.get("renders@example.com")?.tags, [{ Key: SES_IDENTITY_TAG, Value: "demo" }]);
    assert.equal(cloud.stacks.get("brender-farm-demo")?.StackStatus, "CREATE_COMPLETE");
    assert.deepEqual([...cloud.images.values()].flat().sort(), ["blender-3.6.0", "blender-4.2.0"]);

    const create = cloud.mocks.cfn.commandCalls(CreateStackCommand)[0]!.args[0].input;
    assert.ok(create.TemplateBody, "a small template goes inline");
    assert.deepEqual(create.Capabilities, ["CAPABILITY_IAM", "CAPABILITY_NAMED_IAM"]);
    assert.equal(create.OnFailure, "ROLLBACK");
    const { linkPublicKey, ...shape } = cloud.synthesized[0]!;
    assert.deepEqual(shape, { farmName: "demo", region: REGION, private: false, blenderVersions: ["3.6.0", "4.2.0"], notificationEmail: "renders@example.com", createEmailIdentity: false });
    assert.match(linkPublicKey ?? "", /^-----BEGIN PUBLIC KEY-----/);
    const start = cloud.mocks.codeBuild.commandCalls(StartBuildCommand).map((call) => call.args[0].input);
    assert.deepEqual(start.map((input) => input.projectName), ["brender-demo-image", "brender-demo-image"]);

    const printed = reports(cloud.log).join("\n");
    // Every stack event once, oldest first, with resource, status and reason.
    assert.match(printed, /Bucket \(AWS::S3::Bucket\)  CREATE_IN_PROGRESS\n.*Queue \(AWS::Batch::JobQueue\)  CREATE_IN_PROGRESS\n.*Bucket \(AWS::S3::Bucket\)  CREATE_COMPLETE/);
    assert.equal(printed.match(/Bucket \(AWS::S3::Bucket\)  CREATE_COMPLETE/g)?.length, 1);
    assert.match(printed, /brender-farm-demo \(AWS::CloudFormation::Stack\)  CREATE_IN_PROGRESS: User Initiated/);
    // Build phases as they end.
    assert.match(printed, /blender-4\.2\.0: PROVISIONING SUCCEEDED \(20 s\)/);
    assert.match(printed, /blender-4\.2\.0: BUILD SUCCEEDED \(300 s\)/);
    assert.equal(printed.match(/blender-3\.6\.0: SUBMITTED SUCCEEDED/g)?.length, 1, "a phase is printed once");
    assert.match(printed, /check your inbox/);
    // Summary: outputs and the fixed cost (public farm: no NAT).
    assert.match(printed, /BucketName +brender-farm-demo-bucket/);
    assert.match(printed, /Estimated fixed cost: \$\d+\.\d\d\/month/);
    assert.match(printed, /EFS storage/);
    assert.doesNotMatch(printed, /NAT gateway/);
  }));

  it("makes the links' key pair once: the public half goes to the stack, the private half only to its secret; later deploys keep it", withCloud(async (cloud) => {
    await cloud.deploy({ blenderVersions: ["4.2.0"] });
    const publicPem = cloud.synthesized[0]!.linkPublicKey!;
    const privatePem = cloud.secrets.get(cloud.linkSecretArn)!;
    assert.ok(cloud.log.indexOf(`PutSecretValue:${cloud.linkSecretArn}`) > cloud.log.indexOf("CreateStack"), "written once the stack (and its secret) exists");
    // The two halves belong together: what the secret signs, the stack's public key verifies.
    const signature = createSign("RSA-SHA1").update("policy").sign(privatePem);
    assert.ok(createVerify("RSA-SHA1").update("policy").verify(publicPem, signature));
    const settings = JSON.stringify([...cloud.buckets.get(cloud.bucketName)!.values()].map((versions) => versions.at(-1)!.body));
    assert.doesNotMatch(settings, /PRIVATE KEY/, "the private key is not in the stored settings");

    cloud.log.length = 0;
    await cloud.deploy({ blenderVersions: ["4.2.0"] });
    assert.equal(cloud.synthesized[1]!.linkPublicKey, publicPem, "the same key: links already e-mailed keep working");
    assert.ok(!cloud.log.some((entry) => entry.startsWith("PutSecretValue")));
  }));

  it("an update with no changes is not an error: nothing is rebuilt or uploaded again", withCloud(async (cloud) => {
    await cloud.deploy({ blenderVersions: ["4.2.0"] });
    cloud.log.length = 0;
    const result = await cloud.deploy({ blenderVersions: ["4.2.0"] });

    assert.equal(result.stack, "unchanged");
    assert.deepEqual(result.builds, []);
    assert.deepEqual(result.imagesPresent, ["4.2.0"]);
    assert.equal(result.sourceUploaded, false);
    assert.ok(cloud.log.includes("UpdateStack"));
    assert.ok(!cloud.log.some((entry) => entry.startsWith("StartBuild") || entry === "PutObject:build/source.zip"));
    assert.match(reports(cloud.log).join("\n"), /no changes: the stack is up to date/);
    assert.match(reports(cloud.log).join("\n"), /Farm "demo" is up to date/);
  }));

  it("a failed create says why (the first CREATE_FAILED reason), that it rolled back, and exits 1", withCloud(async (cloud) => {
    cloud.state.createFailure = "brender-farm-demo-bucket already exists";
    const failure = await cloud.deploy().then(
      () => assert.fail("the deploy should fail"),
      (error: unknown) => error,
    );
    assert.ok(failure instanceof JobFailedError);
    assert.equal(failure.exitCode, 1);
    assert.match(failure.message, /Creating farm "demo" failed \(Bucket: brender-farm-demo-bucket already exists\)/);
    assert.doesNotMatch(failure.message, /cancelled/);
    assert.match(failure.message, /rolled it back: nothing is left running/);
    assert.doesNotMatch(failure.message, /\n/);
    assert.equal(cloud.stacks.get("brender-farm-demo")?.StackStatus, "ROLLBACK_COMPLETE");
    assert.ok(!cloud.log.some((entry) => /^(PutObject|StartBuild|CreateEmailIdentity)/.test(entry)), "nothing after the stack");
    assert.match(reports(cloud.log).join("\n"), /Bucket \(AWS::S3::Bucket\)  CREATE_FAILED: brender-farm-demo-bucket already exists/);

    // Deploying again removes the rolled-back stack (it cannot be updated) and creates it afresh.
    cloud.state.createFailure = undefined;
    cloud.log.length = 0;
    const result = await cloud.deploy();
    assert.equal(result.stack, "created");
    assert.deepEqual(milestones(cloud.log, /^(CreateStack|DeleteStack)$/), ["DeleteStack", "CreateStack"]);
  }));

  it("deploys Blender 4.5 LTS and 5.x: one image per version, tagged by it, and renders pick them by the file's version", withCloud(async (cloud) => {
    const result = await cloud.deploy({ blenderVersions: ["4.2.0", "4.5.3", "5.2.2"] });
    assert.deepEqual(result.builds.map((build) => [build.blenderVersion, build.status]), [["4.2.0", "SUCCEEDED"], ["4.5.3", "SUCCEEDED"], ["5.2.2", "SUCCEEDED"]]);
    assert.deepEqual([...cloud.images.values()].flat().sort(), ["blender-4.2.0", "blender-4.5.3", "blender-5.2.2"]);
    const builds = cloud.mocks.codeBuild.commandCalls(StartBuildCommand).map((call) => call.args[0].input.environmentVariablesOverride?.find((variable) => variable.name === "BLENDER_VERSION")?.value);
    assert.deepEqual(builds, ["4.2.0", "4.5.3", "5.2.2"]);
    const deployed = ["4.2.0", "4.5.3", "5.2.2"];
    assert.deepEqual(chooseBlenderVersion("5.2", deployed), { version: "5.2.2" });
    assert.deepEqual(chooseBlenderVersion("4.5", deployed), { version: "4.5.3" });
    assert.equal(chooseBlenderVersion("4.4", deployed).version, "4.5.3");
    assert.equal(chooseBlenderVersion("5.0", deployed).version, "5.2.2");
  }));

  it("a second deploy that adds a Blender version builds only that one", withCloud(async (cloud) => {
    await cloud.deploy({ blenderVersions: ["3.6.0"], private: true, maxVcpus: 64 });
    cloud.log.length = 0;
    const result = await cloud.deploy({ blenderVersions: ["3.6.0", "4.2.0"] });

    assert.equal(result.stack, "updated");
    assert.deepEqual(cloud.log.filter((entry) => entry.startsWith("StartBuild")), ["StartBuild:4.2.0"]);
    assert.deepEqual(result.imagesPresent, ["3.6.0"]);
    assert.match(reports(cloud.log).join("\n"), /blender-3\.6\.0: already in brender-demo/);
    // What was not asked for stays as it was: still private, still 64 vCPUs.
    assert.deepEqual(cloud.synthesized.at(-1), { farmName: "demo", region: REGION, private: true, maxVcpus: 64, blenderVersions: ["3.6.0", "4.2.0"], linkPublicKey: cloud.synthesized[0]!.linkPublicKey });
    assert.match(reports(cloud.log).join("\n"), /NAT gateway: \$32\.85/);
  }));

  it("--max-cost is the farm's default cap: synthesized into the stack, kept by a later deploy, removed with none", withCloud(async (cloud) => {
    const first = await cloud.deploy({ blenderVersions: ["4.2.0"], maxCost: 20 });
    assert.equal(first.settings.maxCostUsd, 20);
    assert.equal(cloud.synthesized.at(-1)?.maxCostUsd, 20);
    assert.match(reports(cloud.log).join("\n"), /default cost cap \$20 per render/);
    await cloud.deploy({ blenderVersions: ["4.2.0"] });
    assert.equal(cloud.synthesized.at(-1)?.maxCostUsd, 20, "kept from the stored settings");
    const lifted = await cloud.deploy({ blenderVersions: ["4.2.0"], maxCost: "none" });
    assert.equal(lifted.settings.maxCostUsd, undefined);
    assert.equal(cloud.synthesized.at(-1)?.maxCostUsd, undefined);
  }));

  it("uploads the image source only when its digest changed", withCloud(async (cloud) => {
    await cloud.deploy();
    const uploads = () => cloud.log.filter((entry) => entry === "PutObject:build/source.zip").length;
    assert.equal(uploads(), 1);
    const stored = cloud.buckets.get(cloud.bucketName)!.get("build/source.zip")!.at(-1)!;
    assert.equal(stored.metadata[SOURCE_DIGEST_METADATA], createHash("sha256").update("worker source v1").digest("hex"));

    assert.equal((await cloud.deploy()).sourceUploaded, false);
    assert.equal(uploads(), 1, "unchanged source: not uploaded again");
    assert.match(reports(cloud.log).join("\n"), /unchanged \(digest [0-9a-f]{12}\): not uploaded/);

    cloud.source.text = "worker source v2";
    cloud.log.length = 0;
    assert.equal((await cloud.deploy()).sourceUploaded, true);
    assert.equal(uploads(), 1, "the new source is uploaded once");
    // A new worker (a Brender upgrade) makes every image stale: all are rebuilt, not only missing ones.
    assert.deepEqual(cloud.log.filter((entry) => entry.startsWith("StartBuild")).sort(), ["StartBuild:4.2.0"]);
    assert.match(reports(cloud.log).join("\n"), /the worker's source changed: every image is rebuilt/);
  }));

  it("a template over 51,200 bytes goes through a deploy bucket it creates (account from STS)", withCloud(async (cloud) => {
    const big = (props: FarmTemplateProps) => ({
      stackName: "brender-farm-demo",
      templateJson: JSON.stringify({ ...props, padding: "x".repeat(MAX_TEMPLATE_BODY_BYTES) }),
    });
    await deployFarm({ name: "demo" }, cloud.deps({ synthesize: big }));
    const create = cloud.mocks.cfn.commandCalls(CreateStackCommand)[0]!.args[0].input;
    assert.equal(create.TemplateBody, undefined);
    assert.match(create.TemplateURL ?? "", /^https:\/\/brender-deploy-123456789012-eu-west-1\.s3\.eu-west-1\.amazonaws\.com\/templates\/brender-farm-demo\/[0-9a-f]{64}\.json$/);
    assert.deepEqual(milestones(cloud.log, /^(GetCallerIdentity|CreateBucket|CreateStack)/), [
      "GetCallerIdentity",
      "CreateBucket:brender-deploy-123456789012-eu-west-1",
      "CreateStack",
    ]);
    const create1 = cloud.mocks.s3.commandCalls(CreateBucketCommand)[0]!.args[0].input;
    assert.deepEqual(create1.CreateBucketConfiguration, { LocationConstraint: REGION });
  }));

  it("a failed image build names the phase, its message and the logs, exits 1, and the summary is still shown", withCloud(async (cloud) => {
    cloud.state.buildFailure = "4.2.0";
    const failure = await cloud.deploy({ blenderVersions: ["3.6.0", "4.2.0"] }).then(
      () => assert.fail("the deploy should fail"),
      (error: unknown) => error,
    );
    assert.ok(failure instanceof JobFailedError);
    assert.match(failure.message, /image build for Blender 4\.2\.0 failed \(BUILD FAILED: COMMAND_EXECUTION_ERROR: Error while executing command: docker build/);
    assert.match(failure.message, /logs: https:\/\/console\.aws\.amazon\.com\/codebuild\//);
    assert.match(failure.message, /builds only the missing images/);
    assert.match(reports(cloud.log).join("\n"), /==> Farm "demo" created/);
    assert.deepEqual([...cloud.images.values()].flat(), ["blender-3.6.0"]);
  }));

  it("a rerun follows the build an interrupted deploy left running instead of starting a duplicate", withCloud(async (cloud) => {
    await cloud.deploy({ blenderVersions: ["3.6.0"] });
    // The user asked for 4.2.0, then pressed Ctrl-C while its build ran.
    const running = cloud.startBuild("4.2.0");
    cloud.log.length = 0;
    const result = await cloud.deploy({ blenderVersions: ["3.6.0", "4.2.0"] });
    assert.deepEqual(cloud.log.filter((entry) => entry.startsWith("StartBuild")), [], "no second build of 4.2.0");
    assert.deepEqual(result.builds.map((build) => [build.blenderVersion, build.buildId, build.status]), [["4.2.0", running, "SUCCEEDED"]]);
    assert.match(reports(cloud.log).join("\n"), new RegExp(`blender-4\\.2\\.0: build ${running} is already running \\(started by an earlier deploy\\): following it`));
  }));

  it("waits while the account's build limit refuses StartBuild, then builds; gives up with the quota to raise when it never frees", withCloud(async (cloud) => {
    cloud.state.slotsHeldElsewhere = 2;
    const result = await cloud.deploy({ blenderVersions: ["3.6.0", "4.2.0"] });
    assert.deepEqual(result.builds.map((build) => build.status), ["SUCCEEDED", "SUCCEEDED"]);
    assert.deepEqual(cloud.log.filter((entry) => entry.startsWith("StartBuild")), ["StartBuild:3.6.0:refused", "StartBuild:3.6.0:refused", "StartBuild:3.6.0", "StartBuild:4.2.0"]);
    assert.match(reports(cloud.log).join("\n"), /blender-3\.6\.0: CodeBuild runs no more builds at once in this account; waiting for a free slot/);

    const fresh = fakeCloud();
    try {
      fresh.state.concurrentBuilds = 0; // a new account whose quota is 0
      const failure = await fresh.deploy({ blenderVersions: ["4.2.0"] }).then(() => assert.fail("the deploy should fail"), (error: unknown) => error);
      assert.ok(failure instanceof JobFailedError);
      assert.match(failure.message, /AccountLimitExceededException.*Service Quotas \(AWS CodeBuild, "Concurrently running builds"\).*brender farm deploy demo' again/);
      assert.equal(fresh.log.filter((entry) => entry === "StartBuild:4.2.0:refused").length, BUILD_LIMIT_RETRIES);
    } finally {
      fresh.restore();
    }
  }));

  it("refuses, before creating anything, instance families EC2 does not offer in the region (the stack would roll back)", withCloud(async (cloud) => {
    cloud.state.unoffered = ["g6"];
    await assert.rejects(cloud.deploy({ blenderVersions: ["4.2.0"] }), (error: unknown) => {
      assert.ok(error instanceof UserInputError);
      assert.match(error.message, /EC2 in eu-west-1 does not offer g6: the farm's compute environments would fail and the stack roll back/);
      return true;
    });
    assert.ok(cloud.log.includes("DescribeInstanceTypeOfferings:g6.*"), "families are asked with the size wildcard");
    assert.ok(cloud.log.includes("DescribeInstanceTypeOfferings:c6i.large"), "exact types as they are");
    assert.ok(!cloud.log.some((entry) => /^(CreateStack|UpdateStack|PutObject|StartBuild)/.test(entry)), "nothing created");
  }));

  it("rejects a bad farm name or Blender version before any AWS call", withCloud(async (cloud) => {
    await assert.rejects(cloud.deploy({ name: "no_underscores" }), (error: unknown) => error instanceof UserInputError && /"no_underscores" is invalid/.test(error.message));
    await assert.rejects(cloud.deploy({ blenderVersions: ["4.x"] }), (error: unknown) => error instanceof UserInputError && /"4\.x" is invalid/.test(error.message));
    // A series reaches deploy only resolved (the CLI does it): the image build needs one exact release.
    await assert.rejects(cloud.deploy({ blenderVersions: ["4.2"] }), (error: unknown) => error instanceof UserInputError && /"4\.2" is a series, not a release.*e\.g\. 4\.2\.0/.test(error.message));
    assert.deepEqual(cloud.log, []);
  }));

  it("refuses a farm whose stack is busy", withCloud(async (cloud) => {
    await cloud.deploy();
    cloud.stacks.get("brender-farm-demo")!.StackStatus = "UPDATE_IN_PROGRESS";
    await assert.rejects(cloud.deploy(), (error: unknown) => error instanceof UserInputError && /is busy \(stack status UPDATE_IN_PROGRESS\)/.test(error.message));
  }));
});

describe("pure parts", () => {
  it("the fixed cost: a private farm adds exactly its NAT gateway lines, and every image adds the same amount", () => {
    fc.assert(
      fc.property(fc.array(fc.constantFrom("3.6.0", "4.1.1", "4.2.0", "4.4.3"), { maxLength: 4 }), (versions) => {
        const open = estimateFixedMonthlyCost({ private: false, blenderVersions: versions });
        const closed = estimateFixedMonthlyCost({ private: true, blenderVersions: versions });
        const nat = closed.lines.filter((line) => line.item.startsWith("NAT gateway")).reduce((sum, line) => sum + line.usdPerMonth, 0);
        assert.ok(Math.abs(closed.usdPerMonth - open.usdPerMonth - nat) < 1e-9);
        assert.ok(nat >= NAT_GATEWAY_USD_PER_HOUR * HOURS_PER_MONTH);
        assert.equal(open.lines.some((line) => line.item.startsWith("NAT")), false);
        const more = estimateFixedMonthlyCost({ private: false, blenderVersions: [...versions, "5.0.0"] });
        const perImage = estimateFixedMonthlyCost({ private: false, blenderVersions: ["5.0.0"] }).usdPerMonth - estimateFixedMonthlyCost({ private: false, blenderVersions: [] }).usdPerMonth;
        assert.ok(Math.abs(more.usdPerMonth - open.usdPerMonth - perImage) < 1e-9);
        assert.equal(open.lines.find((line) => line.item === "AWS Batch")?.usdPerMonth, 0);
      }),
    );
  });
});
