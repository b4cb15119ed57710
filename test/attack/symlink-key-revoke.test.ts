/** Item 6 of the hostile-clients issue: a key revoked through a Kubernetes-style symlinked key file is refused within seconds. */
import { afterAll, describe, expect, it } from "vitest";
import { attack } from "../../tools/attack/attacks/symlink-key-revoke.js";
import { createAttackContext } from "../../tools/attack/context.js";

describe(attack.name, () => {
  const context = createAttackContext();
  afterAll(() => context.stopAll());

  it("holds: each revocation refused within 5 s, probes answered within 2 s", async () => {
    const result = await attack.run(context);
    console.log(`${attack.name}: ${result.held ? "held" : "did not hold"}: ${result.detail}`);
    expect(result.detail).toMatch(/revoked-first: 200 before, refused \d+ ms after the swap; revoked-second: 200 before, refused \d+ ms after the swap/);
    expect(result.held).toBe(true);
  }, 120_000);
});
