import { describe, it } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { UserInputError } from "../../../src/errors.ts";
import { JOB_ACTION_TYPES } from "../../../src/domain/job-actions.ts";
import {
  checkAction,
  checkEnvironment,
  checkJobDefinition,
  checkJobQueue,
  checkName,
  checkWhole,
  parseDefinitionReference,
} from "../../../src/backends/local/store/validation.ts";

const NAME_START = [..."abcXYZ019"];
const NAME_REST = [..."abcXYZ019-_.:"];
const validName = fc
  .tuple(fc.constantFrom(...NAME_START), fc.array(fc.constantFrom(...NAME_REST), { maxLength: 127 }))
  .map(([first, rest]) => first + rest.join(""));

/** Asserts that `run` throws a UserInputError whose message contains every one of `parts`. */
function rejects(run: () => unknown, ...parts: string[]): void {
  assert.throws(run, (error: unknown) => {
    assert.ok(error instanceof UserInputError, `expected a UserInputError, got ${String(error)}`);
    for (const part of parts) assert.ok(error.message.includes(part), `"${error.message}" should mention ${part}`);
    assert.ok(!error.message.includes("\n"), "messages are one line");
    return true;
  });
}

describe("store validation", () => {
  it("accepts every name of 1 to 128 allowed characters starting with a letter or digit", () => {
    fc.assert(fc.property(validName, (name) => assert.doesNotThrow(() => checkName(name, "job name"))));
  });

  it("rejects empty, too long, badly started or badly charactered names, quoting them", () => {
    for (const name of ["", "-job", ".job", "a b", "job/1", "é", "a".repeat(129)]) rejects(() => checkName(name, "job queue name"), "job queue name", `"${name}"`);
  });

  it("returns whole numbers within range and rejects everything else with the range", () => {
    fc.assert(
      fc.property(fc.integer({ min: -1000, max: 1000 }), fc.integer({ min: -1000, max: 1000 }), fc.integer({ min: -2000, max: 2000 }), (a, b, value) => {
        const [min, max] = a <= b ? [a, b] : [b, a];
        if (value >= min && value <= max) assert.equal(checkWhole(value, "vcpus", min, max), value);
        else rejects(() => checkWhole(value, "vcpus", min, max), `vcpus ${value}`, `from ${min} to ${max}`);
      }),
    );
    for (const value of [1.5, Number.NaN, Number.POSITIVE_INFINITY, 2 ** 53]) rejects(() => checkWhole(value, "attempts", 1, Number.MAX_VALUE), "attempts");
  });

  it("copies a valid environment and rejects bad variable names or non-text values", () => {
    const environment = { A: "1", _b2: "" };
    const checked = checkEnvironment(environment, "r-render");
    assert.deepEqual(checked, environment);
    assert.notEqual(checked, environment);
    for (const key of ["1A", "A-B", "", "A B"]) rejects(() => checkEnvironment({ [key]: "x" }, "r-render"), 'job "r-render"', `"${key}"`);
    rejects(() => checkEnvironment({ N: 3 } as unknown as Record<string, string>, "r-render"), "N must be text");
  });

  it("accepts the worker's actions and names them all when given another", () => {
    for (const action of JOB_ACTION_TYPES) assert.equal(checkAction(action, "j"), action);
    rejects(() => checkAction("bake", "j"), 'job "j"', '"bake"', JOB_ACTION_TYPES.join(", "));
  });

  it("fills in a job definition's defaults and checks its limits", () => {
    assert.deepEqual(checkJobDefinition({ name: "small" }), { vcpus: 1, memoryMiB: 2048, attempts: 1, timeoutSeconds: undefined });
    assert.deepEqual(checkJobDefinition({ name: "big", vcpus: 8, memoryMiB: 4096, attempts: 3, timeoutSeconds: 60 }), {
      vcpus: 8,
      memoryMiB: 4096,
      attempts: 3,
      timeoutSeconds: 60,
    });
    rejects(() => checkJobDefinition({ name: "bad name" }), "job definition name");
    rejects(() => checkJobDefinition({ name: "d", attempts: 11 }), "attempts 11", "from 1 to 10");
    rejects(() => checkJobDefinition({ name: "d", timeoutSeconds: 0 }), "timeoutSeconds 0");
    rejects(() => checkJobDefinition({ name: "d", vcpus: 4097 }), "vcpus 4097");
  });

  it("fills in a job queue's defaults and checks its priority", () => {
    assert.deepEqual(checkJobQueue({ name: "q" }), { priority: 1, state: "ENABLED", computeEnvironment: "local" });
    assert.deepEqual(checkJobQueue({ name: "q", priority: 0, state: "DISABLED", computeEnvironment: "gpu" }), {
      priority: 0,
      state: "DISABLED",
      computeEnvironment: "gpu",
    });
    rejects(() => checkJobQueue({ name: "q", priority: 1001 }), "queue priority 1001");
    rejects(() => checkJobQueue({ name: "" }), "job queue name");
  });

  it("splits definition references into name and optional revision", () => {
    assert.deepEqual(parseDefinitionReference("brender-worker"), { name: "brender-worker", revision: undefined });
    assert.deepEqual(parseDefinitionReference("brender-worker:3"), { name: "brender-worker", revision: 3 });
    assert.deepEqual(parseDefinitionReference("a:b"), { name: "a:b", revision: undefined });
    fc.assert(
      fc.property(validName, fc.nat(), (name, revision) => {
        assert.deepEqual(parseDefinitionReference(`${name}:${revision}`), { name, revision });
      }),
    );
  });
});
