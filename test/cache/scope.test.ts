import { describe, expect, it } from "vitest";
import { InvalidInputError } from "../../src/cache/errors.js";
import { normalizePrompt } from "../../src/cache/normalize.js";
import { entryId, resolveScope } from "../../src/cache/scope.js";

describe("normalizePrompt", () => {
  it("applies NFC, trims and collapses white space", () => {
    expect(normalizePrompt("  Caf\u0065\u0301 \t au lait \n\n")).toBe("Caf\u00e9 au lait");
  });
});

describe("resolveScope", () => {
  it("defaults the namespace and hashes params canonically", () => {
    const a = resolveScope({ params: { b: "2", a: "one  two" } });
    const b = resolveScope({ namespace: "default", model: "", params: { a: " one two ", b: "2" } });
    expect(a.namespace).toBe("default");
    expect(a.scopeKey).toBe(b.scopeKey);
    expect(resolveScope(undefined).scopeKey).toBe(resolveScope({}).scopeKey);
  });

  it("separates namespaces, models and params", () => {
    const keys = new Set([
      resolveScope({ namespace: "a" }).scopeKey,
      resolveScope({ namespace: "b" }).scopeKey,
      resolveScope({ namespace: "a", model: "m" }).scopeKey,
      resolveScope({ namespace: "a", params: { t: "0" } }).scopeKey,
      resolveScope({ namespace: "a", params: { t: "1" } }).scopeKey,
    ]);
    expect(keys.size).toBe(5);
  });

  it("accepts documented namespace characters and rejects others", () => {
    expect(resolveScope({ namespace: "org/team:app-1_v2.0@eu" }).namespace).toBe("org/team:app-1_v2.0@eu");
    for (const bad of ["a b", "ümlaut", "x".repeat(129), "semi;colon", "tab\t"]) {
      expect(() => resolveScope({ namespace: bad })).toThrow(InvalidInputError);
    }
  });

  it("accepts models with punctuation and rejects control characters", () => {
    expect(resolveScope({ model: "llama3.1:8b" }).model).toBe("llama3.1:8b");
    expect(() => resolveScope({ model: "a\nb" })).toThrow(/scope.model/);
  });
});

describe("entryId", () => {
  it("is deterministic per scope and prompt", () => {
    expect(entryId("k", "p")).toBe(entryId("k", "p"));
    expect(entryId("k", "p")).not.toBe(entryId("k2", "p"));
    expect(entryId("k", "p")).toMatch(/^[0-9a-f]{32}$/);
  });
});
