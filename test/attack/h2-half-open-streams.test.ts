import { afterAll, describe, expect, it } from "vitest";
import { judge, measure } from "../../tools/attack/attacks/h2-half-open-streams.js";
import { createAttackContext } from "../../tools/attack/context.js";

describe("attack: HTTP/2 half-open streams (issue 18 item 1)", () => {
  const context = createAttackContext();
  afterAll(() => context.stopAll());

  it("refuses streams past the cap, cancels bodies that never come, and stays responsive", async () => {
    const facts = await measure(context);
    const verdict = judge(facts);
    // Past SETTINGS_MAX_CONCURRENT_STREAMS, streams are refused (or the connection is cut), not queued.
    expect(facts.refusedOverCap > 0 || facts.connectionsCut === 12).toBe(true);
    // Every stream at the cap is cancelled by the request timeout once its body fails to arrive.
    expect(facts.cancelledByTimeout).toBe(facts.openedAtCap);
    expect(facts.after.lookupMs).toBeLessThan(2_000);
    expect(facts.after.healthzMs).toBeLessThan(2_000);
    expect(facts.rssAfter - facts.rssBefore).toBeLessThan(100 * 1024 * 1024);
    expect(facts.duringKeyless.healthzMs).toBeLessThan(5_000);
    expect(verdict.held, verdict.detail).toBe(true);
  }, 120_000);
});
