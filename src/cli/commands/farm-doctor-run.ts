/**
 * `brender farm doctor NAME [--json]`: the preflight's report, one line per
 * check (and its fix), or JSON for scripts; exit 1 when a check blocks a
 * render.
 */
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { IAMClient } from "@aws-sdk/client-iam";
import { ServiceQuotasClient } from "@aws-sdk/client-service-quotas";
import { createFarmClients } from "../../backends/aws/farm/create-clients.ts";
import type { DoctorReport } from "../../backends/aws/farm/doctor/check.ts";
import { farmDoctor, type DoctorClients } from "../../backends/aws/farm/doctor/doctor.ts";
import { farmClientConfig, PACKAGE_ROOT, withAwsErrors, type AwsOptions } from "./farm-aws-run.ts";

export async function farmDoctorCommand(name: string, options: AwsOptions & { readonly json?: boolean }): Promise<number> {
  const config = farmClientConfig(options);
  const clients: DoctorClients = { ...createFarmClients(config), iam: new IAMClient(config), serviceQuotas: new ServiceQuotasClient(config) };
  const dockerfile = await readFile(join(PACKAGE_ROOT, "docker", "Dockerfile"), "utf8").catch(() => undefined);
  const registry = process.env.BRENDER_BASE_IMAGE_REGISTRY?.trim() || undefined;
  const report = await withAwsErrors(options, () => farmDoctor(name, clients, { dockerfile, ...(registry ? { registry } : {}) }));
  process.stdout.write(`${options.json ? JSON.stringify(report, null, 2) : formatDoctorReport(report)}\n`);
  return report.blocking ? 1 : 0;
}

/** The report for people (pure): a line per check, its fix below it, and the verdict. */
export function formatDoctorReport(report: DoctorReport): string {
  const width = Math.max(...report.checks.map((check) => check.id.length));
  const lines = [`Farm "${report.farm}" in ${report.region}:`];
  for (const check of report.checks) {
    lines.push(`  ${check.status.padEnd(7)}  ${check.id.padEnd(width)}  ${check.summary}`);
    if (check.fix) lines.push(`  ${"".padEnd(7)}  ${"".padEnd(width)}  fix: ${check.fix}`);
  }
  const blocking = report.checks.filter((check) => check.status === "BLOCKED").map((check) => check.id);
  const warnings = report.checks.filter((check) => check.status === "WARN").length;
  lines.push(
    blocking.length > 0
      ? `${blocking.length} check(s) block a render: ${blocking.join(", ")}.`
      : `Nothing blocks a render${warnings > 0 ? ` (${warnings} warning(s) above)` : ""}.`,
  );
  return lines.join("\n");
}
