import type { Command } from "commander";
import { withRenderSettingOptions } from "./render-setting-options.ts";
import { runCommand } from "../run-command.ts";

export function registerEstimate(program: Command): void {
  withRenderSettingOptions(program
    .command("estimate")
    .description("how long a render will take (and on AWS what it will cost), from a few frames rendered here at its settings")
    .argument("<path>", "a .blend file, or a project folder (then --blend names the .blend in it)"), "split the frames across N render children (AWS default: from the estimate)")
    .option("--backend <backend>", "local (this machine) or aws", "local")
    .option("--farm <name>", "the AWS farm (with --backend aws): its queue's instance types, vCPU ceiling and spot bid, as AWS Batch describes them (default: the deploy defaults)")
    .option("--region <region>", "AWS region for prices (default: AWS_REGION, else us-east-1)")
    .option("--queue <kind>", "spot-cpu, on-demand-cpu, spot-gpu or on-demand-gpu (with --backend aws)", "spot-cpu")
    .option("--preset <size>", "server size: small, medium, large, xlarge, 2xlarge, gpu-1, gpu-4, gpu-8 (with --backend aws)")
    .option("--vcpus <n>", "vCPUs per render child (with --backend aws)")
    .option("--memory <MiB>", "memory per render child in MiB (with --backend aws)")
    .option("--gpus <n>", "GPUs per render child (with --backend aws)")
    .option("--max-vcpus <n>", "the queue's vCPU ceiling (default: the farm default, 256)")
    .option("--blender <version>", "the installed Blender that will render ('brender blenders'), which renders the sample (default: the nearest at or above the file's)")
    .option("--json", "print one JSON object")
    .action((path: string, options) => runCommand(async () => (await import("./estimate-run.ts")).runEstimate(path, options)));
}
