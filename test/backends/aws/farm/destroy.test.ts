/** destroyFarm against the fake cloud (fake-cloud.ts): the --yes guard, what is emptied first, failures. */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { DeleteObjectsCommand } from "@aws-sdk/client-s3";
import { BrenderError, UserInputError } from "../../../../src/errors.ts";
import { destroyFarm } from "../../../../src/backends/aws/farm/destroy.ts";
import { reports, withCloud } from "./fake-cloud.ts";

describe("destroyFarm", () => {
  it("without --yes refuses, exit 2, and calls nothing", withCloud(async (cloud) => {
    await assert.rejects(destroyFarm({ name: "demo", yes: false }, cloud.deps()), (error: unknown) => {
      assert.ok(error instanceof UserInputError);
      assert.equal(error.exitCode, 2);
      assert.match(error.message, /add --yes to delete farm demo and all its renders/);
      return true;
    });
    assert.deepEqual(cloud.log, []);
    for (const mock of Object.values(cloud.mocks)) assert.equal(mock.calls().length, 0);
  }));

  it("empties the bucket (every version, in pages and batches of 1000) and the image repository before DeleteStack", withCloud(async (cloud) => {
    await cloud.deploy({ blenderVersions: ["3.6.0", "4.2.0"], email: "renders@example.com" });
    const bucket = cloud.buckets.get(cloud.bucketName)!;
    for (let index = 0; index < 2400; index += 1) bucket.set(`project/${String(index).padStart(5, "0")}`, [{ body: "x", metadata: {} }]);
    bucket.get("project/00000")!.push({ body: "second version", metadata: {} });
    cloud.images.set("sha256:untagged", []);
    const objects = [...bucket.values()].flat().length;
    cloud.log.length = 0;

    const result = await destroyFarm({ name: "demo", yes: true }, cloud.deps());

    assert.equal(result.objectsDeleted, objects);
    assert.equal(result.imagesDeleted, 3, "both tagged images and the untagged one");
    assert.equal(cloud.images.size, 0);
    assert.equal(cloud.buckets.has(cloud.bucketName), false, "the stack deleted the emptied bucket");
    assert.equal(cloud.stacks.get("brender-farm-demo")?.StackStatus, "DELETE_COMPLETE");
    assert.equal(result.emailIdentityDeleted, "renders@example.com");
    assert.equal(cloud.identities.size, 0);

    const lists = cloud.log.filter((entry) => entry === "ListObjectVersions").length;
    assert.equal(lists, Math.ceil(objects / 1000), "followed every page");
    const deletes = cloud.log.filter((entry) => entry.startsWith("DeleteObjects:")).map((entry) => Number(entry.split(":")[1]));
    assert.ok(deletes.every((count) => count <= 1000));
    assert.equal(deletes.reduce((sum, count) => sum + count, 0), objects);
    const deleteStack = cloud.log.indexOf("DeleteStack");
    assert.ok(deleteStack > cloud.log.lastIndexOf(`DeleteObjects:${deletes.at(-1)}`));
    assert.ok(deleteStack > cloud.log.lastIndexOf("BatchDeleteImage"));
    assert.ok(deleteStack > cloud.log.indexOf("DeleteEmailIdentity"));
    assert.match(reports(cloud.log).join("\n"), new RegExp(`removed stack brender-farm-demo, ${objects} object versions, 3 images, SES identity renders@example.com`));
  }));

  it("keeps an SES identity deploy did not create", withCloud(async (cloud) => {
    cloud.identities.set("me@example.com", { tags: [], verified: true });
    const result = await cloud.deploy({ email: "me@example.com" });
    assert.equal(result.email, "verified");
    await destroyFarm({ name: "demo", yes: true }, cloud.deps());
    assert.ok(cloud.identities.has("me@example.com"));
    assert.equal(cloud.log.includes("DeleteEmailIdentity"), false);
  }));

  it("a farm that does not exist is a UserInputError naming the fix", withCloud(async (cloud) => {
    await assert.rejects(destroyFarm({ name: "ghost", yes: true }, cloud.deps()), (error: unknown) => error instanceof UserInputError && /No Brender farm "ghost" in eu-west-1/.test(error.message));
  }));

  it("a failed delete names the resource and its reason", withCloud(async (cloud) => {
    await cloud.deploy();
    // Something lands in the bucket after it was emptied (a render finishing).
    cloud.mocks.s3.on(DeleteObjectsCommand).callsFake(() => ({ Deleted: [] }));
    const failure = await destroyFarm({ name: "demo", yes: true }, cloud.deps()).catch((error: unknown) => error);
    assert.ok(failure instanceof BrenderError && failure.exitCode === 1);
    assert.match(failure.message, /Deleting farm "demo" failed \(Bucket: The bucket you tried to delete is not empty\): .*destroy demo --yes/);
  }));
});
