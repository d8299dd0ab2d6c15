import assert from "node:assert/strict";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { describe, it } from "node:test";
import { IO_DEFINITION, openLocalFarm, RENDER_DEFINITION, submitPlanFor } from "../../../src/backends/local/farm.ts";
import { compileRenderPlan } from "../../../src/domain/render-plan.ts";
import { parseRenderPayload } from "../../../src/domain/render-payload.ts";
import { LocalRenderBackend } from "../../../src/renders/local.ts";
import { tempDir } from "../../helpers/blender.ts";

const payloadOf = (renderId: string, frames = "1-4") =>
  parseRenderPayload({ schemaVersion: 1, renderId, project: { name: "spring", blendFile: "a.blend" }, type: "animation", frames, split: { arraySize: 2 } });

describe("the renders table", () => {
  it("records each submission with its jobs in plan order; a retry points it at the new jobs and clears the final status", async (t) => {
    const home = await tempDir(t);
    const farm = openLocalFarm({ BRENDER_HOME: home });
    t.after(() => farm.close());
    const first = submitPlanFor(farm, payloadOf("r-table-1"), "spring/projects/r-table-1.manifest.json");
    const record = farm.jobs.renders.get("r-table-1")!;
    assert.deepEqual(record.jobIds, first);
    assert.equal(record.project, "spring");
    assert.equal(JSON.parse(record.settings).frames, "1-4");
    assert.equal(record.finalStatus, undefined);
    farm.jobs.renders.setFinalStatus("r-table-1", first, "FAILED");
    assert.equal(farm.jobs.renders.get("r-table-1")!.finalStatus, "FAILED");

    const second = submitPlanFor(farm, payloadOf("r-table-1"), "spring/projects/r-table-1.manifest.json");
    assert.deepEqual(farm.jobs.renders.get("r-table-1")!.jobIds, second);
    assert.equal(farm.jobs.renders.get("r-table-1")!.finalStatus, undefined);
    // A final status for a submission that is no longer the newest is not written.
    farm.jobs.renders.setFinalStatus("r-table-1", first, "SUCCEEDED");
    assert.equal(farm.jobs.renders.get("r-table-1")!.finalStatus, undefined);

    submitPlanFor(farm, payloadOf("r-table-2"), "spring/projects/r-table-2.manifest.json");
    assert.deepEqual(farm.jobs.renders.idsStartingWith("r-table-"), ["r-table-1", "r-table-2"]);
    assert.deepEqual(farm.jobs.renders.idsStartingWith("r-table-2"), ["r-table-2"]);
    const backend = new LocalRenderBackend(farm);
    assert.equal(await backend.find("r-table-2"), "r-table-2");
    await assert.rejects(backend.find("r-table"), /matches 2 renders/);
  });

  it("is filled for an existing home by the migration: one record per render, from its newest submission", async (t) => {
    const home = await tempDir(t);
    const farm = openLocalFarm({ BRENDER_HOME: home });
    // Jobs as Brender wrote them before the table existed: the plan alone, no record.
    const submitBare = (renderId: string, frames: string) => {
      const payload = payloadOf(renderId, frames);
      const plan = compileRenderPlan(payload, { bucketKey: `spring/projects/${renderId}.manifest.json` });
      return farm.jobs.submitPlan(plan, {
        renderId, tags: { project: "spring" },
        jobs: { [plan[0]!.name]: { definition: IO_DEFINITION }, [plan[1]!.name]: { definition: RENDER_DEFINITION }, [plan[2]!.name]: { definition: IO_DEFINITION, runOnDependencyFailure: true } },
      });
    };
    submitBare("r-old-1", "1-4");
    const retried = submitBare("r-old-1", "1-8");
    const other = submitBare("r-old-2", "5");
    farm.close();
    // Back to schema version 1, as an existing home is.
    const db = new DatabaseSync(join(home, "farm.sqlite"));
    db.exec("DROP TABLE renders; PRAGMA user_version = 1;");
    db.close();

    const upgraded = openLocalFarm({ BRENDER_HOME: home });
    t.after(() => upgraded.close());
    const records = upgraded.jobs.renders.list();
    assert.deepEqual(records.map((record) => record.id).sort(), ["r-old-1", "r-old-2"]);
    const old1 = upgraded.jobs.renders.get("r-old-1")!;
    assert.deepEqual(old1.jobIds, retried, "the newest submission's jobs, in plan order");
    assert.equal(JSON.parse(old1.settings).frames, "1-8");
    assert.equal(old1.project, "spring");
    assert.deepEqual(upgraded.jobs.renders.get("r-old-2")!.jobIds, other);
    const rows = await new LocalRenderBackend(upgraded).list();
    assert.deepEqual(rows.map((row) => [row.renderId, row.status]).sort(), [["r-old-1", "RUNNABLE"], ["r-old-2", "RUNNABLE"]]);
  });
});
