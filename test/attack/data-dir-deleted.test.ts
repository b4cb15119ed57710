import { afterAll, describe, expect, it } from "vitest";
import { attack, STORES_AFTER } from "../../tools/attack/attacks/data-dir-deleted.js";
import { createAttackContext } from "../../tools/attack/context.js";

describe("attack: the data directory deleted while running (issue 18 item 10)", () => {
  const context = createAttackContext();
  afterAll(() => context.stopAll());

  it("refuses every later Store with UNAVAILABLE, turns /healthz and gRPC health NOT_SERVING, and logs it", async () => {
    const result = await attack.run(context);
    console.info(`[data-dir-deleted] ${result.detail}`);
    expect(result.detail).toMatch(new RegExp(`^0/${STORES_AFTER} stores acknowledged after the deletion, ${STORES_AFTER}/${STORES_AFTER} refused`));
    expect(result.detail).toMatch(/\/healthz 503, gRPC health NOT_SERVING, logged true/);
    expect(result.held).toBe(true);
  }, 180_000);
});
