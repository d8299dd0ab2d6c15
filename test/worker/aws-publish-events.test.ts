/**
 * Publishing a render child's events file into the object store: the
 * periodic publisher against the filesystem store and the S3 test server,
 * and the render / custom_render_python actions with BRENDER_PUBLISH_EVENTS=1.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { appendFile, mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { pino } from "pino";
import { workLayout } from "../../src/domain/layout.ts";
import { FsObjectStore } from "../../src/storage/fs-store.ts";
import type { ObjectStore } from "../../src/storage/object-store.ts";
import { runWorker } from "../../src/worker/main.ts";
import { publishedEventsKey, startEventPublisher, withPublishedEvents } from "../../src/worker/publish-events.ts";
import { makeScene, tempDir } from "../helpers/blender.ts";
import { startS3Server, TEST_CREDENTIALS } from "../helpers/s3-server.ts";
import { payloadFor } from "./harness.ts";

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Wraps a store to count putBytes calls, and to fail them on demand. */
function countingStore(inner: ObjectStore) {
  const state = { puts: 0, failing: false };
  const store: ObjectStore = Object.create(inner) as ObjectStore;
  store.putBytes = async (key, data) => {
    if (state.failing) throw new Error("connect ECONNREFUSED 127.0.0.1:9");
    state.puts += 1;
    await inner.putBytes(key, data);
  };
  store.describe = (key) => inner.describe(key);
  return { store, state };
}

describe("startEventPublisher", () => {
  it("copies the file on each tick only when it changed, and once more at stop", async (t) => {
    const home = await tempDir(t);
    const file = join(home, "events", "render-0.jsonl");
    const { store, state } = countingStore(new FsObjectStore(join(home, "bucket")));
    const key = publishedEventsKey("proj", "r-1", 0);
    assert.equal(key, "proj/output/r-1/events/render-0.jsonl");

    const publisher = startEventPublisher({ file, store, key, intervalMs: 30 });
    await sleep(100);
    assert.equal(state.puts, 0, "no file yet, nothing published");
    await mkdir(join(home, "events"));
    await writeFile(file, '{"type":"child_started"}\n');
    await sleep(100);
    assert.equal((await store.getBytes(key)).toString(), '{"type":"child_started"}\n');
    const afterFirst = state.puts;
    await sleep(150);
    assert.equal(state.puts, afterFirst, "unchanged file, no new copies");
    await appendFile(file, '{"type":"frame_finished"}\n');
    await publisher.stop();
    assert.equal((await store.getBytes(key)).toString(), '{"type":"child_started"}\n{"type":"frame_finished"}\n');
    const atStop = state.puts;
    await appendFile(file, '{"type":"late"}\n');
    await sleep(100);
    assert.equal(state.puts, atStop, "stopped: no more copies");
  });

  it("warns and carries on when the store fails", async (t) => {
    const home = await tempDir(t);
    const file = join(home, "render-0.jsonl");
    await writeFile(file, "a\n");
    const { store, state } = countingStore(new FsObjectStore(join(home, "bucket")));
    const warnings: string[] = [];
    state.failing = true;
    const publisher = startEventPublisher({ file, store, key: "p/output/r/events/render-0.jsonl", intervalMs: 20, warn: (message) => warnings.push(message) });
    await sleep(80);
    assert.ok(warnings.length >= 1);
    assert.match(warnings[0]!, /Could not publish progress events to .*render-0\.jsonl: connect ECONNREFUSED/);
    state.failing = false;
    // The store is back: the file is published although it did not change meanwhile.
    await publisher.stop();
    assert.equal((await store.getBytes("p/output/r/events/render-0.jsonl")).toString(), "a\n");
  });

  it("publishes to S3 while the work runs and after it fails", async (t) => {
    const s3 = await startS3Server(t, ["farm"]);
    const store = s3.store("farm");
    const home = await tempDir(t);
    const events = join(home, "events");
    await mkdir(events);
    const key = publishedEventsKey("proj", "r-2", 3);
    const context = { env: { BRENDER_PUBLISH_EVENTS: true }, store, log: { warn: (message: string) => assert.fail(message) } };
    await assert.rejects(
      withPublishedEvents(
        context,
        { eventsFolder: events, projectName: "proj", renderId: "r-2", child: 3 },
        async () => {
          await writeFile(join(events, "render-3.jsonl"), "one\n");
          await sleep(120);
          // Seen by a monitor while the child still runs.
          assert.equal((await store.getBytes(key)).toString(), "one\n");
          await appendFile(join(events, "render-3.jsonl"), "two\n");
          throw new Error("Blender crashed");
        },
        40,
      ),
      /Blender crashed/,
    );
    assert.equal((await store.getBytes(key)).toString(), "one\ntwo\n");
  });

  it("does nothing without BRENDER_PUBLISH_EVENTS", async (t) => {
    const home = await tempDir(t);
    const { store, state } = countingStore(new FsObjectStore(join(home, "bucket")));
    await writeFile(join(home, "render-0.jsonl"), "x\n");
    const result = await withPublishedEvents(
      { env: { BRENDER_PUBLISH_EVENTS: false }, store, log: { warn: () => {} } },
      { eventsFolder: home, projectName: "p", renderId: "r", child: 0 },
      async () => 42,
      10,
    );
    assert.equal(result, 42);
    assert.equal(state.puts, 0);
  });
});

