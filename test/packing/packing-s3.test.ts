import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { awsPlan } from "../../src/backends/aws/submit-render.ts";
import type { FarmResources } from "../../src/backends/aws/farm-resources.ts";
import { inspectBlendFile } from "../../src/blender/inspect.ts";
import { manifestPathOf } from "../../src/domain/dependencies.ts";
import { parseRenderPayload } from "../../src/domain/render-payload.ts";
import { outputLayout, workLayout } from "../../src/domain/layout.ts";
import { packDependencies, projectRootOf } from "../../src/packing/pack.ts";
import { uploadProject } from "../../src/storage/content-upload.ts";
import { manifestKeyFor } from "../../src/storage/project-manifest.ts";
import { brender, pixels, tempDir } from "../helpers/blender.ts";
import { blenderMovingAway, makeDepsScene, moveBack, renderDirect } from "../helpers/deps-scene.ts";
import { startS3Server, TEST_CREDENTIALS, type S3TestServer } from "../helpers/s3-server.ts";

let server: S3TestServer;
before(async () => {
  server = await startS3Server(undefined, ["renders", "farm-bucket"]);
});
after(() => server.stop());

const s3Env = (home: string) => ({
  BRENDER_HOME: home,
  AWS_ENDPOINT_URL_S3: server.endpoint,
  AWS_ACCESS_KEY_ID: TEST_CREDENTIALS.accessKeyId,
  AWS_SECRET_ACCESS_KEY: TEST_CREDENTIALS.secretAccessKey,
  AWS_REGION: "us-east-1",
});

async function assertSameFrame(ours: string, direct: string): Promise<void> {
  assert.ok((await pixels(ours)).data.equals((await pixels(direct)).data), `${ours} differs from ${direct}`);
}

describe("packing through S3 (S3-compatible server on loopback, real Blender)", () => {
  it("--storage s3://: the originals moved away, frames are pixel-identical; a re-submit uploads 0 bytes", async (t) => {
    const home = await tempDir(t);
    const scene = await makeDepsScene(join(home, "files"), join(home, "elsewhere"));
    await renderDirect(scene.blend, join(home, "direct"), [3]);
    const originals = [scene.root, scene.outside];
    const kept = join(home, "kept-frames");
    const blender = await blenderMovingAway(home, originals, { keepFramesIn: kept });
    const env = s3Env(join(home, "farm"));
    const first = await brender(["render", scene.blend, "--frames", "3", "--storage", "s3://renders/team", "--json"], { ...env, BLENDER_EXECUTABLE: blender });
    assert.equal(first.code, 0, first.stderr);
    const summary = JSON.parse(first.stdout);
    assert.equal(summary.status, "SUCCEEDED");
    assert.deepEqual(summary.warnings, []);
    assert.equal(summary.upload.dependencies.outside, 9);
    const keys: string[] = [];
    for await (const object of server.store("renders", { prefix: "team" }).list("")) keys.push(object.key);
    assert.ok(keys.some((key) => key.startsWith("cas/sha256/")) && keys.includes(`shot/projects/${summary.renderId}.manifest.json`));
    // The frame as rendered: the test server (fauxqs) replaces a tagged object's body with its tags, so the bucket's copy is not comparable.
    await assertSameFrame(join(kept, "frame_0003.png"), join(home, "direct", "f_0003.png"));

    await moveBack(originals);
    const again = JSON.parse((await brender(["render", scene.blend, "--frames", "3", "--storage", "s3://renders/team", "--json"], env)).stdout);
    assert.equal(again.status, "SUCCEEDED");
    assert.equal(again.upload.bytesUploaded, 0);
  });

  it("the AWS plan's copy job brings the same files, and its render job renders the original's pixels", async (t) => {
    const home = await tempDir(t);
    const scene = await makeDepsScene(join(home, "files"), join(home, "elsewhere"));
    await renderDirect(scene.blend, join(home, "direct"), [1]);
    const source = { kind: "file" as const, path: scene.blend };
    const inspection = await inspectBlendFile(scene.blend);
    const packed = await packDependencies(inspection.dependencies ?? [], source);
    t.after(() => packed.dispose());
    const payload = parseRenderPayload({
      schemaVersion: 1, renderId: "r-packing-aws", project: { name: "shot", blendFile: "shot.blend" }, type: "still", frames: "1",
    });
    const bucketKey = manifestKeyFor("shot", payload.renderId);
    const farm = {
      name: "test", region: "us-east-1", bucket: "farm-bucket", queues: { io: "io" }, fairShareQueues: [],
      jobDefinitions: [{ blenderVersion: "3.4", arn: "arn:aws:batch:us-east-1:000000000000:job-definition/brender-3-4:1" }],
      notification: {}, logGroup: "/brender",
    } satisfies FarmResources;
    await uploadProject(server.store("farm-bucket"), packed.source, bucketKey);
    const { plan } = awsPlan(payload, farm, bucketKey);

    const originals = [scene.root, scene.outside];
    const blender = await blenderMovingAway(home, originals);
    const worker = join(home, "worker");
    const run = (index: number) =>
      brender(["worker"], { ...s3Env(worker), ...plan[index]!.environment, JOB_ACTION_TYPE: plan[index]!.action, BLENDER_EXECUTABLE: blender, BRENDER_LOG_LEVEL: "error" });
    const copied = await run(0);
    assert.equal(copied.code, 0, copied.stderr);
    const project = workLayout(join(worker, "work"), payload.renderId).project;
    const root = projectRootOf(source);
    for (const dependency of inspection.dependencies ?? []) {
      for (const file of dependency.files) {
        const copy = join(project, ...manifestPathOf(file, root).split("/"));
        assert.ok((await readFile(copy)).equals(await readFile(file)), `${file} arrived as ${copy}`);
      }
    }
    const rendered = await run(1);
    assert.equal(rendered.code, 0, rendered.stderr);
    const frames = outputLayout(workLayout(join(worker, "work"), payload.renderId).output).frames;
    await assertSameFrame(join(frames, "frame_0001.png"), join(home, "direct", "f_0001.png"));
  });
});
