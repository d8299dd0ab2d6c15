import { describe, it, before, after } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { ListJobsCommand } from "@aws-sdk/client-batch";
import { CreateStackCommand, DescribeStacksCommand } from "@aws-sdk/client-cloudformation";
import { ListObjectsV2Command, S3Client } from "@aws-sdk/client-s3";
import { brender, makeScene, tempDir } from "../helpers/blender.ts";
import type { MotoServer } from "../helpers/moto-server.ts";
import { motoCliEnv, startTestFarmOnMoto, type TestFarm } from "../helpers/aws-farm.ts";

let moto: MotoServer;
let farm: TestFarm;
let s3: S3Client;
before(async () => {
  ({ moto, farm, s3 } = await startTestFarmOnMoto());
  // Two more farms sharing the test farm's resources, deployed with a default cost cap (the MaxCost output).
  const outputs = (await farm.cloudFormation.send(new DescribeStacksCommand({ StackName: "brender-farm-test" }))).Stacks![0]!.Outputs!;
  for (const [name, maxCost] of [["capped", "25"], ["tight", "0.000001"]] as const) {
    await farm.cloudFormation.send(
      new CreateStackCommand({
        StackName: `brender-farm-${name}`,
        TemplateBody: JSON.stringify({
          Resources: { Placeholder: { Type: "AWS::CloudFormation::WaitConditionHandle" } },
          Outputs: Object.fromEntries([...outputs.map((output) => [output.OutputKey!, { Value: output.OutputValue! }]), ["MaxCost", { Value: maxCost }]]),
        }),
      }),
    );
  }
});

type DryRunInput = { jobName: string; containerOverrides: { environment: { name: string; value: string }[] } };
/** BRENDER_COST_CAP of each job in a dry run's SubmitJob inputs (undefined where a job has none). */
function capsOf(stdout: string): (Record<string, number> | undefined)[] {
  return (JSON.parse(stdout) as DryRunInput[]).map((input) => {
    const value = input.containerOverrides.environment.find((variable) => variable.name === "BRENDER_COST_CAP")?.value;
    return value === undefined ? undefined : (JSON.parse(value) as Record<string, number>);
  });
}
after(() => moto.stop());

const awsEnv = (home: string) => motoCliEnv(moto, home);

async function nothingInAws(): Promise<void> {
  const listed = await s3.send(new ListObjectsV2Command({ Bucket: "brender-test-bucket" }));
  assert.deepEqual(listed.Contents ?? [], [], "nothing uploaded");
  for (const queue of [farm.arns.io]) {
    for (const jobStatus of ["SUBMITTED", "PENDING", "RUNNABLE", "RUNNING", "SUCCEEDED", "FAILED"] as const) {
      const jobs = await farm.batch.send(new ListJobsCommand({ jobQueue: queue, jobStatus }));
      assert.equal(jobs.jobSummaryList?.length ?? 0, 0, `nothing submitted (${jobStatus})`);
    }
  }
}

