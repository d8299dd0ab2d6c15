import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { makeLinkKeyPair } from "../../src/backends/aws/farm/link-key.ts";
import { synthFarmTemplate } from "../../src/infra/synth.ts";
import { pythonTool } from "../helpers/python-tools.ts";

type Finding = { Level: string; Rule: { Id: string }; Message: string; Location: { Path: unknown[] } };

/** Runs cfn-lint on a template; fails (never skips) when cfn-lint is not installed. */
function cfnLint(templateJson: string): Finding[] {
  const folder = mkdtempSync(join(tmpdir(), "brender-cfn-lint-"));
  try {
    const file = join(folder, "template.json");
    writeFileSync(file, templateJson);
    const run = spawnSync(pythonTool("cfn-lint") ?? "cfn-lint", ["--format", "json", "--", file], { encoding: "utf8", timeout: 120_000 });
    if (run.error && (run.error as NodeJS.ErrnoException).code === "ENOENT") {
      assert.fail("cfn-lint is not installed: `bash scripts/setup.sh` puts it in .tools/python, or `pip install cfn-lint` (Python 3) on PATH.");
    }
    assert.ok(run.error === undefined, `cfn-lint did not run: ${run.error?.message}`);
    // Exit codes are a bit mask of the levels found (2 error, 4 warning, 8 info); 1 is a crash.
    assert.notEqual(run.status, 1, `cfn-lint crashed: ${run.stderr}`);
    return run.stdout.trim() === "" ? [] : (JSON.parse(run.stdout) as Finding[]);
  } finally {
    rmSync(folder, { recursive: true, force: true });
  }
}

function describeFindings(findings: readonly Finding[]): string {
  return findings.map((finding) => `${finding.Level} ${finding.Rule.Id} at ${finding.Location.Path.join("/")}: ${finding.Message}`).join("\n");
}

describe("farm stack: cfn-lint", () => {
  const farms = {
    "public, two versions, e-mail, signed links": synthFarmTemplate({
      farmName: "demo",
      blenderVersions: ["3.6.0", "4.2.0"],
      notificationEmail: "renders@example.com",
      linkPublicKey: makeLinkKeyPair().publicKeyPem,
    }),
    "private, region and account set": synthFarmTemplate({
      farmName: "Studio-2",
      blenderVersions: ["4.2.0"],
      private: true,
      region: "eu-west-1",
      account: "123456789012",
    }),
  };

  for (const [name, farm] of Object.entries(farms)) {
    it(`finds no errors in the ${name} farm template`, (t) => {
      const findings = cfnLint(farm.templateJson);
      const errors = findings.filter((finding) => finding.Level === "Error");
      assert.equal(errors.length, 0, describeFindings(errors));
      const warnings = findings.filter((finding) => finding.Level !== "Error");
      if (warnings.length > 0) t.diagnostic(`cfn-lint warnings:\n${describeFindings(warnings)}`);
    });
  }
});
