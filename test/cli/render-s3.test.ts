import { describe, it, before, after } from "node:test";
import assert from "node:assert/strict";
import { readdir } from "node:fs/promises";
import { join } from "node:path";
import { brender, makeScene, tempDir } from "../helpers/blender.ts";
import { closedPort, startS3Server, TEST_CREDENTIALS, type S3TestServer } from "../helpers/s3-server.ts";

let server: S3TestServer;
before(async () => {
  server = await startS3Server(undefined, ["renders"]);
});
after(() => server.stop());

const s3Env = (home: string, endpoint = server.endpoint) => ({
  BRENDER_HOME: home,
  AWS_ENDPOINT_URL_S3: endpoint,
  AWS_ACCESS_KEY_ID: TEST_CREDENTIALS.accessKeyId,
  AWS_SECRET_ACCESS_KEY: TEST_CREDENTIALS.secretAccessKey,
  AWS_REGION: "us-east-1",
});

describe("brender render --storage s3://… (S3-compatible server on loopback, real Blender)", () => {
  it("keeps project and outputs in the bucket; an unchanged re-submit uploads no file bytes; download and presigned links work", async (t) => {
    const home = await tempDir(t);
    const blend = await makeScene(join(home, "shot.blend"), { frames: [1, 2], resolution: [16, 16], samples: 1 });
    const first = await brender(["render", blend, "--storage", "s3://renders/team", "--json"], s3Env(home));
    assert.equal(first.code, 0, first.stderr);
    const summary = JSON.parse(first.stdout);
    assert.equal(summary.status, "SUCCEEDED");
    assert.match(summary.outputs.location, /^s3:\/\/renders\/team\/shot\/output\/r-/);
    assert.equal(summary.upload.files, 1);
    assert.ok(summary.upload.bytesUploaded > 0);

    const keys: string[] = [];
    for await (const object of server.store("renders", { prefix: "team" }).list("")) keys.push(object.key);
    assert.ok(keys.some((key) => key.startsWith("cas/sha256/")), "the project is stored by content");
    assert.ok(keys.includes(`shot/output/${summary.renderId}/manifest.json`));
    assert.ok(keys.includes(`shot/output/${summary.renderId}/frames/frame_0002.png`));
    assert.equal(await readdir(join(home, "bucket")).catch(() => "absent"), "absent", "nothing went to the local store");

    const again = JSON.parse((await brender(["render", blend, "--storage", "s3://renders/team", "--json"], s3Env(home))).stdout);
    assert.equal(again.status, "SUCCEEDED");
    assert.deepEqual(again.upload, { files: 1, bytesUploaded: 0, bytesSkipped: summary.upload.bytesUploaded });

    const got = join(home, "got");
    const download = await brender(["download", summary.renderId, got], s3Env(home));
    assert.equal(download.code, 0, download.stderr);
    assert.deepEqual((await readdir(join(got, "frames"))).sort(), ["frame_0001.png", "frame_0002.png"]);
    const links = JSON.parse((await brender(["link", summary.renderId, "--json"], s3Env(home))).stdout);
    const response = await fetch(links.links["manifest.json"]);
    assert.equal(response.status, 200);
    assert.equal(((await response.json()) as { renderId: string }).renderId, summary.renderId);

    // Under SSO or a role the keys expire (here in 2 h): the links die with them, and `link` says so instead of "7 days".
    const credentialsExpire = new Date(Date.now() + 2 * 3600_000);
    const session = { ...s3Env(home), AWS_SESSION_TOKEN: "sso-session", AWS_CREDENTIAL_EXPIRATION: credentialsExpire.toISOString() };
    const text = await brender(["link", summary.renderId, "--expires", "7d"], session);
    assert.equal(text.code, 0, text.stderr);
    const stated = /These links work until (\S+), in (1h 59m \d\ds|2h 00m 00s) \(not the 7d asked: the credentials that signed them expire then\)\./.exec(text.stdout);
    assert.ok(stated, text.stdout);
    assert.ok(Date.parse(stated[1]!) <= credentialsExpire.getTime());
    const json = JSON.parse((await brender(["link", summary.renderId, "--expires", "7d", "--json"], session)).stdout);
    assert.equal(json.requestedSeconds, 604_800);
    assert.ok(json.expiresSeconds <= 7_200 && Date.parse(json.expiresAt) <= credentialsExpire.getTime(), JSON.stringify(json));
  });

  it("refuses a missing bucket or an unreachable endpoint in one line, exit 2, submitting nothing", async (t) => {
    const home = await tempDir(t);
    const blend = await makeScene(join(home, "shot.blend"), { frames: [1, 1], resolution: [16, 16], samples: 1 });
    const missing = await brender(["render", blend, "--storage", "s3://no-such-bucket"], s3Env(home));
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /no-such-bucket/);
    assert.equal(missing.stderr.trim().split("\n").length, 1, missing.stderr);
    const down = await brender(["render", blend, "--storage", "s3://renders"], s3Env(home, `http://127.0.0.1:${await closedPort()}`));
    assert.equal(down.code, 2);
    assert.match(down.stderr, /Cannot reach the S3 endpoint http:\/\/127\.0\.0\.1:\d+/);
    const jobs = await brender(["jobs", "--json"], { BRENDER_HOME: home });
    assert.deepEqual(JSON.parse(jobs.stdout), []);
  });
});
