import { afterAll, describe, expect, it } from "vitest";
import { judge, measure } from "../../tools/attack/attacks/h1-half-sent-requests.js";
import { createAttackContext } from "../../tools/attack/context.js";

describe("attack: HTTP/1.1 half-sent requests (issue 18 item 1)", () => {
  const context = createAttackContext();
  afterAll(() => context.stopAll());

  it("closes connections whose headers or body stop arriving, by the header and request timeouts", async () => {
    const facts = await measure(context);
    expect(facts.halfHeadersClosed).toBe(facts.halfHeaders);
    expect(facts.halfBodiesClosed).toBe(facts.halfBodies);
    const verdict = judge(facts);
    expect(verdict.held, verdict.detail).toBe(true);
  }, 120_000);
});