describe("render actions with BRENDER_PUBLISH_EVENTS=1", () => {
  const silent = pino({ level: "silent" });

  async function setup(t: { after: (fn: () => Promise<void>) => void }) {
    const s3 = await startS3Server(t, ["farm"]);
    const home = await tempDir(t);
    const env = {
      BRENDER_HOME: home,
      EFS_BLENDER_FOLDER_PATH: join(home, "work"),
      BRENDER_STORAGE: "s3://farm",
      AWS_ENDPOINT_URL_S3: s3.endpoint,
      AWS_REGION: "us-east-1",
      AWS_ACCESS_KEY_ID: TEST_CREDENTIALS.accessKeyId,
      AWS_SECRET_ACCESS_KEY: TEST_CREDENTIALS.secretAccessKey,
      BRENDER_PUBLISH_EVENTS: "1",
    };
    return { store: s3.store("farm"), home, env };
  }

  it("render: the child's events file ends up in the bucket, the same bytes as in the work folder", async (t) => {
    const { store, home, env } = await setup(t);
    const renderId = "r-20261122-000000-000010";
    const layout = workLayout(join(home, "work"), renderId);
    await mkdir(layout.project, { recursive: true });
    await makeScene(join(layout.project, "scene.blend"), { frames: [1, 2] });
    const payload = payloadFor(renderId, { frames: "1-2" });
    const result = await runWorker({
      env: { ...env, JOB_ACTION_TYPE: "render", BRENDER_JOB_PAYLOAD: JSON.stringify(payload) },
      stdout: () => {},
      log: silent,
    });
    assert.deepEqual(result, { exitCode: 0 });
    const published = (await store.getBytes(publishedEventsKey("proj", renderId, 0))).toString();
    assert.equal(published, await readFile(join(layout.events, "render-0.jsonl"), "utf8"));
    const types = published.trim().split("\n").map((line) => (JSON.parse(line) as { type: string }).type);
    assert.equal(types[0], "child_started");
    assert.equal(types.at(-1), "child_finished");
    assert.equal(types.filter((type) => type === "frame_finished").length, 2);
  });

  it("custom_render_python: a failing child's events are published too", async (t) => {
    const { store, env } = await setup(t);
    const renderId = "r-20261122-000000-000011";
    const payload = payloadFor(renderId, { type: "python", python: { script: "make.py" } });
    // No project was copied: the job fails after reporting its start.
    const result = await runWorker({
      env: { ...env, JOB_ACTION_TYPE: "custom_render_python", BRENDER_JOB_PAYLOAD: JSON.stringify(payload), AWS_BATCH_JOB_ARRAY_INDEX: "0" },
      stdout: () => {},
      log: silent,
    });
    assert.notEqual(result.exitCode, 0);
    const published = (await store.getBytes(publishedEventsKey("proj", renderId, 0))).toString();
    assert.match(published, /^\{"type":"child_started","child":0,/);
  });
});
