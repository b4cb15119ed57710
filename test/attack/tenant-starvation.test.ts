/** Item 5 of the hostile-clients issue: neither bursting keys nor huge prompts starve another tenant. */
import { afterAll, describe, expect, it } from "vitest";
import { attack } from "../../tools/attack/attacks/tenant-starvation.js";
import { createAttackContext } from "../../tools/attack/context.js";

describe(attack.name, () => {
  const context = createAttackContext();
  afterAll(() => context.stopAll());

  it("holds: the third key's Asks are queued and answered, a small Lookup waits about one batch beside 64 KB prompts", async () => {
    const result = await attack.run(context);
    console.log(`${attack.name}: ${result.held ? "held" : "did not hold"}: ${result.detail}`);
    expect(result.detail).toMatch(/victim 5\/5 answered by the LLM/);
    expect(result.detail).toMatch(/8\/8 64 KB Lookups answered/);
    // What shows fairness without timing this shared machine: small Lookups were answered while the 64 KB
    // prompts were still being embedded (first come, first served would have kept them behind all eight).
    // The millisecond verdict (`held`) is npm run attack's to report.
    const interleaved = Number(/meanwhile (\d+) small Lookups/u.exec(result.detail)?.[1] ?? 0);
    expect(interleaved).toBeGreaterThanOrEqual(2);
  }, 400_000);
});
