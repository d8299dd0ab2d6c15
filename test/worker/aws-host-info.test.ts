/**
 * hostInfo against small HTTP servers on 127.0.0.1 playing EC2's instance
 * metadata service (IMDSv2: token PUT, then GETs carrying the token) and
 * ECS's task metadata endpoint. The real IMDS address is never called.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { hostInfo } from "../../src/worker/host-info.ts";

type Handler = (request: IncomingMessage, response: ServerResponse) => void;

/** A server for one test; `requests` lists "METHOD path" as they came. */
async function serve(t: { after: (fn: () => Promise<void>) => void }, handler: Handler) {
  const requests: string[] = [];
  const server = createServer((request, response) => {
    requests.push(`${request.method} ${request.url}`);
    handler(request, response);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  t.after(
    () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  );
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, requests };
}

const TOKEN = "AQAEAtoken==";

/** IMDSv2 as EC2 answers it: GETs without the session token are refused with 401. */
function imds(lifecycle: string, instanceType = "g5.xlarge"): Handler {
  return (request, response) => {
    if (request.method === "PUT" && request.url === "/latest/api/token") {
      assert.equal(request.headers["x-aws-ec2-metadata-token-ttl-seconds"], "60");
      response.end(TOKEN);
      return;
    }
    if (request.headers["x-aws-ec2-metadata-token"] !== TOKEN) {
      response.writeHead(401).end();
      return;
    }
    const answers: Record<string, string> = {
      "/latest/meta-data/instance-type": instanceType,
      "/latest/meta-data/instance-life-cycle": lifecycle,
    };
    const answer = answers[request.url ?? ""];
    if (answer === undefined) response.writeHead(404).end();
    else response.end(answer);
  };
}

describe("hostInfo", () => {
  it("reads instance type and spot from IMDSv2 and the zone from ECS task metadata", async (t) => {
    const ec2 = await serve(t, imds("spot"));
    const ecs = await serve(t, (request, response) => {
      if (request.url === "/v4/abc-123/task") response.end(JSON.stringify({ Cluster: "c", AvailabilityZone: "eu-west-1b" }));
      else response.writeHead(404).end();
    });
    const info = await hostInfo({
      AWS_BATCH_JOB_ID: "job-1",
      BRENDER_IMDS_ENDPOINT: ec2.url,
      ECS_CONTAINER_METADATA_URI_V4: `${ecs.url}/v4/abc-123`,
    });
    assert.deepEqual(info, { instanceType: "g5.xlarge", spot: true, availabilityZone: "eu-west-1b" });
    assert.deepEqual(ec2.requests.sort(), [
      "GET /latest/meta-data/instance-life-cycle",
      "GET /latest/meta-data/instance-type",
      "PUT /latest/api/token",
    ]);
  });

  it("says on-demand, and leaves out what it cannot read", async (t) => {
    const ec2 = await serve(t, imds("on-demand", "c6i.2xlarge"));
    assert.deepEqual(await hostInfo({ AWS_BATCH_JOB_ID: "job-1", BRENDER_IMDS_ENDPOINT: ec2.url }), { instanceType: "c6i.2xlarge", spot: false });
    const odd = await serve(t, imds("scheduled"));
    assert.deepEqual(await hostInfo({ AWS_BATCH_JOB_ID: "job-1", BRENDER_IMDS_ENDPOINT: odd.url }), { instanceType: "g5.xlarge" });
    const broken = await serve(t, (_request, response) => response.writeHead(500).end("<html>oops</html>"));
    assert.deepEqual(await hostInfo({ AWS_BATCH_JOB_ID: "job-1", BRENDER_IMDS_ENDPOINT: broken.url, ECS_CONTAINER_METADATA_URI_V4: broken.url }), {});
  });

  it("does not ask IMDS outside an AWS Batch job", async (t) => {
    const ec2 = await serve(t, imds("spot"));
    assert.deepEqual(await hostInfo({ BRENDER_IMDS_ENDPOINT: ec2.url }), {});
    assert.deepEqual(ec2.requests, []);
  });

  it("gives up after the timeout when the metadata services never answer", async (t) => {
    // Accepts the connection and never answers.
    const silent = await serve(t, () => {});
    const started = performance.now();
    const info = await hostInfo(
      { AWS_BATCH_JOB_ID: "job-1", BRENDER_IMDS_ENDPOINT: silent.url, ECS_CONTAINER_METADATA_URI_V4: `${silent.url}/v4/x` },
      { timeoutMs: 300 },
    );
    const elapsed = performance.now() - started;
    assert.deepEqual(info, {});
    // One timeout for the token (no GETs after it), one for ECS in parallel.
    assert.ok(elapsed >= 250 && elapsed < 1500, `took ${elapsed} ms`);
    assert.deepEqual(silent.requests.sort(), ["GET /v4/x/task", "PUT /latest/api/token"]);
  });
});
