import type { Command } from "commander";
import { runCommand } from "../run-command.ts";

/** Options every command that talks to AWS takes. */
function withAws(command: Command): Command {
  return command.option("--profile <name>", "AWS profile (default: AWS_PROFILE, else the default chain)").option("--region <region>", "AWS region (default: AWS_REGION or the profile's)");
}

/** Options that shape the farm's stack (synth and deploy). */
function withFarmOptions(command: Command): Command {
  return command
    .option("--private", "private subnets behind one NAT gateway (adds its fixed cost); default: public subnets, or the farm's current choice")
    .option("--no-private", "public subnets, no NAT gateway (undoes an earlier --private)")
    .option("--max-vcpus <n>", "most vCPUs each compute environment may run (default 256)")
    .option("--spot-bid <percent>", "highest spot price, as a percentage of on-demand (1-100, default 100)")
    .option("--blender <versions>", "Blender versions, comma-separated, e.g. 3.6.0,4.2.0 (default: the farm's current ones, else 4.2.0)")
    .option("--email <address>", "send render notifications from this address (SES verifies it)")
    .option("--max-cost <usd>", "default cost cap per render in US dollars (render --max-cost overrides it); none removes it");
}

/** `brender farm …`: deploy and manage render farms in the user's AWS account. */
export function registerAwsFarmCommands(program: Command): void {
  const load = async () => import("./farm-aws-run.ts");
  const farm = program.command("farm").description("deploy and manage render farms in your AWS account (AWS Batch, S3, ECR, CodeBuild)");

  withFarmOptions(
    farm
      .command("synth")
      .description("write the farm's CloudFormation template to a folder, offline (no AWS call)")
      .argument("<name>", "farm name")
      .requiredOption("--out <dir>", "folder for brender-farm-NAME.template.json")
      .option("--region <region>", "region the template is for (default: any)"),
  ).action((name: string, options) => runCommand(async () => (await load()).synthFarm(name, options)));

  withAws(
    withFarmOptions(
      farm
        .command("deploy")
        .description("create or update farm NAME (stack brender-farm-NAME), build its worker images in the cloud, and show the fixed monthly cost")
        .argument("<name>", "farm name: letters, digits and -"),
    ),
  ).action((name: string, options) => runCommand(async () => (await load()).deployFarmCommand(name, options)));

  withAws(farm.command("list").description("list the farms in a region").option("--json", "print JSON")).action((options) =>
    runCommand(async () => (await load()).listFarmsCommand(options)),
  );

  withAws(
    farm
      .command("status")
      .description("show a farm's stack, images per Blender version, queues, compute environments and last image build")
      .argument("<name>", "farm name")
      .option("--json", "print JSON"),
  ).action((name: string, options) => runCommand(async () => (await load()).farmStatusCommand(name, options)));

  withAws(
    farm
      .command("doctor")
      .description("check before a render what the account and the farm need: vCPU quotas, instance types, images, queues, SES, service-linked roles, CodeBuild, the base image; exit 1 when something blocks a render")
      .argument("<name>", "farm name")
      .option("--json", "print JSON: {farm, region, checks:[{id, status, summary, fix?}], blocking}"),
  ).action((name: string, options) => runCommand(async () => (await import("./farm-doctor-run.ts")).farmDoctorCommand(name, options)));

  withAws(
    farm
      .command("destroy")
      .description("delete farm NAME and everything in it: renders in its bucket, images, stack")
      .argument("<name>", "farm name")
      .option("--yes", "really delete (required: the renders go too)"),
  ).action((name: string, options) => runCommand(async () => (await load()).destroyFarmCommand(name, options)));
}
