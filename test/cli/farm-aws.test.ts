/**
 * `brender farm …` as users run it (bin/brender, built): synth offline,
 * option and configuration errors, and list/status/destroy through the real
 * SDK against moto_server. Deploy's orchestration (CodeBuild builds, stack
 * rollbacks) is tested against mocked clients in
 * test/backends/aws/farm/: moto runs no builds.
 */
import { describe, it, before, after } from "node:test";
import assert from "node:assert/strict";
import { readFile, readdir } from "node:fs/promises";
import { join } from "node:path";
import { CloudFormationClient, CreateStackCommand, DescribeStacksCommand } from "@aws-sdk/client-cloudformation";
import { ListBucketsCommand, PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { FARM_OUTPUTS } from "../../src/backends/aws/farm-resources.ts";
import { BUILD_OUTPUTS } from "../../src/backends/aws/farm/settings.ts";
import { explainAwsError, farmRequest, formatStatus } from "../../src/cli/commands/farm-aws-run.ts";
import { UserInputError } from "../../src/errors.ts";
import { brender, tempDir } from "../helpers/blender.ts";
import { startMotoServer, type MotoServer } from "../helpers/moto-server.ts";

/** An environment with no AWS configuration at all: no region, no credentials, no profile files. */
const bareEnv = {
  AWS_REGION: "",
  AWS_DEFAULT_REGION: "",
  AWS_PROFILE: "",
  AWS_ACCESS_KEY_ID: "",
  AWS_SECRET_ACCESS_KEY: "",
  AWS_SESSION_TOKEN: "",
  AWS_CONFIG_FILE: "/nonexistent/aws-config",
  AWS_SHARED_CREDENTIALS_FILE: "/nonexistent/aws-credentials",
  AWS_EC2_METADATA_DISABLED: "true",
};

let moto: MotoServer;
before(async () => {
  moto = await startMotoServer();
});
after(() => moto.stop());

const motoEnv = () => ({
  ...bareEnv,
  AWS_ENDPOINT_URL: moto.endpoint,
  AWS_ACCESS_KEY_ID: moto.credentials.accessKeyId,
  AWS_SECRET_ACCESS_KEY: moto.credentials.secretAccessKey,
  AWS_REGION: moto.region,
  BRENDER_AWS_POLL_MS: "50",
});

describe("brender farm synth", () => {
  it("writes DIR/brender-farm-NAME.template.json offline, with every output the CLI reads", async (t) => {
    const dir = await tempDir(t);
    await moto.startRecording();
    const result = await brender(
      ["farm", "synth", "studio", "--out", join(dir, "out"), "--blender", "3.6.0,4.2.0", "--email", "renders@example.com", "--private", "--max-cost", "20"],
      motoEnv(),
    );
    assert.equal(result.code, 0, result.stderr);
    assert.deepEqual(await readdir(join(dir, "out")), ["brender-farm-studio.template.json"]);
    const template = JSON.parse(await readFile(join(dir, "out", "brender-farm-studio.template.json"), "utf8")) as {
      Outputs: Record<string, unknown>;
      Resources: Record<string, { Type: string }>;
    };
    for (const key of [...Object.values(FARM_OUTPUTS), ...Object.values(BUILD_OUTPUTS)]) {
      assert.ok(key in template.Outputs, `output ${key}`);
    }
    assert.ok(Object.values(template.Resources).some((resource) => resource.Type === "AWS::EC2::NatGateway"), "--private reaches the stack");
    assert.deepEqual(template.Outputs[FARM_OUTPUTS.maxCost], { Description: "default cost cap per render, US dollars", Value: "20" }, "--max-cost reaches the stack");
    assert.match(result.stdout, /brender-farm-studio\.template\.json \(\d+ bytes; Blender 3\.6\.0, 4\.2\.0\)/);
    assert.deepEqual(await moto.recordedRequests(), [], "no AWS call");
  });

  it("bad options exit 2 with the fix, before anything is synthesized", async (t) => {
    const dir = await tempDir(t);
    const cases: Array<[string[], RegExp]> = [
      [["--spot-bid", "150"], /--spot-bid "150" is invalid: use a whole percentage/],
      [["--max-vcpus", "lots"], /--max-vcpus "lots" is not a whole number/],
      [["--blender", "4.x"], /Blender version "4\.x" is invalid/],
      [["--email", "not-an-address"], /"not-an-address" is not an e-mail address/],
      [["--max-cost", "lots"], /--max-cost "lots" is not an amount of US dollars/],
    ];
    for (const [options, message] of cases) {
      const result = await brender(["farm", "synth", "studio", "--out", dir, ...options], bareEnv);
      assert.equal(result.code, 2, options.join(" "));
      assert.match(result.stderr, message);
      assert.equal(result.stderr.trim().split("\n").length, 1, "one line");
    }
    assert.deepEqual(await readdir(dir), []);
  });
});

describe("brender farm deploy/list/status/destroy: configuration errors", () => {
  it("--blender 4.2 is resolved before synthesis, or refused with exit 2 when the release listing cannot be reached", async (t) => {
    const dir = await tempDir(t);
    const { closedPort } = await import("../helpers/s3-server.ts");
    const offline = { ...bareEnv, BRENDER_BLENDER_DOWNLOADS: `http://127.0.0.1:${await closedPort()}/release` };
    const result = await brender(["farm", "synth", "studio", "--out", dir, "--blender", "4.2"], offline);
    assert.equal(result.code, 2, result.stderr);
    assert.match(result.stderr, /Blender 4\.2 is a series, not a release, and its newest release could not be read from http:\/\/127\.0\.0\.1:\d+\/release\/Blender4\.2\/ .*give the full version, e\.g\. --blender 4\.2\.0\./);
    assert.deepEqual(await readdir(dir), [], "nothing synthesized");
  });

  it("no region: exit 2 naming --region; no credentials: exit 2 naming how to configure them", async () => {
    const noRegion = await brender(["farm", "deploy", "studio"], bareEnv);
    assert.equal(noRegion.code, 2);
    assert.match(noRegion.stderr, /No AWS region is set: pass --region/);
    const noCredentials = await brender(["farm", "list", "--region", "eu-west-1"], bareEnv);
    assert.equal(noCredentials.code, 2);
    assert.match(noCredentials.stderr, /No AWS credentials found: run 'aws configure'/);
  });

  it("destroy without --yes refuses with exit 2 and sends nothing to AWS", async () => {
    await moto.startRecording();
    const result = await brender(["farm", "destroy", "studio"], motoEnv());
    assert.equal(result.code, 2);
    assert.equal(result.stderr.trim(), "brender: Not deleting anything: add --yes to delete farm studio and all its renders.");
    assert.deepEqual(await moto.recordedRequests(), []);
  });
});

describe("brender farm list/status/destroy on moto_server", () => {
  it("lists the brender-farm-* stacks, shows one's status, and destroy empties its bucket before deleting it", async () => {
    const aws = { endpoint: moto.endpoint, region: moto.region, credentials: moto.credentials };
    const cfn = new CloudFormationClient(aws);
    const s3 = new S3Client({ ...aws, forcePathStyle: true });
    // A stand-in farm: a bucket and the outputs destroy and status read.
    const template = {
      Resources: { Bucket: { Type: "AWS::S3::Bucket", Properties: { BucketName: "brender-moto-farm" } } },
      Outputs: {
        [FARM_OUTPUTS.bucket]: { Value: { Ref: "Bucket" } },
        [FARM_OUTPUTS.jobDefinitions]: { Value: '{"4.2.0":"arn:aws:batch:us-east-1:123456789012:job-definition/x:1"}' },
      },
    };
    await cfn.send(new CreateStackCommand({ StackName: "brender-farm-moto", TemplateBody: JSON.stringify(template) }));
    await cfn.send(new CreateStackCommand({ StackName: "not-a-farm", TemplateBody: JSON.stringify({ Resources: { Handle: { Type: "AWS::CloudFormation::WaitConditionHandle" } } }) }));
    for (let index = 0; index < 5; index += 1) {
      await s3.send(new PutObjectCommand({ Bucket: "brender-moto-farm", Key: `p/${index}/output/frame.png`, Body: "png" }));
    }

    const listed = await brender(["farm", "list", "--json"], motoEnv());
    assert.equal(listed.code, 0, listed.stderr);
    const farms = JSON.parse(listed.stdout) as Array<{ name: string; status: string; region: string }>;
    assert.deepEqual(farms.map(({ name, status, region }) => ({ name, status, region })), [{ name: "moto", status: "CREATE_COMPLETE", region: moto.region }]);

    const status = await brender(["farm", "status", "moto", "--json"], motoEnv());
    assert.equal(status.code, 0, status.stderr);
    const shown = JSON.parse(status.stdout) as { status: string; outputs: Record<string, string> };
    assert.equal(shown.status, "CREATE_COMPLETE");
    assert.equal(shown.outputs[FARM_OUTPUTS.bucket], "brender-moto-farm");

    const destroyed = await brender(["farm", "destroy", "moto", "--yes"], motoEnv());
    assert.equal(destroyed.code, 0, destroyed.stderr);
    assert.match(destroyed.stdout, /Emptying s3:\/\/brender-moto-farm/);
    assert.match(destroyed.stdout, /Farm "moto" destroyed in .*: removed stack brender-farm-moto, 5 object versions, 0 images/);
    const buckets = await s3.send(new ListBucketsCommand({}));
    assert.equal(buckets.Buckets?.some((bucket) => bucket.Name === "brender-moto-farm"), false);
    await assert.rejects(cfn.send(new DescribeStacksCommand({ StackName: "brender-farm-moto" })), /does not exist/);

    const missing = await brender(["farm", "status", "moto"], motoEnv());
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /No Brender farm "moto" in .*: deploy it with 'brender farm deploy moto'/);
  });
});

