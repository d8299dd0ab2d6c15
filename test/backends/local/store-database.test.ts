import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import { StoreDatabase } from "../../../src/backends/local/store/database.ts";

function fresh(): StoreDatabase {
  const sqlite = new DatabaseSync(":memory:");
  sqlite.exec("CREATE TABLE t (v INTEGER)");
  return new StoreDatabase(sqlite, () => 42);
}

const values = (db: StoreDatabase): number[] => (db.sql("SELECT v FROM t ORDER BY v").all() as { v: number }[]).map((row) => row.v);

describe("store database", () => {
  it("prepares each SQL text once", () => {
    const db = fresh();
    assert.equal(db.sql("SELECT v FROM t"), db.sql("SELECT v FROM t"));
    assert.notEqual(db.sql("SELECT v FROM t"), db.sql("SELECT v FROM t WHERE v > 0"));
    db.close();
  });

  it("commits a transaction and returns its result", () => {
    const db = fresh();
    assert.equal(db.transaction(() => db.sql("INSERT INTO t VALUES (?)").run(1).changes), 1);
    assert.deepEqual(values(db), [1]);
    db.close();
  });

  it("rolls back everything, nested work included, when the body throws", () => {
    const db = fresh();
    const failure = new Error("boom");
    assert.throws(
      () =>
        db.transaction(() => {
          db.sql("INSERT INTO t VALUES (?)").run(1);
          db.transaction(() => db.sql("INSERT INTO t VALUES (?)").run(2));
          throw failure;
        }),
      (error) => error === failure,
    );
    assert.deepEqual(values(db), []);
    db.transaction(() => db.sql("INSERT INTO t VALUES (?)").run(3));
    assert.deepEqual(values(db), [3]);
    db.close();
  });

  it("tells the time by the clock it was given", () => {
    const db = fresh();
    assert.equal(db.now(), 42);
    db.close();
  });
});
