/** The tenant travels with the async context, into promises, timers and response streams. */
import { describe, expect, it } from "vitest";
import { currentTenant, iterateAsCurrentTenant, NO_TENANT, runAsTenant } from "../../src/tenancy/tenant-context.js";

describe("tenant context", () => {
  it("is the tenant of the run, across awaits and timers, and no tenant outside", async () => {
    expect(currentTenant()).toBe(NO_TENANT);
    const seen = await runAsTenant("team-a", async () => {
      await new Promise((resolve) => setTimeout(resolve, 1));
      const inner = await new Promise<string>((resolve) => setImmediate(() => resolve(currentTenant())));
      return [currentTenant(), inner];
    });
    expect(seen).toEqual(["team-a", "team-a"]);
    expect(currentTenant()).toBe(NO_TENANT);
  });

  it("asks a resolver each time, so a value known later is seen", () => {
    let known = "";
    const seen = runAsTenant(() => known, () => {
      const before = currentTenant();
      known = "from-message";
      return [before, currentTenant()];
    });
    expect(seen).toEqual(["", "from-message"]);
  });

  it("runs a response stream's steps as the tenant that made it, wherever it is pulled from", async () => {
    async function* answer(): AsyncIterable<string> {
      yield currentTenant();
      await new Promise((resolve) => setTimeout(resolve, 1));
      yield currentTenant();
    }
    const bound = runAsTenant("team-b", () => iterateAsCurrentTenant(answer()));
    const unbound = runAsTenant("team-b", () => answer());
    const pulled: string[] = [];
    for await (const tenant of bound) pulled.push(tenant);
    const pulledUnbound: string[] = [];
    for await (const tenant of unbound) pulledUnbound.push(tenant);
    expect(pulled).toEqual(["team-b", "team-b"]);
    // What the binding is for: pulled from outside, a generator runs as whoever pulls it.
    expect(pulledUnbound).toEqual([NO_TENANT, NO_TENANT]);
  });
});
