/**
 * The benchmarks' prompts: what the load benchmarks rely on to run every
 * server setting at its default, the memo of recent embeddings included.
 */
import { describe, expect, it } from "vitest";
import { DEFAULT_RECENT_EMBEDDINGS } from "../../src/cache/recent-embeddings.js";
import { lookupQueries, MISS_PROMPTS, missPrompt, paraphrase, REWORDINGS_PER_PROMPT, rewording, spreadPrompts } from "../../bench/lib/prompts.js";

describe("bench prompts", () => {
  it("lookupQueries sends no prompt twice before the memo of recent embeddings has let it go", () => {
    const stored = spreadPrompts(500, 50_000);
    const queries = lookupQueries(stored);
    expect(queries).toHaveLength(2 * REWORDINGS_PER_PROMPT * stored.length);
    expect(new Set(queries).size).toBe(queries.length);
    expect(queries.length).toBeGreaterThan(2 * DEFAULT_RECENT_EMBEDDINGS);
    // Alternately a rewording of a stored prompt (the first pass: the paraphrase every benchmark used before) and a miss.
    expect(queries.slice(0, 4)).toEqual([paraphrase(stored[0]!), missPrompt(0), paraphrase(stored[1]!), missPrompt(1)]);
    expect(queries[2 * stored.length]).toBe(rewording(stored[0]!, 1));
    expect(stored.some((p) => queries.includes(p))).toBe(false);
  });

  it("makes MISS_PROMPTS distinct misses, none with a number, and refuses a stored set it cannot pair with distinct misses", () => {
    const misses = Array.from({ length: MISS_PROMPTS }, (_, i) => missPrompt(i));
    expect(new Set(misses).size).toBe(MISS_PROMPTS);
    expect(misses.filter((m) => /\d/.test(m))).toEqual([]);
    expect(() => lookupQueries(spreadPrompts(Math.floor(MISS_PROMPTS / REWORDINGS_PER_PROMPT) + 1))).toThrow(RangeError);
    expect(() => rewording("Why?", REWORDINGS_PER_PROMPT)).toThrow(RangeError);
  });
});
