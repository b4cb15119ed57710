import { afterAll, describe, expect, it } from "vitest";
import { judge, measure } from "../../tools/attack/attacks/dns-rebinding.js";
import { createAttackContext } from "../../tools/attack/context.js";

describe("attack: DNS rebinding against a keyless server (issue 18 item 8)", () => {
  const context = createAttackContext();
  afterAll(() => context.stopAll());

  it("refuses requests for a foreign Host and keeps what was stored", async () => {
    const facts = await measure(context);
    expect(facts.listEntries).toMatchObject({ status: 403, code: "permission_denied" });
    expect(facts.listEntries.message).toMatch(/SEMCACHE_ALLOWED_HOSTS/u);
    expect(facts.flush.status).toBe(403);
    expect(facts.metrics.status).toBe(403);
    expect(facts.grpcLookupStatus).toBe("7");
    expect(facts.healthz.status).toBe(200);
    expect(facts.entriesAfter).toBe(1);
    expect(facts.localhostStatus).toBe(200);
    const verdict = judge(facts);
    expect(verdict.held, verdict.detail).toBe(true);
  }, 120_000);
});
