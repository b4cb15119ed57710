import { afterAll, describe, expect, it } from "vitest";
import { judge, measure } from "../../tools/attack/attacks/unfinished-bodies-bad-key.js";
import { createAttackContext } from "../../tools/attack/context.js";

describe("attack: unfinished bodies with an unknown key (issue 18 item 1)", () => {
  const context = createAttackContext();
  afterAll(() => context.stopAll());

  it("answers 401 before reading the body, on both HTTP versions, with memory flat", async () => {
    const facts = await measure(context);
    expect(facts.h2Answered401).toBe(facts.h2Streams);
    expect(facts.h1Answered401AndClosed).toBe(facts.h1Connections);
    expect(facts.rssPeak - facts.rssBefore).toBeLessThan(64 * 1024 * 1024);
    const verdict = judge(facts);
    expect(verdict.held, verdict.detail).toBe(true);
  }, 120_000);
});
