import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { readdir, readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";
import { AbortMultipartUploadCommand, CreateMultipartUploadCommand, HeadObjectCommand } from "@aws-sdk/client-s3";
import { UserInputError } from "../../src/errors.ts";
import { FsObjectStore } from "../../src/storage/fs-store.ts";
import { openObjectStore } from "../../src/storage/open-store.ts";
import { checkBucketAccess, parseS3Url, S3ObjectStore } from "../../src/storage/s3-store.ts";
import { REPO, tempDir } from "../helpers/blender.ts";
import { closedPort, startRefusingS3Server, startS3Server, TEST_CREDENTIALS, type S3TestServer } from "../helpers/s3-server.ts";

const MiB = 1024 * 1024;
const PART = 8 * MiB;
const sha256 = (data: Uint8Array) => createHash("sha256").update(data).digest("hex");

let server: S3TestServer;
let bucketCount = 0;
/** A fresh bucket for one test, so server-side observations belong to it alone. */
async function freshBucket(): Promise<string> {
  const name = `s3-test-${++bucketCount}`;
  await server.createBucket(name);
  return name;
}

/** Stores big bytes the way Brender does, with putFile (the test server takes single PUTs of 11 MiB at most). */
async function putLarge(store: S3ObjectStore, key: string, bytes: Buffer, dir: string): Promise<void> {
  const source = join(dir, `upload-${randomBytes(4).toString("hex")}`);
  await writeFile(source, bytes);
  await store.putFile(key, source);
  await rm(source);
}

before(async () => {
  server = await startS3Server(undefined);
});
after(() => server.stop());

describe("S3ObjectStore transfers", () => {
  it("uploads a 40 MiB file as parallel multipart parts with progress and the right SHA-256, and downloads it in ranges", async (t) => {
    const dir = await tempDir(t);
    const store = server.store(await freshBucket(), { prefix: "team" });
    const bytes = randomBytes(40 * MiB);
    await writeFile(join(dir, "project.tar"), bytes);

    const progress: number[] = [];
    const put = await store.putFile("proj/project.tar", join(dir, "project.tar"), { onProgress: (done) => progress.push(done) });
    assert.deepEqual(put, { key: "proj/project.tar", size: bytes.length, sha256: sha256(bytes) });
    assert.ok(progress.length >= 5, `a progress event per part at least (got ${progress.length})`);
    assert.deepEqual(progress, [...progress].sort((a, b) => a - b));
    assert.equal(progress.at(-1), bytes.length);
    const head = await store.client.send(new HeadObjectCommand({ Bucket: store.bucket, Key: "team/proj/project.tar" }));
    assert.match(head.ETag ?? "", /-5"$/, "stored as a 5-part multipart upload");
    assert.deepEqual(server.openMultipartUploads(), []);

    const downloaded: number[] = [];
    await store.getFile("proj/project.tar", join(dir, "back.tar"), { onProgress: (done) => downloaded.push(done) });
    assert.equal(sha256(await readFile(join(dir, "back.tar"))), put.sha256);
    assert.equal(downloaded.at(-1), bytes.length);
    assert.deepEqual((await readdir(dir)).sort(), ["back.tar", "project.tar"], "no .partial or journal left");
  });

  it("an upload aborted midway leaves no object and no unfinished multipart upload; a retry uploads it whole", async (t) => {
    const dir = await tempDir(t);
    const store = server.store(await freshBucket());
    const bytes = randomBytes(40 * MiB);
    await writeFile(join(dir, "big.bin"), bytes);

    const controller = new AbortController();
    let openDuringUpload: string[] = [];
    await assert.rejects(
      store.putFile("proj/big.bin", join(dir, "big.bin"), {
        signal: controller.signal,
        onProgress: () => {
          openDuringUpload = server.openMultipartUploads();
          controller.abort();
        },
      }),
      { name: "AbortError" },
    );
    assert.equal(openDuringUpload.length, 1, "the server saw the multipart upload in progress");
    assert.deepEqual(server.openMultipartUploads(), [], "the multipart upload was aborted");
    assert.equal(await store.stat("proj/big.bin"), undefined, "no object, not even part of one");

    // Retrying simply uploads again (the aborted upload left nothing to resume).
    const put = await store.putFile("proj/big.bin", join(dir, "big.bin"));
    assert.equal(put.sha256, sha256(bytes));
    assert.equal(sha256(await store.getBytes("proj/big.bin")), sha256(bytes));
  });

  it("an interrupted download keeps its parts and resumes, fetching only what is missing", async (t) => {
    const dir = await tempDir(t);
    const bucket = await freshBucket();
    const bytes = randomBytes(40 * MiB);
    const store = server.store(bucket);
    const destination = join(dir, "out.zip");
    await putLarge(store, "renders/out.zip", bytes, dir);

    // One part at a time, so the interruption lands after exactly two whole parts.
    const serial = server.store(bucket, { concurrency: 1 });
    const controller = new AbortController();
    await assert.rejects(
      serial.getFile("renders/out.zip", destination, {
        signal: controller.signal,
        onProgress: (done) => done > 2 * PART && controller.abort(),
      }),
      { name: "AbortError" },
    );
    assert.deepEqual((await readdir(dir)).sort(), ["out.zip.partial", "out.zip.partial.json"], "nothing at the destination, the partial kept");
    const journal = JSON.parse(await readFile(`${destination}.partial.json`, "utf8")) as { done: number[]; etag: string; size: number };
    assert.deepEqual(journal.done, [0, 1]);
    assert.equal(journal.size, bytes.length);

    server.resetBytesServed();
    const progress: number[] = [];
    await store.getFile("renders/out.zip", destination, { onProgress: (done) => progress.push(done) });
    assert.equal(server.bytesServed(), bytes.length - 2 * PART, "only the three missing parts were fetched");
    assert.equal(progress[0], 2 * PART, "progress starts from the parts already there");
    assert.ok((await readFile(destination)).equals(bytes), "the resumed download is byte-identical");
    assert.deepEqual(await readdir(dir), ["out.zip"]);
  });

  it("restarts a download whose object changed since it was interrupted (ETag differs)", async (t) => {
    const dir = await tempDir(t);
    const bucket = await freshBucket();
    const store = server.store(bucket, { concurrency: 1 });
    await putLarge(store, "scene.blend", randomBytes(24 * MiB), dir);
    const destination = join(dir, "scene.blend");
    const controller = new AbortController();
    await assert.rejects(
      store.getFile("scene.blend", destination, { signal: controller.signal, onProgress: (done) => done > PART && controller.abort() }),
      { name: "AbortError" },
    );
    const replaced = randomBytes(24 * MiB); // same size, other bytes: only the ETag tells
    await putLarge(store, "scene.blend", replaced, dir);

    server.resetBytesServed();
    await store.getFile("scene.blend", destination);
    assert.equal(server.bytesServed(), replaced.length, "everything fetched again");
    assert.ok((await readFile(destination)).equals(replaced), "the new object, not a mix of old and new");
    assert.deepEqual(await readdir(dir), ["scene.blend"]);
  });

  it("restarts cleanly when the object is replaced in the middle of a download (If-Match fails)", async (t) => {
    const dir = await tempDir(t);
    const bucket = await freshBucket();
    const store = server.store(bucket, { concurrency: 1 });
    const writer = server.store(bucket);
    await putLarge(store, "frames.zip", randomBytes(24 * MiB), dir);
    const replaced = randomBytes(24 * MiB);
    const replacement = join(dir, "replacement");
    await writeFile(replacement, replaced);
    let overwrite: Promise<void> | undefined;
    // Hold the second ranged GET until the object has been replaced.
    store.client.middlewareStack.add(
      (next) => async (args) => {
        const input = args.input as { Range?: string };
        if (input.Range && overwrite) await overwrite;
        return next(args);
      },
      { step: "initialize", name: "waitForOverwrite" },
    );
    await store.getFile("frames.zip", join(dir, "frames.zip"), {
      onProgress: (done) => {
        if (done >= PART && !overwrite) overwrite = writer.putFile("frames.zip", replacement).then(() => rm(replacement));
      },
    });
    assert.ok(overwrite, "the object was replaced during the download");
    assert.ok((await readFile(join(dir, "frames.zip"))).equals(replaced));
    assert.deepEqual(await readdir(dir), ["frames.zip"]);
  });

  it("lists 10,000 objects across pages, completely and in order", async () => {
    const bucket = await freshBucket();
    const store = server.store(bucket, { prefix: "big-project" });
    const keys = Array.from({ length: 10_000 }, (_, index) => `files/${String(index).padStart(5, "0")}.exr`);
    await server.seedObjects(bucket, [...keys.map((key) => `big-project/${key}`), "big-project/files.txt", "other/files/x.exr"]);
    const listed: string[] = [];
    for await (const object of store.list("files/")) listed.push(object.key);
    assert.equal(listed.length, 10_000);
    assert.deepEqual(listed, keys);
  });
});

describe("S3ObjectStore links and configuration", () => {
  it("presigns GET links for 5 minutes to 7 days and refuses other durations", async () => {
    const store = server.store(await freshBucket());
    await store.putBytes("out/thumbnail.jpg", "jpeg bytes");
    for (const seconds of [300, 604_800]) {
      const before = Date.now();
      const link = await store.linkFor("out/thumbnail.jpg", seconds);
      assert.match(link.url, new RegExp(`X-Amz-Expires=${seconds}`));
      assert.ok(Math.abs(link.expiresAt!.getTime() - (before + seconds * 1000)) < 5_000, "static keys: the asked lifetime");
      assert.equal(await (await fetch(link.url)).text(), "jpeg bytes");
    }
    for (const seconds of [299, 604_801, 0, -5, 3600.5]) {
      await assert.rejects(store.linkFor("out/thumbnail.jpg", seconds), (error: Error) => {
        assert.ok(error instanceof UserInputError);
        assert.match(error.message, /5 minutes to 7 days \(300 to 604800 seconds\)/);
        return true;
      });
    }
  });

  it("states the true expiry of links signed with expiring credentials (SSO, a role): theirs, when earlier than asked", async () => {
    const bucket = await freshBucket();
    const twoHours = new Date(Date.now() + 2 * 3600_000);
    const env = {
      BRENDER_STORAGE: `s3://${bucket}`,
      AWS_ENDPOINT_URL_S3: server.endpoint,
      AWS_ACCESS_KEY_ID: TEST_CREDENTIALS.accessKeyId,
      AWS_SECRET_ACCESS_KEY: TEST_CREDENTIALS.secretAccessKey,
      AWS_SESSION_TOKEN: "session-token",
      AWS_CREDENTIAL_EXPIRATION: twoHours.toISOString(),
    };
    const fromEnv = openObjectStore(env) as S3ObjectStore;
    const viaProvider = new S3ObjectStore({
      bucket,
      endpoint: server.endpoint,
      credentials: { ...TEST_CREDENTIALS, sessionToken: "session-token", expiration: twoHours },
    });
    for (const store of [fromEnv, viaProvider]) {
      const link = await store.linkFor("out/zip.zip", 604_800);
      assert.ok(link.expiresAt!.getTime() <= twoHours.getTime(), `expires ${link.expiresAt!.toISOString()}, credentials ${twoHours.toISOString()}`);
      const expires = Number(new URL(link.url).searchParams.get("X-Amz-Expires"));
      assert.ok(expires <= 7_200 && expires > 7_100, `the URL itself says ${expires} s, not 7 days`);
    }
  });

  it("describes keys as s3:// URLs with the prefix", () => {
    const store = new S3ObjectStore({ bucket: "renders", prefix: "/studio/a/", endpoint: server.endpoint, credentials: TEST_CREDENTIALS });
    assert.equal(store.describe("proj/scene.blend"), "s3://renders/studio/a/proj/scene.blend");
    assert.equal(store.describe("proj/output/"), "s3://renders/studio/a/proj/output/", "a prefix keeps its trailing slash");
    assert.equal(new S3ObjectStore({ bucket: "renders", region: "eu-west-1" }).describe("x"), "s3://renders/x");
  });

  it("parses s3://bucket[/prefix] and refuses malformed buckets and prefixes", () => {
    assert.deepEqual(parseS3Url("s3://renders"), { bucket: "renders", prefix: "" });
    assert.deepEqual(parseS3Url("s3://renders/"), { bucket: "renders", prefix: "" });
    assert.deepEqual(parseS3Url("s3://my.renders-2/team/shots/"), { bucket: "my.renders-2", prefix: "team/shots" });
    for (const bad of ["s3://", "s3://Renders", "s3://re", "s3://under_score", "s3://renders/a//b", "s3://renders/../x"]) {
      assert.throws(() => parseS3Url(bad), UserInputError, bad);
    }
    assert.throws(() => parseS3Url("s3://Bad_Bucket"), /invalid S3 bucket "Bad_Bucket"; bucket names are 3-63 lowercase letters/);
  });

  it("opens the store named by BRENDER_STORAGE: s3:// with AWS_ENDPOINT_URL_S3, folders and file:// as before", async (t) => {
    const bucket = await freshBucket();
    const env = {
      BRENDER_STORAGE: `s3://${bucket}/farm`,
      AWS_ENDPOINT_URL_S3: server.endpoint,
      AWS_ENDPOINT_URL: "http://127.0.0.1:1",
      AWS_ACCESS_KEY_ID: TEST_CREDENTIALS.accessKeyId,
      AWS_SECRET_ACCESS_KEY: TEST_CREDENTIALS.secretAccessKey,
    };
    const store = openObjectStore(env);
    assert.ok(store instanceof S3ObjectStore);
    assert.equal(store.endpoint, server.endpoint, "AWS_ENDPOINT_URL_S3 wins over AWS_ENDPOINT_URL");
    await checkBucketAccess(store);
    await store.putBytes("p/x.txt", "through the environment");
    assert.equal((await server.store(bucket).getBytes("farm/p/x.txt")).toString(), "through the environment");
    const { url: link } = await store.linkFor("p/x.txt", 600);
    assert.ok(link.startsWith(`${server.endpoint}/${bucket}/farm/p/x.txt?`), `path-style link: ${link}`);

    const generic = openObjectStore({ ...env, AWS_ENDPOINT_URL_S3: "" , AWS_ENDPOINT_URL: server.endpoint });
    assert.equal((generic as S3ObjectStore).endpoint, server.endpoint, "AWS_ENDPOINT_URL when there is no S3-specific one");

    const dir = await tempDir(t);
    const folder = openObjectStore({ BRENDER_STORAGE: dir });
    assert.ok(folder instanceof FsObjectStore);
    assert.ok(openObjectStore({ BRENDER_STORAGE: `file://${dir}` }) instanceof FsObjectStore);
    await checkBucketAccess(folder); // nothing to check for a folder
    assert.throws(() => openObjectStore({ BRENDER_STORAGE: "gs://bucket" }), /folder path, file:\/\/ URL or s3:\/\/bucket/);
    assert.throws(() => openObjectStore({ ...env, AWS_ENDPOINT_URL_S3: "127.0.0.1:9000" }), /is not an http\(s\) URL/);
  });
});

describe("S3ObjectStore errors: one line naming the bucket or endpoint and the fix", () => {
  const oneLine = (expected: RegExp) => (error: Error) => {
    assert.ok(error instanceof UserInputError, `a UserInputError (exit 2), got ${error.name}: ${error.message}`);
    assert.equal(error.exitCode, 2);
    assert.doesNotMatch(error.message, /\n/);
    assert.match(error.message, expected);
    return true;
  };

  it("a missing bucket", async () => {
    const store = server.store("no-such-bucket");
    const expected = new RegExp(`^S3 bucket "no-such-bucket" does not exist at ${server.endpoint} — create it or check --storage`);
    await assert.rejects(checkBucketAccess(store), oneLine(expected));
    await assert.rejects(store.putBytes("x", "y"), oneLine(expected));
    await assert.rejects(async () => {
      for await (const _ of store.list("")) break;
    }, oneLine(expected));
  });

  it("credentials the server refuses", async (t) => {
    const endpoint = await startRefusingS3Server(t);
    const store = new S3ObjectStore({ bucket: "renders", endpoint, credentials: { accessKeyId: "wrong", secretAccessKey: "wrong" } });
    const refused = new RegExp(`^The credentials were refused by ${endpoint} for S3 bucket "renders" \\((InvalidAccessKeyId|403 Forbidden)\\): check AWS_PROFILE / AWS_ACCESS_KEY_ID`);
    await assert.rejects(checkBucketAccess(store), oneLine(refused));
    await assert.rejects(store.putBytes("x", "y"), oneLine(/\(InvalidAccessKeyId\)/));
    await assert.rejects(store.getBytes("x"), oneLine(refused));
  });

  it("an unreachable endpoint (connection refused)", async () => {
    const endpoint = `http://127.0.0.1:${await closedPort()}`;
    const store = new S3ObjectStore({ bucket: "renders", endpoint, credentials: TEST_CREDENTIALS });
    const expected = new RegExp(`^Cannot reach the S3 endpoint ${endpoint} \\(connection refused\\): is the server running\\? check AWS_ENDPOINT_URL_S3`);
    await assert.rejects(checkBucketAccess(store), oneLine(expected));
    await assert.rejects(store.stat("x"), oneLine(expected));
  });

  it("no credentials at all, or a profile without any (in a clean environment)", async (t) => {
    const home = await tempDir(t);
    const script = [
      `import { openObjectStore } from ${JSON.stringify(join(REPO, "src/storage/open-store.ts"))};`,
      `import { checkBucketAccess } from ${JSON.stringify(join(REPO, "src/storage/s3-store.ts"))};`,
      "try { await checkBucketAccess(openObjectStore()); console.log('accessible'); }",
      "catch (error) { console.log(JSON.stringify({ name: error.name, message: error.message })); }",
    ].join("\n");
    const run = async (extra: Record<string, string>) => {
      const env = {
        PATH: process.env.PATH ?? "",
        HOME: home, // no ~/.aws here
        AWS_EC2_METADATA_DISABLED: "true", // no waiting for an instance role off EC2
        AWS_CONFIG_FILE: join(home, "config"),
        AWS_SHARED_CREDENTIALS_FILE: join(home, "credentials"),
        BRENDER_STORAGE: "s3://renders/farm",
        AWS_ENDPOINT_URL_S3: server.endpoint,
        ...extra,
      };
      const { stdout } = await promisify(execFile)(process.execPath, ["--input-type=module", "-e", script], { env });
      return JSON.parse(stdout) as { name: string; message: string };
    };
    const none = await run({});
    assert.equal(none.name, "UserInputError");
    assert.equal(none.message, 'No AWS credentials found for S3 bucket "renders": set AWS_PROFILE, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (or run "aws configure").');
    const profile = await run({ AWS_PROFILE: "studio" });
    assert.match(profile.message, /^AWS profile "studio" \(AWS_PROFILE\) has no usable credentials for S3 bucket "renders": check ~\/\.aws\/config/);
  });

  it("an unfinished multipart upload is visible to the test server (the abort test is not vacuous)", async () => {
    const bucket = await freshBucket();
    const store = server.store(bucket);
    const before = server.openMultipartUploads().length;
    const { UploadId } = await store.client.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: "left/open" }));
    assert.equal(server.openMultipartUploads().length, before + 1);
    await store.client.send(new AbortMultipartUploadCommand({ Bucket: bucket, Key: "left/open", UploadId }));
    assert.equal(server.openMultipartUploads().length, before);
  });
});
