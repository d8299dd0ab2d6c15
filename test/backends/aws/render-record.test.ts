import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  findRenderRecord,
  listRenderRecords,
  loadRenderRecord,
  renderRecordPath,
  renderRecordsDir,
  saveRenderRecord,
  type AwsRenderRecord,
} from "../../../src/backends/aws/render-record.ts";
import { parseRenderPayload } from "../../../src/domain/render-payload.ts";
import { UserInputError } from "../../../src/errors.ts";

let home: string;
before(async () => {
  home = await mkdtemp(join(tmpdir(), "brender-records-"));
});
after(async () => {
  await rm(home, { recursive: true, force: true });
});

function recordFor(renderId: string, submittedAt: string): AwsRenderRecord {
  return {
    renderId,
    farm: "studio",
    region: "eu-west-1",
    profile: "render",
    storage: "s3://brender-studio-bucket",
    payload: parseRenderPayload({ schemaVersion: 1, renderId, project: { name: "spring", blendFile: "scene.blend" }, type: "animation", frames: "1-8", split: { arraySize: 2 } }),
    bucketKey: `spring/projects/${renderId}.manifest.json`,
    submittedAt,
    jobs: [
      { name: `${renderId}-copy`, action: "copy_efs", jobId: "11111111-1111-4111-8111-111111111111", arraySize: 1 },
      { name: `${renderId}-render`, action: "render", jobId: "22222222-2222-4222-8222-222222222222", arraySize: 2 },
      { name: `${renderId}-upload`, action: "upload_render_output", jobId: "33333333-3333-4333-8333-333333333333", arraySize: 1 },
    ],
  };
}

const rejectsWith = (pattern: RegExp) => (error: unknown) => {
  assert.ok(error instanceof UserInputError, String(error));
  assert.match(error.message, pattern);
  return true;
};

describe("render records", () => {
  it("saves a record under $BRENDER_HOME/aws-renders/<renderId>.json and loads it back unchanged", async () => {
    const record = recordFor("r-20261122-100000-000001", "2026-11-22T10:00:00.000Z");
    const path = await saveRenderRecord(home, record);
    assert.equal(path, join(home, "aws-renders", "r-20261122-100000-000001.json"));
    assert.deepEqual(await loadRenderRecord(home, record.renderId), record);
    assert.deepEqual(JSON.parse(await readFile(path, "utf8")), record);
    // Written through a temp file that is renamed: nothing else is left in the folder.
    assert.deepEqual(await readdir(renderRecordsDir(home)), ["r-20261122-100000-000001.json"]);
  });

  it("refuses records AWS work could not come from", async () => {
    const record = recordFor("r-20261122-100000-000009", "2026-11-22T10:00:00.000Z");
    await assert.rejects(saveRenderRecord(home, { ...record, storage: "/tmp/bucket" }));
    await assert.rejects(saveRenderRecord(home, { ...record, renderId: "r-20261122-100000-000008" }), /payload\.renderId differs/);
    await assert.rejects(saveRenderRecord(home, { ...record, jobs: [] }));
    await assert.rejects(loadRenderRecord(home, record.renderId), rejectsWith(/^No AWS render "r-20261122-100000-000009" on this machine/));
  });

  it("never turns a render id into a path outside the folder", () => {
    assert.throws(() => renderRecordPath(home, "../../etc/passwd"), rejectsWith(/^Render id "\.\.\/\.\.\/etc\/passwd" is not valid/));
    assert.throws(() => renderRecordPath(home, "R-UPPER"), UserInputError);
  });

  it("names a damaged record and how to fix it", async () => {
    const path = renderRecordPath(home, "r-damaged-0001");
    await writeFile(path, "{ not json");
    await assert.rejects(loadRenderRecord(home, "r-damaged-0001"), rejectsWith(/r-damaged-0001\.json is not JSON: delete it/));
    await writeFile(path, JSON.stringify({ ...recordFor("r-damaged-0001", "2026-11-22T10:00:00.000Z"), region: "" }));
    await assert.rejects(loadRenderRecord(home, "r-damaged-0001"), rejectsWith(/r-damaged-0001\.json is damaged \(region: .*\): delete it/));
    await rm(path);
  });

  it("lists records newest first, skipping unreadable files", async () => {
    const other = await mkdtemp(join(tmpdir(), "brender-records-list-"));
    try {
      assert.deepEqual(await listRenderRecords(other), [], "no folder yet");
      await saveRenderRecord(other, recordFor("r-20261120-000000-000001", "2026-11-20T00:00:00.000Z"));
      await saveRenderRecord(other, recordFor("r-20261122-000000-000001", "2026-11-22T00:00:00.000Z"));
      await saveRenderRecord(other, recordFor("r-20261121-000000-000001", "2026-11-21T00:00:00+02:00"));
      await writeFile(join(renderRecordsDir(other), "r-broken.json"), "[]");
      await writeFile(join(renderRecordsDir(other), "notes.txt"), "not a record");
      assert.deepEqual(
        (await listRenderRecords(other)).map((record) => record.renderId),
        ["r-20261122-000000-000001", "r-20261121-000000-000001", "r-20261120-000000-000001"],
      );
    } finally {
      await rm(other, { recursive: true, force: true });
    }
  });

  it("finds a render by its id or an unambiguous start of it", async () => {
    const other = await mkdtemp(join(tmpdir(), "brender-records-find-"));
    try {
      for (const id of ["r-20261122-000000-000001", "r-20261122-000000-000002", "r-20261123-000000-000001", "r-2026"]) {
        await saveRenderRecord(other, recordFor(id, "2026-11-22T00:00:00.000Z"));
      }
      assert.equal((await findRenderRecord(other, "r-20261123"))?.renderId, "r-20261123-000000-000001");
      assert.equal((await findRenderRecord(other, "r-20261122-000000-000002"))?.renderId, "r-20261122-000000-000002");
      // An exact id wins even when it is also the start of others.
      assert.equal((await findRenderRecord(other, "r-2026"))?.renderId, "r-2026");
      assert.equal(await findRenderRecord(other, "r-2027"), undefined, "no AWS render: the caller may look in the local farm");
      assert.equal(await findRenderRecord(other, ""), undefined);
      await assert.rejects(
        findRenderRecord(other, "r-20261122"),
        rejectsWith(/^"r-20261122" matches 2 AWS renders \(r-20261122-000000-000001, r-20261122-000000-000002\); give more of the id\.$/),
      );
    } finally {
      await rm(other, { recursive: true, force: true });
    }
  });
});
