import { afterAll, describe, expect, it } from "vitest";
import { attack, DIFFERENT_PAIRS } from "../../tools/attack/attacks/identical-prompts.js";
import { launchTarget, type AttackTarget } from "../../tools/attack/target.js";

describe("attack: different prompts served as identical (issue 18 item 3)", () => {
  const targets: AttackTarget[] = [];
  afterAll(async () => {
    await Promise.all(targets.map((t) => t.stop()));
  });

  it("serves no pair the other's answer, still serves paraphrases, and stays responsive", async () => {
    const result = await attack.run({
      launch: async (options) => {
        const target = await launchTarget(options);
        targets.push(target);
        return target;
      },
    });
    expect(result.detail).toMatch(new RegExp(`^0/${DIFFERENT_PAIRS.length} different pairs served`));
    expect(result.detail).toMatch(/2\/2 paraphrases served/);
    expect(result.held).toBe(true);
  }, 180_000);
});
