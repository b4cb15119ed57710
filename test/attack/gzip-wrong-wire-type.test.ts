import { afterAll, describe, expect, it } from "vitest";
import { judge, measure } from "../../tools/attack/attacks/gzip-wrong-wire-type.js";
import { createAttackContext } from "../../tools/attack/context.js";

describe("attack: compressed messages with the wrong wire type (issue 18 item 9)", () => {
  const context = createAttackContext();
  afterAll(() => context.stopAll());

  it("refuses a gzipped Store whose prompt has the wrong wire type, and stores nothing of it", async () => {
    const facts = await measure(context);
    expect(facts.grpcMalformed.status).toBe("3");
    expect(facts.grpcMalformed.message).toMatch(/^prompt: has wire type 0 \(varint\), but the schema says 2 \(length-delimited\)$/u);
    expect(facts.connectMalformed).toEqual({ status: 400, code: "invalid_argument" });
    expect(facts.grpcWellFormed).toBe("0");
    expect(facts.promptsAfter).toEqual(["A well-formed compressed prompt"]);
    const verdict = judge(facts);
    expect(verdict.held, verdict.detail).toBe(true);
  }, 120_000);
});
