import { Agent, createServer, request, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { buildApp } from "fauxqs";
import { CreateBucketCommand, S3Client } from "@aws-sdk/client-s3";
import { S3ObjectStore, type S3StoreOptions } from "../../src/storage/s3-store.ts";

/** The server accepts any credentials; these are what the tests sign with. */
export const TEST_CREDENTIALS = { accessKeyId: "brender-test", secretAccessKey: "brender-test-secret" } as const;

/** A real S3-compatible server (fauxqs, in this process) on 127.0.0.1, with what the tests need to observe it. */
export type S3TestServer = {
  /** http://127.0.0.1:PORT */
  readonly endpoint: string;
  createBucket(name: string): Promise<void>;
  /** A store on `bucket` (created beforehand) at this server, signed with TEST_CREDENTIALS. */
  store(bucket: string, options?: Partial<S3StoreOptions>): S3ObjectStore;
  /** Multipart uploads created and neither completed nor aborted, seen from the server's side. */
  openMultipartUploads(): string[];
  /**
   * Creates many small objects fast, with plain unsigned PUTs (the server
   * does not check signatures; the SDK's per-request cost would dominate).
   */
  seedObjects(bucket: string, keys: readonly string[], body?: string): Promise<void>;
  /** Object body bytes the server has sent in GET responses since the last reset. */
  bytesServed(): number;
  resetBytesServed(): void;
  stop(): Promise<void>;
};

/**
 * Starts fauxqs (an S3 emulator from npm) on 127.0.0.1 and an ephemeral port,
 * with hooks that record multipart uploads and GET body bytes, and creates
 * `buckets`. Pass the test context to stop it after the test (or suite).
 */
export async function startS3Server(
  t: { after: (fn: () => Promise<void>) => void } | undefined,
  buckets: readonly string[] = [],
  options: { readonly latencyMs?: number } = {},
): Promise<S3TestServer> {
  const app = buildApp({ logger: false });
  // A round trip's worth of delay per request, to model a server across a network (benchmarks).
  const latencyMs = options.latencyMs ?? 0;
  if (latencyMs > 0) app.addHook("onRequest", () => new Promise<void>((resolve) => setTimeout(resolve, latencyMs)));
  const openUploads = new Set<string>();
  let served = 0;
  app.addHook("onSend", async (request, reply, payload) => {
    const query = new URL(request.url, "http://server").searchParams;
    const ok = reply.statusCode >= 200 && reply.statusCode < 300;
    if (ok && request.method === "POST" && query.has("uploads")) {
      const uploadId = /<UploadId>([^<]*)<\/UploadId>/.exec(String(payload))?.[1];
      if (uploadId) openUploads.add(uploadId);
    } else if (ok && (request.method === "POST" || request.method === "DELETE") && query.has("uploadId")) {
      openUploads.delete(query.get("uploadId")!);
    } else if (ok && request.method === "GET" && Buffer.isBuffer(payload)) {
      served += payload.length;
    }
    return payload;
  });
  await app.listen({ port: 0, host: "127.0.0.1" });
  const { port } = app.server.address() as AddressInfo;
  const endpoint = `http://127.0.0.1:${port}`;
  const admin = new S3Client({ endpoint, region: "us-east-1", forcePathStyle: true, credentials: TEST_CREDENTIALS });
  const server: S3TestServer = {
    endpoint,
    async createBucket(name) {
      await admin.send(new CreateBucketCommand({ Bucket: name }));
    },
    store: (bucket, options = {}) => new S3ObjectStore({ bucket, endpoint, credentials: TEST_CREDENTIALS, ...options }),
    openMultipartUploads: () => [...openUploads],
    seedObjects: (bucket, keys, body = "x") => seed(port, bucket, keys, body),
    bytesServed: () => served,
    resetBytesServed: () => {
      served = 0;
    },
    async stop() {
      admin.destroy();
      await app.close();
    },
  };
  for (const bucket of buckets) await server.createBucket(bucket);
  t?.after(() => server.stop());
  return server;
}

async function seed(port: number, bucket: string, keys: readonly string[], body: string): Promise<void> {
  const agent = new Agent({ keepAlive: true, maxSockets: 16 });
  const put = (key: string) =>
    new Promise<void>((resolve, reject) => {
      const path = `/${bucket}/${key.split("/").map(encodeURIComponent).join("/")}`;
      const call = request({ host: "127.0.0.1", port, method: "PUT", path, agent, headers: { "content-length": Buffer.byteLength(body) } }, (response) => {
        response.resume();
        response.on("end", () => (response.statusCode === 200 ? resolve() : reject(new Error(`PUT ${path}: HTTP ${response.statusCode}`))));
      });
      call.on("error", reject);
      call.end(body);
    });
  let next = 0;
  try {
    await Promise.all(
      Array.from({ length: 16 }, async () => {
        while (next < keys.length) await put(keys[next++]!);
      }),
    );
  } finally {
    agent.destroy();
  }
}

/**
 * A stand-in for an S3 server that refuses the caller's credentials: every
 * request gets AWS's 403 InvalidAccessKeyId answer (fauxqs accepts any
 * credentials, so it cannot play this part).
 */
export async function startRefusingS3Server(t: { after: (fn: () => Promise<void>) => void }): Promise<string> {
  const server: Server = createServer((request, response) => {
    request.resume();
    response.writeHead(403, { "content-type": "application/xml", "x-amz-request-id": "REFUSED" });
    response.end(
      request.method === "HEAD"
        ? undefined
        : `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>InvalidAccessKeyId</Code><Message>The AWS Access Key Id you provided does not exist in our records.</Message><RequestId>REFUSED</RequestId></Error>`,
    );
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  t.after(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

/** A loopback port with nothing listening on it (bound, then released). */
export async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}
