import { describe, expect, it } from "vitest";
import {
  bearerToken,
  generateApiKey,
  hashApiKey,
  KeyRing,
  NamespaceGrants,
  parseKeyFile,
  RateLimiter,
  type KeyFileEntry,
} from "../../src/auth/index.js";

const HASH = "a".repeat(64);
const parse = (keys: readonly unknown[]) => parseKeyFile(JSON.stringify({ keys }), "keys.json");
const user = (extra: Partial<KeyFileEntry> = {}): KeyFileEntry => ({ id: "team-a", sha256: HASH, role: "user", namespaces: ["team-a"], ...extra });

describe("namespace grants", () => {
  it("grants exact names, prefixes and everything", () => {
    const grants = NamespaceGrants.parse(["team-a", "team-b/*"]);
    expect(grants.allows("team-a")).toBe(true);
    expect(grants.allows("team-a/x")).toBe(false);
    expect(grants.allows("team-b/prod")).toBe(true);
    expect(grants.allows("team-b")).toBe(false);
    expect(grants.allows("team-c")).toBe(false);
    expect(grants.single).toBeUndefined();
    expect(NamespaceGrants.parse(["only"]).single).toBe("only");
    expect(NamespaceGrants.parse(["p/*"]).single).toBeUndefined();
    expect(NamespaceGrants.all().allows("anything")).toBe(true);
  });

  it("refuses patterns that are no namespace, naming them", () => {
    expect(() => NamespaceGrants.parse([])).toThrow(/at least one/);
    expect(() => NamespaceGrants.parse(["has space"])).toThrow(/"has space" is not a namespace/);
    expect(() => NamespaceGrants.parse(["a*b"])).toThrow(/"a\*b"/);
  });
});

describe("key file", () => {
  it("compiles keys with defaults: a single namespace is the default one, admin keys get every namespace", () => {
    const [a, b, c] = parse([
      user(),
      { id: "ops", sha256: "b".repeat(64), role: "admin" },
      user({ id: "multi", sha256: "c".repeat(64), namespaces: ["x", "y"], rateLimit: { requestsPerSecond: 5, burst: 10 } }),
    ]);
    expect(a?.principal).toMatchObject({ keyId: "team-a", role: "user", defaultNamespace: "team-a", rateLimit: undefined });
    expect(b?.principal.namespaces.allows("whatever")).toBe(true);
    expect(b?.principal.defaultNamespace).toBe("default");
    expect(c?.principal.defaultNamespace).toBe("default");
    expect(c?.principal.rateLimit).toEqual({ requestsPerSecond: 5, burst: 10 });
    expect(a?.hash.equals(Buffer.from(HASH, "hex"))).toBe(true);
  });

  it("names the key and the field of every mistake", () => {
    expect(() => parseKeyFile("{", "k.json")).toThrow(/k\.json: not valid JSON/);
    expect(() => parseKeyFile("[]", "k.json")).toThrow(/must be a JSON object \{"keys"/);
    expect(() => parse([user({ sha256: "ABC" })])).toThrow(/keys\[0\] \("team-a"\): "sha256" must be/);
    expect(() => parse([user({ role: "root" as "user" })])).toThrow(/"role" must be one of user, admin, metrics/);
    expect(() => parse([user({ namespaces: [] })])).toThrow(/"namespaces": must list at least one/);
    expect(() => parse([user({ namespaces: undefined })])).toThrow(/"namespaces" must be a list/);
    expect(() => parse([{ id: "ops", sha256: HASH, role: "admin", namespaces: ["x"] }])).toThrow(/"namespaces" is for user keys/);
    expect(() => parse([user({ defaultNamespace: "other" })])).toThrow(/"defaultNamespace" must be one of the namespaces/);
    expect(() => parse([user({ rateLimit: { requestsPerSecond: -1, burst: 1 } })])).toThrow(/"rateLimit": requestsPerSecond/);
    expect(() => parse([{ ...user(), namespace: "typo" }])).toThrow(/unknown field "namespace"/);
    expect(() => parse([user(), user({ sha256: "d".repeat(64) })])).toThrow(/keys\[1\] \("team-a"\): the id is used by another key/);
    expect(() => parse([user(), user({ id: "other" })])).toThrow(/keys\[1\] \("other"\): the same key hash appears twice/);
  });
});

describe("key ring", () => {
  it("finds the principal of a key by its hash, and nothing for another key", () => {
    const key = generateApiKey();
    expect(key).toMatch(/^sck_[A-Za-z0-9_-]{43}$/);
    const ring = new KeyRing(parse([user({ sha256: hashApiKey(key).toString("hex") })]));
    expect(ring.authenticate(key)?.keyId).toBe("team-a");
    expect(ring.authenticate(`${key}x`)).toBeUndefined();
    expect(ring.authenticate("")).toBeUndefined();
    ring.replace([]);
    expect(ring.authenticate(key)).toBeUndefined();
  });

  it("reads bearer tokens, case-insensitively, and nothing else", () => {
    expect(bearerToken("Bearer abc")).toBe("abc");
    expect(bearerToken("bearer   abc ")).toBe("abc");
    expect(bearerToken("Basic abc")).toBeUndefined();
    expect(bearerToken("Bearer")).toBeUndefined();
    expect(bearerToken("Bearer a b")).toBeUndefined();
    expect(bearerToken(null)).toBeUndefined();
  });
});

describe("rate limiter", () => {
  it("allows a burst, then refills at the rate, per key", () => {
    let now = 0;
    const limiter = new RateLimiter(() => now);
    const limit = { requestsPerSecond: 2, burst: 3 };
    for (let i = 0; i < 3; i++) expect(limiter.take("a", limit).allowed).toBe(true);
    const refused = limiter.take("a", limit);
    expect(refused).toEqual({ allowed: false, retryAfterMs: 500 });
    expect(limiter.take("b", limit).allowed).toBe(true);
    now = 499;
    expect(limiter.take("a", limit).allowed).toBe(false);
    now = 1000;
    expect(limiter.take("a", limit).allowed).toBe(true);
    now = 60_000;
    // Never more than the burst, however long the key was idle.
    for (let i = 0; i < 3; i++) expect(limiter.take("a", limit).allowed).toBe(true);
    expect(limiter.take("a", limit).allowed).toBe(false);
    expect(limiter.take("a", { requestsPerSecond: 0, burst: 1 }).allowed).toBe(true);
  });
});
