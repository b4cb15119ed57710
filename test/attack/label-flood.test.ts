/** Item 7 of the hostile-clients issue: refused calls with made-up namespaces create no labels, and the label set stays bounded. */
import { afterAll, describe, expect, it } from "vitest";
import { attack } from "../../tools/attack/attacks/label-flood.js";
import { createAttackContext } from "../../tools/attack/context.js";

describe(attack.name, () => {
  const context = createAttackContext();
  afterAll(() => context.stopAll());

  it("holds: no fake- label, refused calls under no namespace, labels ≤ 20, RSS bounded, probes within 2 s", async () => {
    const result = await attack.run(context);
    console.log(`${attack.name}: ${result.held ? "held" : "did not hold"}: ${result.detail}`);
    expect(result.detail).toMatch(/no fake- label/);
    expect(result.detail).toMatch(/: 20\/20 labelled/);
    expect(result.held).toBe(true);
  }, 300_000);
});
