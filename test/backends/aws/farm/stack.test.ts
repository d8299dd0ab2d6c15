/** The pure parts of the stack module. */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import type { StackEvent } from "@aws-sdk/client-cloudformation";
import { firstFailure } from "../../../../src/backends/aws/farm/stack.ts";

describe("pure parts", () => {
  it("firstFailure skips the cancellations that follow the real cause", () => {
    const base = { StackId: "id", StackName: "s", EventId: "e", Timestamp: new Date() };
    const events: StackEvent[] = [
      { ...base, LogicalResourceId: "Vpc", ResourceStatus: "CREATE_FAILED", ResourceStatusReason: "Resource creation cancelled" },
      { ...base, LogicalResourceId: "Queue", ResourceStatus: "CREATE_FAILED", ResourceStatusReason: "instance type g6 is not supported" },
    ];
    assert.equal(firstFailure(events, "CREATE"), "Queue: instance type g6 is not supported");
    assert.equal(firstFailure([], "DELETE", { StackName: "s", StackStatus: "DELETE_FAILED", CreationTime: new Date(), StackStatusReason: "role in use" }), "role in use");
  });
});
