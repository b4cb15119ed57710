import { afterAll, describe, expect, it } from "vitest";
import { judge, measure } from "../../tools/attack/attacks/h2-idle-connections.js";
import { createAttackContext } from "../../tools/attack/context.js";

describe("attack: idle HTTP/2 connections (issue 18 item 1)", () => {
  const context = createAttackContext();
  afterAll(() => context.stopAll());

  it("closes idle connections after the idle timeout and those past the connection cap at once", async () => {
    const facts = await measure(context);
    expect(facts.idleClosed).toBe(facts.idleOpened);
    expect(facts.closedAtOnce).toBeGreaterThanOrEqual(facts.overCapOpened - 400);
    expect(facts.overCapAllClosed).toBe(true);
    expect(facts.during.healthzMs).toBeLessThan(2_000);
    expect(facts.after.lookupMs).toBeLessThan(2_000);
    const verdict = judge(facts);
    expect(verdict.held, verdict.detail).toBe(true);
  }, 120_000);
});
