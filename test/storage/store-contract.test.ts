import { after, before } from "node:test";
import { join } from "node:path";
import { FsObjectStore } from "../../src/storage/fs-store.ts";
import { tempDir } from "../helpers/blender.ts";
import { startS3Server, type S3TestServer } from "../helpers/s3-server.ts";
import { objectStoreContract } from "./contract.ts";

objectStoreContract("FsObjectStore", async (t) => new FsObjectStore(join(await tempDir(t), "bucket")));

let server: S3TestServer | undefined;
before(async () => {
  server = await startS3Server(undefined, ["contract", "contract-bare"]);
});
after(() => server?.stop());

let storeCount = 0;
// Each test gets its own prefix in a shared bucket, which also checks that a
// prefixed store sees only its own keys.
objectStoreContract("S3ObjectStore (prefixed)", async () => server!.store("contract", { prefix: `run-${++storeCount}/nested` }));

// And one store on a whole bucket, no prefix: emptied before each test.
objectStoreContract("S3ObjectStore (whole bucket)", async () => {
  const store = server!.store("contract-bare");
  for await (const object of store.list("")) await store.delete(object.key);
  return store;
});
