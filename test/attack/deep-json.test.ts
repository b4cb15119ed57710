import { afterAll, describe, expect, it } from "vitest";
import { judge, measure } from "../../tools/attack/attacks/deep-json.js";
import { createAttackContext } from "../../tools/attack/context.js";

describe("attack: deep JSON (issue 18 item 2)", () => {
  const context = createAttackContext();
  afterAll(() => context.stopAll());

  it("refuses deep JSON without a key (401, unread) and with one (INVALID_ARGUMENT, unparsed), staying responsive", async () => {
    const facts = await measure(context);
    expect(facts.bodyBytes).toBeGreaterThan(3_500_000);
    expect(facts.keylessRefused).toBe(8);
    expect(facts.keyedRefused).toBe(8);
    expect(facts.during.healthzMs).toBeLessThan(2_000);
    const verdict = judge(facts);
    expect(verdict.held, verdict.detail).toBe(true);
  }, 120_000);
});