describe("render --backend aws --max-cost (moto_server)", () => {
  it("refuses a render estimated above the cap before anything is uploaded: exit 2, the estimate and the cap", async (t) => {
    const home = await tempDir(t);
    const blend = await makeScene(join(home, "shot.blend"), { frames: [1, 4], resolution: [32, 18], samples: 2 });
    // Any render costs more than a millionth of a dollar: container starts alone are minutes of an instance.
    const refused = await brender(["render", blend, "--backend", "aws", "--farm", "test", "--max-cost", "0.000001", "--dry-run"], awsEnv(home));
    assert.equal(refused.code, 2, refused.stderr);
    assert.match(refused.stderr, /estimated at about \$0\.\d{4} \(\$0\.\d{4} to \$0\.\d{4}\) on spot-cpu, above --max-cost \$0\.0000; nothing was uploaded or submitted/);
    assert.equal(refused.stdout, "", "no SubmitJob inputs printed");
    await nothingInAws();
    // And for real (no dry run): refused before the project is uploaded.
    const real = await brender(["render", blend, "--backend", "aws", "--farm", "test", "--max-cost", "0.000001", "--detach"], awsEnv(home));
    assert.equal(real.code, 2, real.stderr);
    assert.match(real.stderr, /above --max-cost/);
    await nothingInAws();
  });

  it("lets a render under the cap through (the dry run prints its SubmitJob inputs)", async (t) => {
    const home = await tempDir(t);
    const blend = await makeScene(join(home, "shot.blend"), { frames: [1, 4], resolution: [32, 18], samples: 2 });
    const allowed = await brender(["render", blend, "--backend", "aws", "--farm", "test", "--max-cost", "$25", "--dry-run"], awsEnv(home));
    assert.equal(allowed.code, 0, allowed.stderr);
    assert.match(allowed.stderr, /estimated cost about \$0\.\d{4}, within --max-cost \$25\.00; the render stops if its spend passes it/);
    // The cap travels with the render job only: its children check it while they run.
    const [copy, render, upload] = capsOf(allowed.stdout);
    assert.equal(copy, undefined);
    assert.equal(upload, undefined);
    assert.equal(render?.maxUsd, 25);
    // The price the estimate used: moto's EC2 answers its spot history at $0.00001 an hour for every type.
    assert.ok(render!.usdPerChildHour! > 0 && render!.usdPerChildHour! <= 0.00001, `price per child-hour ${render?.usdPerChildHour}`);
    assert.match(allowed.stderr, /prices: .*spot from us-east-1's spot price history of the last 7 days/);
    await nothingInAws();
  });

  it("uses the farm's default cap (farm deploy --max-cost) unless --max-cost is given; --max-cost none lifts it for one render", async (t) => {
    const home = await tempDir(t);
    const blend = await makeScene(join(home, "shot.blend"), { frames: [1, 4], resolution: [32, 18], samples: 2 });
    const byDefault = await brender(["render", blend, "--backend", "aws", "--farm", "capped", "--dry-run"], awsEnv(home));
    assert.equal(byDefault.code, 0, byDefault.stderr);
    assert.match(byDefault.stderr, /cost cap \$25\.00: farm "capped"'s default cap \(--max-cost USD or --max-cost none changes it for this render\)/);
    assert.equal(capsOf(byDefault.stdout)[1]?.maxUsd, 25);

    const lifted = await brender(["render", blend, "--backend", "aws", "--farm", "capped", "--max-cost", "none", "--dry-run"], awsEnv(home));
    assert.equal(lifted.code, 0, lifted.stderr);
    assert.match(lifted.stderr, /--max-cost none: no cost cap for this render \(not even the farm's default\)/);
    assert.doesNotMatch(lifted.stderr, /estimating the cost/, "no estimate without a cap");
    assert.deepEqual(capsOf(lifted.stdout), [undefined, undefined, undefined]);

    const own = await brender(["render", blend, "--backend", "aws", "--farm", "capped", "--max-cost", "30", "--dry-run"], awsEnv(home));
    assert.equal(own.code, 0, own.stderr);
    assert.equal(capsOf(own.stdout)[1]?.maxUsd, 30);

    const refused = await brender(["render", blend, "--backend", "aws", "--farm", "tight", "--detach"], awsEnv(home));
    assert.equal(refused.code, 2, refused.stderr);
    assert.match(refused.stderr, /above farm "tight"'s default cap \$0\.0000; nothing was uploaded or submitted\. Raise --max-cost \(or lift it with --max-cost none\)/);
    await nothingInAws();
  });

  it("a cap that is not an amount, or on the local backend: exit 2 naming the fix", async (t) => {
    const home = await tempDir(t);
    const blend = await makeScene(join(home, "shot.blend"), { frames: [1, 2], resolution: [16, 16], samples: 1 });
    const bad = await brender(["render", blend, "--backend", "aws", "--farm", "test", "--max-cost", "lots", "--dry-run"], awsEnv(home));
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /--max-cost "lots" is not an amount of US dollars/);
    const local = await brender(["render", blend, "--max-cost", "5"], { BRENDER_HOME: join(home, "h") });
    assert.equal(local.code, 2);
    assert.match(local.stderr, /--max-cost is for --backend aws/);
  });
});