describe("farm-aws-run pure parts", () => {
  it("farmRequest parses and checks options; absent ones stay absent (the farm keeps its settings)", async () => {
    assert.deepEqual(await farmRequest("studio", {}), { name: "studio" });
    assert.deepEqual(await farmRequest("studio", { private: true, maxVcpus: "64", spotBid: "70", blender: "3.6.0, 4.2.0,3.6.0", email: " a@b.co " }), {
      name: "studio",
      private: true,
      maxVcpus: 64,
      spotBidPercentage: 70,
      blenderVersions: ["3.6.0", "4.2.0"],
      email: "a@b.co",
    });
    assert.deepEqual(await farmRequest("studio", { private: false }), { name: "studio", private: false }, "--no-private turns a private farm public");
    await assert.rejects(farmRequest("studio", { maxVcpus: "0" }), UserInputError);
    await assert.rejects(farmRequest("bad name", {}), /Farm name "bad name" is invalid/);
  });

  it("farmRequest resolves a series (--blender 4.2) to its newest release, and refuses it with the fix when the listing cannot be read", async () => {
    const listing = async (url: string) => {
      assert.equal(url, "https://download.blender.org/release/Blender4.2/");
      return '<a href="blender-4.2.1-linux-x64.tar.xz">x</a> <a href="blender-4.2.12-linux-x64.tar.xz">x</a> <a href="blender-4.2.3-windows-x64.zip">x</a>';
    };
    assert.deepEqual(await farmRequest("studio", { blender: "3.6.0,4.2" }, listing), { name: "studio", blenderVersions: ["3.6.0", "4.2.12"] });
    const offline = async () => {
      throw new Error("getaddrinfo ENOTFOUND download.blender.org");
    };
    await assert.rejects(farmRequest("studio", { blender: "4.2" }, offline), (error: unknown) => {
      assert.ok(error instanceof UserInputError);
      assert.match(error.message, /Blender 4\.2 is a series, not a release.*ENOTFOUND.*give the full version, e\.g\. --blender 4\.2\.0\./);
      return true;
    });
  });

  it("explainAwsError turns SDK configuration errors into one-line fixes and passes others through", () => {
    const named = (name: string, message: string) => Object.assign(new Error(message), { name });
    const denied = explainAwsError(named("AccessDenied", "User: arn:aws:iam::1:user/x is not authorized to perform: cloudformation:CreateStack"), undefined);
    assert.ok(denied instanceof UserInputError);
    assert.match(denied.message, /AWS denied a call \(User: .* cloudformation:CreateStack\)/);
    assert.match(String((explainAwsError(named("ExpiredToken", "expired"), undefined) as Error).message), /renew them/);
    const offline = explainAwsError(Object.assign(new Error("connect ECONNREFUSED"), { code: "ECONNREFUSED" }), undefined) as Error;
    assert.match(offline.message, /Cannot reach AWS \(ECONNREFUSED\)/);
    const other = named("LimitExceededException", "too many stacks");
    assert.equal(explainAwsError(other, undefined), other);
  });

  it("formatStatus shows images, queues and compute environments", () => {
    const text = formatStatus({
      name: "studio",
      stackName: "brender-farm-studio",
      region: "eu-west-1",
      status: "UPDATE_COMPLETE",
      outputs: { BucketName: "b" },
      images: { "3.6.0": true, "4.2.0": false },
      queues: [{ name: "io", state: "ENABLED", status: "VALID", computeEnvironments: ["io-ce"] }],
      computeEnvironments: [{ name: "io-ce", state: "ENABLED", status: "VALID", type: "EC2", minVcpus: 0, maxVcpus: 16, desiredVcpus: 0 }],
      lastBuild: { id: "p:1", status: "SUCCEEDED", blenderVersion: "3.6.0" },
    });
    assert.match(text, /Blender 3\.6\.0: present/);
    assert.match(text, /Blender 4\.2\.0: missing \(run 'brender farm deploy studio'\)/);
    assert.match(text, /io-ce: EC2, ENABLED, VALID, 0 vCPUs \(min 0, max 16\)/);
    assert.match(text, /Last image build: SUCCEEDED \(Blender 3\.6\.0\)/);
  });
});
