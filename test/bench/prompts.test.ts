/**
 * The benchmarks' prompts: what the load benchmarks rely on to run every
 * server setting at its default, the memo of recent embeddings included.
 */
import { describe, expect, it } from "vitest";
import { DEFAULT_RECENT_EMBEDDINGS } from "../../src/cache/recent-embeddings.js";
import {
  latencyMisses,
  latencyRewordings,
  LOAD_REWORDINGS,
  lookupQueries,
  MISS_PROMPTS,
  missPrompt,
  paraphrase,
  PromptCursor,
  REWORDINGS_PER_PROMPT,
  rewording,
  spreadPrompts,
  storeOnlyPrompt,
} from "../../bench/lib/prompts.js";

describe("bench prompts", () => {
  const stored = spreadPrompts(500, 50_000);

  it("lookupQueries sends no prompt twice before the memo of recent embeddings has let it go", () => {
    const queries = lookupQueries(stored);
    expect(queries).toHaveLength(2 * LOAD_REWORDINGS * stored.length);
    expect(new Set(queries).size).toBe(queries.length);
    expect(queries.length).toBeGreaterThan(2 * DEFAULT_RECENT_EMBEDDINGS);
    // Alternately a rewording of a stored prompt (the first pass: the paraphrase every benchmark used before) and a miss.
    expect(queries.slice(0, 4)).toEqual([paraphrase(stored[0]!), missPrompt(0), paraphrase(stored[1]!), missPrompt(1)]);
    expect(queries[2 * stored.length]).toBe(rewording(stored[0]!, 1));
    expect(stored.some((p) => queries.includes(p))).toBe(false);
  });

  it("keeps prompts for sequential latencies that the load never sends", () => {
    const load = new Set(lookupQueries(stored));
    const rewordings = latencyRewordings(stored);
    const misses = latencyMisses(stored.length, 530);
    expect(rewordings).toHaveLength((REWORDINGS_PER_PROMPT - LOAD_REWORDINGS) * stored.length);
    expect(new Set([...rewordings, ...misses]).size).toBe(rewordings.length + misses.length);
    expect([...rewordings, ...misses].filter((p) => load.has(p))).toEqual([]);
    expect(() => latencyMisses(stored.length, MISS_PROMPTS)).toThrow(RangeError);
  });

  it("makes MISS_PROMPTS distinct misses, none with a number, and refuses a stored set it cannot pair with distinct misses", () => {
    const misses = Array.from({ length: MISS_PROMPTS }, (_, i) => missPrompt(i));
    expect(new Set(misses).size).toBe(MISS_PROMPTS);
    expect(misses.filter((m) => /\d/.test(m))).toEqual([]);
    expect(() => lookupQueries(spreadPrompts(Math.floor(MISS_PROMPTS / LOAD_REWORDINGS) + 1))).toThrow(RangeError);
    expect(() => rewording("Why?", REWORDINGS_PER_PROMPT)).toThrow(RangeError);
  });

  it("makes store-only prompts distinct and without a number", () => {
    const prompts = Array.from({ length: 5_000 }, (_, i) => storeOnlyPrompt(i));
    expect(new Set(prompts).size).toBe(prompts.length);
    expect(prompts.filter((p) => /\d/.test(p))).toEqual([]);
  });

  it("a PromptCursor hands prompts out in turn across the phases that share it, round and round", () => {
    const cursor = new PromptCursor(["a", "b", "c"]);
    expect([cursor.take(), cursor.take()]).toEqual(["a", "b"]);
    // A load generator took two from here itself.
    expect(cursor.position).toBe(2);
    cursor.advance(2);
    expect([cursor.take(), cursor.take()]).toEqual(["b", "c"]);
  });
});
