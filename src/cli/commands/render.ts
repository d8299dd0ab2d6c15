import type { Command } from "commander";
import { withRenderSettingOptions } from "./render-setting-options.ts";
import { runCommand } from "../run-command.ts";

const collect = (value: string, previous: string[] = []) => [...previous, value];

export function registerRender(program: Command): void {
  withRenderSettingOptions(program
    .command("render")
    .description("render a .blend (or a project folder) through copy -> render -> upload on this machine")
    .argument("<path>", "a .blend file, or a project folder (then --blend names the .blend in it)"))
    .option("--attempts <n>", "tries per render child (1-10; default 1 here, on AWS 5 on spot queues and 2 on on-demand, retried only when the host is lost or the image cannot be pulled)")
    .option("--timeout <duration>", "limit per attempt, e.g. 900, 15m, 2h")
    .option("--python <script>", "run this bpy script (path inside the project) instead of a plain render")
    .option("--env <NAME=value>", "a variable for the --python script (repeatable)", collect)
    .option("--notify <target>", "an e-mail address, or a Slack, Discord or https:// webhook URL, told the result (repeatable)", collect)
    .option("--project <name>", "project name for the outputs (default: the file or folder name)")
    .option("--storage <url>", "object store for the project and outputs: s3://bucket[/prefix] or a folder (default: BRENDER_STORAGE, else $BRENDER_HOME/bucket)")
    .option("--allow-missing", "render even when files the .blend needs are missing (they render pink or empty)")
    .option("--path-map <FROM=TO>", "find paths written on another machine here, e.g. 'C:\\textures=/mnt/textures' (repeatable)", collect)
    .option("--priority <n>", "higher runs first", "0")
    .option("--detach", "submit and return at once; a background process renders")
    .option("--json", "print one JSON summary instead of progress")
    .option("--backend <backend>", "where to render: local (this machine) or aws (a farm in your AWS account)", "local")
    .option("--farm <name>", "the AWS farm (with --backend aws)")
    .option("--profile <name>", "AWS profile (with --backend aws)")
    .option("--region <region>", "AWS region (with --backend aws)")
    .option("--queue <kind>", "spot-cpu, on-demand-cpu, spot-gpu or on-demand-gpu (with --backend aws)", "spot-cpu")
    .option("--preset <size>", "server size: small, medium, large, xlarge, 2xlarge, gpu-1, gpu-4, gpu-8 (with --backend aws)")
    .option("--vcpus <n>", "vCPUs per render child (with --backend aws)")
    .option("--memory <MiB>", "memory per render child in MiB (with --backend aws)")
    .option("--gpus <n>", "GPUs per render child (with --backend aws)")
    .option("--blender <version>", "Blender version: installed here ('brender blenders'), or deployed on the AWS farm (default: the nearest at or above the file's)")
    .option("--estimate", "estimate the render first (a few frames rendered here, as 'brender estimate'), and keep the estimate to show next to the actual cost")
    .option("--max-cost <usd>", "with --backend aws: refuse the render, before uploading, when its estimate is above this many US dollars, and stop it once its spend passes them; \"none\" lifts the farm's default cap")
    .option("--dry-run", "print the exact AWS Batch SubmitJob inputs, in order, and submit nothing (with --backend aws)")
    .action((path: string, options) => runCommand(async () => {
      // Before the render command's own modules load: this process's runner's copy thread, spare worker and
      // Blender start meanwhile (see prewarmLocalRunner), and are ready when the copy and render jobs come.
      if (options.backend !== "aws" && !options.detach) (await import("../../backends/local/runner.ts")).prewarmLocalRunner();
      return (await import("./render-run.ts")).runRender(path, options);
    }));

  program
    .command("retry")
    .description("render again only the frames of a render that failed or are missing")
    .argument("<id>", "render id (or its unambiguous start)")
    .option("--detach", "return at once; a background process renders")
    .option("--json", "print one JSON summary instead of progress")
    .action((id: string, options) => runCommand(async () => (await import("./render-run.ts")).runRetry(id, options)));
}
