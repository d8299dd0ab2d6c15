/**
 * The quota check against a mocked Service Quotas API: moto's Service Quotas
 * only knows the "vpc" service (no EC2 vCPU quotas: GetServiceQuota for ec2
 * answers NoSuchResourceException), so aws-sdk-client-mock stands in for it.
 */
import { afterEach, describe, it } from "node:test";
import assert from "node:assert/strict";
import {
  AccessDeniedException,
  GetAWSDefaultServiceQuotaCommand,
  GetServiceQuotaCommand,
  NoSuchResourceException,
  ServiceQuotasClient,
} from "@aws-sdk/client-service-quotas";
import { mockClient } from "aws-sdk-client-mock";
import { checkVcpuQuota, VCPU_QUOTAS } from "../../../src/backends/aws/quotas.ts";
import { QUEUE_KINDS } from "../../../src/backends/aws/farm-resources.ts";

const client = new ServiceQuotasClient({ region: "eu-west-1", credentials: { accessKeyId: "x", secretAccessKey: "y" } });
const quotas = mockClient(client);
afterEach(() => quotas.reset());

function applied(code: string, value: number): void {
  quotas.on(GetServiceQuotaCommand, { ServiceCode: "ec2", QuotaCode: code }).resolves({ Quota: { QuotaCode: code, Value: value } });
}

describe("checkVcpuQuota", () => {
  it("reads the EC2 quota that bounds each queue kind", async () => {
    const values = { "on-demand-cpu": 64, "spot-cpu": 32, "on-demand-gpu": 8, "spot-gpu": 4 };
    for (const kind of QUEUE_KINDS) applied(VCPU_QUOTAS[kind].code, values[kind]);
    for (const kind of QUEUE_KINDS) {
      const check = await checkVcpuQuota({ queue: kind, vcpus: 4 }, { serviceQuotasClient: client });
      assert.equal(check.status, "ok");
      assert.equal(check.quotaCode, VCPU_QUOTAS[kind].code);
      assert.equal("limit" in check && check.limit, values[kind]);
    }
    assert.deepEqual(
      Object.fromEntries(QUEUE_KINDS.map((kind) => [kind, VCPU_QUOTAS[kind].code])),
      { "on-demand-cpu": "L-1216C47A", "spot-cpu": "L-34B43A08", "on-demand-gpu": "L-DB2E81BA", "spot-gpu": "L-3819A6DF" },
    );
  });

  it("says what to request when the whole render does not fit at once", async () => {
    applied("L-34B43A08", 32);
    const check = await checkVcpuQuota({ queue: "spot-cpu", vcpus: 48, vcpusPerJob: 8 }, { serviceQuotasClient: client });
    assert.equal(check.status, "short");
    assert.ok(check.status === "short");
    assert.match(check.message, /needs 48 vCPUs but your account allows 32/);
    assert.match(check.message, /request an increase of L-34B43A08 \("All Standard \(A, C, D, H, I, M, R, T, Z\) Spot Instance Requests"\) in the Service Quotas console \(eu-west-1\)/);
    assert.match(check.message, /https:\/\/eu-west-1\.console\.aws\.amazon\.com\/servicequotas\/home\/services\/ec2\/quotas\/L-34B43A08/);
  });

  it("blocks when not even one render child fits (a new account's 0 GPU vCPUs)", async () => {
    applied("L-DB2E81BA", 0);
    const check = await checkVcpuQuota({ queue: "on-demand-gpu", vcpus: 32, vcpusPerJob: 8 }, { serviceQuotasClient: client });
    assert.equal(check.status, "blocked");
    assert.ok(check.status === "blocked");
    assert.match(check.message, /One render child on the on-demand-gpu queue needs 8 vCPUs but your account allows 0, so it would never start; request an increase of L-DB2E81BA/);
  });

  it("falls back to AWS's default when the account has no applied value, and rounds fractional quotas down", async () => {
    quotas
      .on(GetServiceQuotaCommand)
      .rejects(new NoSuchResourceException({ message: "The request failed because the specified resource does not exist.", $metadata: {} }));
    quotas.on(GetAWSDefaultServiceQuotaCommand, { QuotaCode: "L-1216C47A" }).resolves({ Quota: { Value: 5.5 } });
    const check = await checkVcpuQuota({ queue: "on-demand-cpu", vcpus: 8 }, { serviceQuotasClient: client });
    assert.equal(check.status, "blocked");
    assert.ok(check.status === "blocked");
    assert.equal(check.limit, 5);
    assert.equal(quotas.commandCalls(GetAWSDefaultServiceQuotaCommand).length, 1);
  });

  it("reports an unreadable quota as unknown instead of failing the render", async () => {
    quotas.on(GetServiceQuotaCommand).rejects(new AccessDeniedException({ message: "not allowed", $metadata: {} }));
    const check = await checkVcpuQuota({ queue: "spot-gpu", vcpus: 8 }, { serviceQuotasClient: client });
    assert.equal(check.status, "unknown");
    assert.ok(check.status === "unknown");
    assert.match(check.message, /Could not read the EC2 quota L-3819A6DF .*\(AccessDeniedException\): submitting anyway/);
  });

  it("raises errors that did not come from the service (no credentials, bugs)", async () => {
    quotas.on(GetServiceQuotaCommand).rejects(new Error("Could not load credentials from any providers"));
    await assert.rejects(checkVcpuQuota({ queue: "spot-cpu", vcpus: 2 }, { serviceQuotasClient: client }), /Could not load credentials/);
  });
});
