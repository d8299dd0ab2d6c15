/** The cost in words, as status, the e-mail and the render page show it (pure). */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { costOfRender, renderCostSchema, withEarlierRuns, type StoredEstimate } from "../../src/domain/cost/cost-record.ts";
import { costLine } from "../../src/domain/cost/cost-words.ts";

const estimate: StoredEstimate = { target: "aws", seconds: { low: 600, expected: 900, high: 1500 }, usd: { low: 1.5, expected: 3.1, high: 4 }, queue: "spot-cpu", madeAt: "2026-12-07T07:00:00.000Z" };

describe("cost words", () => {
  it("says estimate and actual side by side, and why the actual is missing when it is", () => {
    const actual = { kind: "aws", usd: { low: 2.5, expected: 2.9, high: 3.2 }, childHours: 12.5, ioHours: 0.1, attempts: 9, attemptsWithHost: 8, method: "m" } as const;
    assert.equal(
      costLine({ estimate, actual }),
      "estimated about 15m 00s (10m 00s–25m 00s), about $3.10 ($1.50–$4.00) on spot-cpu; actual about $2.90 ($2.50–$3.20) (12.500 child-hours, 9 attempts, 1 priced at the queue's range)",
    );
    // Every attempt on a known host: one figure, not a range.
    assert.equal(costLine({ actual: { ...actual, usd: { low: 2.9, expected: 2.9, high: 2.9 }, attemptsWithHost: 9 } }), "actual $2.90 (12.500 child-hours, 9 attempts)");
    assert.equal(costLine({ estimate, actualError: "Batch forgot the jobs" }), "estimated about 15m 00s (10m 00s–25m 00s), about $3.10 ($1.50–$4.00) on spot-cpu; actual unknown: Batch forgot the jobs");
    assert.equal(costLine({ actual: { kind: "local", cpuHours: 0.0123, wallSeconds: 170, cores: 2, method: "m" } }), "actual 0.0123 CPU-hours in 2m 50s on 2 cores");
    assert.equal(costLine(undefined), undefined);
  });

  it("a render shows its manifest's cost once ended, its submitted estimate before; the manifest's cost is checked by its schema", () => {
    assert.deepEqual(costOfRender(estimate, null), { estimate });
    const ended = { estimate, actual: { kind: "local" as const, cpuHours: 1, wallSeconds: 3600, cores: 2, method: "m" } };
    assert.deepEqual(costOfRender(estimate, { cost: ended }), ended);
    assert.equal(costOfRender(undefined, null), undefined);
    assert.equal(renderCostSchema.safeParse({ actual: { kind: "local", cpuHours: -1, wallSeconds: 1, cores: 2, method: "m" } }).success, false);
  });

  it("a retry's actual cost adds the earlier runs' to its own, once", () => {
    const local = (cpuHours: number, wallSeconds: number) => ({ kind: "local" as const, cpuHours, wallSeconds, cores: 2, method: "getrusage" });
    const both = withEarlierRuns(local(0.5, 100), local(0.25, 50));
    assert.deepEqual({ ...both, method: "" }, { ...local(0.75, 150), method: "" });
    assert.match(both.method, /earlier runs/);
    assert.equal(withEarlierRuns(both, local(0.25, 50)).method, both.method, "said once");
    assert.deepEqual(withEarlierRuns(local(0.5, 100), undefined), local(0.5, 100));
    const aws = (usd: number, hosts: string[]) => ({ kind: "aws" as const, usd: { low: usd, expected: usd, high: usd }, childHours: 1, ioHours: 0.1, attempts: 2, attemptsWithHost: 1, hosts, method: "m" });
    const retried = withEarlierRuns(aws(0.5, ["c6i.large spot"]), aws(0.25, ["m6i.large spot", "c6i.large spot"]));
    assert.deepEqual([retried.kind === "aws" && retried.usd.expected, retried.kind === "aws" && retried.attempts, retried.kind === "aws" && retried.hosts], [0.75, 4, ["m6i.large spot", "c6i.large spot"]]);
    // A render cannot move between farms: figures of another kind are not mixed in.
    assert.deepEqual(withEarlierRuns(local(0.5, 100), aws(1, [])), local(0.5, 100));
  });
});
