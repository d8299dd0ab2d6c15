/**
 * The OpenAPI document promises, for each numeric render setting, exactly the
 * limits enforced where that setting ends up: the payload, the job store, the
 * AWS sizes. A new numeric setting must be listed here, so it cannot drift either.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { LIMITS } from "../../src/backends/aws/server-sizes.ts";
import { MAX_ATTEMPTS, MAX_PRIORITY, MAX_TIMEOUT_SECONDS } from "../../src/backends/local/store/limits.ts";
import { renderPayloadJsonSchema } from "../../src/domain/render-payload.ts";
import { openApiDocument } from "../../src/server/routes/openapi.ts";

type Schema = { type?: string; minimum?: number; maximum?: number; properties?: Record<string, Schema>; anyOf?: Schema[] };
type Limits = { minimum: number | undefined; maximum: number | undefined };

const limitsOf = (schema: Schema | undefined): Limits => ({ minimum: schema?.minimum, maximum: schema?.maximum });
/** The integer branch of a schema (itself, or its integer anyOf branch). */
const integerOf = (schema: Schema): Schema | undefined => (schema.type === "integer" ? schema : schema.anyOf?.find((branch) => branch.type === "integer"));
/** A property down a path of the payload's JSON Schema; a step into a union takes the branch that has it. */
function payloadField(path: readonly string[]): Schema | undefined {
  let schema: Schema | undefined = renderPayloadJsonSchema() as Schema;
  for (const key of path) schema = schema?.properties?.[key] ?? schema?.anyOf?.find((branch) => branch.properties?.[key])?.properties?.[key];
  return schema;
}

/** Where each numeric setting's limits are enforced. */
const ENFORCED: Record<string, Limits[]> = {
  samples: [limitsOf(payloadField(["render", "cycles", "samples"])), limitsOf(payloadField(["render", "eevee", "samples"]))],
  percentage: [limitsOf(payloadField(["render", "resolution", "percentage"]))],
  arraySize: [limitsOf(payloadField(["split", "arraySize"]))],
  chunkSize: [limitsOf(payloadField(["split", "chunkSize"]))],
  attempts: [{ minimum: 1, maximum: MAX_ATTEMPTS }],
  timeout: [{ minimum: 1, maximum: MAX_TIMEOUT_SECONDS }],
  priority: [{ minimum: -MAX_PRIORITY, maximum: MAX_PRIORITY }],
  vcpus: [{ minimum: 1, maximum: LIMITS.vcpus }],
  memory: [{ minimum: LIMITS.minMemoryMiB, maximum: LIMITS.memoryMiB }],
  gpus: [{ minimum: 0, maximum: LIMITS.gpus }],
};

describe("OpenAPI: render settings' limits", () => {
  const settings = (openApiDocument() as { components: { schemas: { RenderSettings: Schema } } }).components.schemas.RenderSettings;

  it("says settings.percentage is 1 to 1000, as the payload enforces", () => {
    assert.deepEqual(limitsOf(integerOf(settings.properties!.percentage!)), { minimum: 1, maximum: 1000 });
  });

  it("gives every numeric setting the limits of the place that enforces it", () => {
    const numeric = Object.entries(settings.properties!).filter(([, schema]) => integerOf(schema));
    assert.deepEqual(numeric.map(([name]) => name).sort(), Object.keys(ENFORCED).sort(), "a new numeric setting needs its enforced limits listed in ENFORCED");
    for (const [name, schema] of numeric) {
      for (const enforced of ENFORCED[name]!) {
        assert.ok(enforced.minimum !== undefined, `${name}: the enforced limits were not found`);
        assert.deepEqual(limitsOf(integerOf(schema)), enforced, `settings.${name}`);
      }
    }
  });
});
