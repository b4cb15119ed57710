import { afterAll, describe, expect, it } from "vitest";
import { attack, ENTRIES, PAST_LIMIT, SCOPE_LIMIT } from "../../tools/attack/attacks/scope-flood.js";
import { createAttackContext } from "../../tools/attack/context.js";

describe("attack: a flood of distinct scopes (issue 18 item 4)", () => {
  const context = createAttackContext();
  afterAll(() => context.stopAll());

  it("keeps a small scope cheap, refuses scopes past the limit with RESOURCE_EXHAUSTED, and stays responsive", async () => {
    const result = await attack.run(context);
    console.info(`[scope-flood] ${result.detail}`);
    expect(result.detail).toMatch(new RegExp(`^${2 * ENTRIES}/${2 * ENTRIES} stores acknowledged, ${PAST_LIMIT}/${PAST_LIMIT} past the limit of ${SCOPE_LIMIT} refused`));
    expect(result.detail).toMatch(/old scope 200, other namespace 200\), 0 lost/);
    expect(result.held).toBe(true);
  }, 300_000);
});
