import { afterAll, describe, expect, it } from "vitest";
import { attack, DIFFERENT_PAIRS } from "../../tools/attack/attacks/identical-prompts.js";
import { createAttackContext } from "../../tools/attack/context.js";

describe("attack: different prompts served as identical (issue 18 item 3)", () => {
  const context = createAttackContext();
  afterAll(() => context.stopAll());

  it("serves no pair the other's answer, still serves paraphrases, and stays responsive", async () => {
    const result = await attack.run(context);
    expect(result.detail).toMatch(new RegExp(`^0/${DIFFERENT_PAIRS.length} different pairs served`));
    expect(result.detail).toMatch(/2\/2 paraphrases served/);
    expect(result.held).toBe(true);
  }, 180_000);
});
