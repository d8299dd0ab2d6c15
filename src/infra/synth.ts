/**
 * Synthesizes a farm's CloudFormation template in-process (no CDK CLI, no
 * assets, no bootstrap): what `farm deploy` sends to CloudFormation and
 * `farm synth --out DIR` writes.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { FarmStackProps } from "./farm-props.ts";
import { farmApp } from "./farm-stack.ts";

export type SynthesizedFarm = {
  readonly stackName: string;
  readonly template: Record<string, unknown>;
  /** The template as CloudFormation takes it (TemplateBody): compact, as TemplateBody is capped at 51,200 bytes. */
  readonly templateJson: string;
};

/** The farm stack's template for `props`; throws UserInputError for invalid props. */
export function synthFarmTemplate(props: FarmStackProps): SynthesizedFarm {
  const outdir = mkdtempSync(join(tmpdir(), "brender-farm-synth-"));
  try {
    const { app, stack } = farmApp(props, outdir);
    const assembly = app.synth();
    const artifact = assembly.getStackByName(stack.stackName);
    const template = artifact.template as Record<string, unknown>;
    return { stackName: stack.stackName, template, templateJson: JSON.stringify(template) };
  } finally {
    rmSync(outdir, { recursive: true, force: true });
  }
}
