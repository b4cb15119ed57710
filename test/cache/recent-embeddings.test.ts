/**
 * The memo of recent prompt embeddings on its own: per scope, least recently
 * used out, in-flight computations shared, failures and flushed namespaces
 * not kept, and every caller handed its own copy.
 */
import { describe, expect, it } from "vitest";
import { RecentEmbeddings } from "../../src/cache/recent-embeddings.js";

/** A computation that counts its runs and returns a vector made from `seed`. */
function computing(seed: number): { runs: number; compute: () => Promise<Float32Array> } {
  const counter = {
    runs: 0,
    compute: async () => {
      counter.runs++;
      await new Promise((r) => setTimeout(r, 1));
      return Float32Array.from([seed, seed + 1, seed + 2]);
    },
  };
  return counter;
}

describe("RecentEmbeddings", () => {
  it("computes a prompt once per scope, and hands each caller its own copy", async () => {
    const memo = new RecentEmbeddings(8);
    const a = computing(1);
    const first = await memo.embed("ns", "scope-1", "what is rust?", a.compute);
    first[0] = 99;
    expect(Array.from(await memo.embed("ns", "scope-1", "what is rust?", a.compute))).toEqual([1, 2, 3]);
    expect(a.runs).toBe(1);
    // Another scope, even of the same namespace, computes its own.
    await memo.embed("ns", "scope-2", "what is rust?", a.compute);
    expect(a.runs).toBe(2);
    expect(memo.size).toBe(2);
  });

  it("shares one computation among identical prompts in flight, and keeps no failure", async () => {
    let reused = 0;
    const memo = new RecentEmbeddings(8, () => reused++);
    const a = computing(5);
    const both = await Promise.all([memo.embed("ns", "s", "p", a.compute), memo.embed("ns", "s", "p", a.compute)]);
    expect(a.runs).toBe(1);
    // Told once: for the call that shared the other's computation.
    expect(reused).toBe(1);
    await memo.embed("ns", "s", "p", a.compute);
    expect(reused).toBe(2);
    expect(both[0]).not.toBe(both[1]);
    expect(Array.from(both[1]!)).toEqual([5, 6, 7]);

    let failures = 0;
    const failing = async (): Promise<Float32Array> => {
      failures++;
      throw new Error("model down");
    };
    await expect(Promise.all([memo.embed("ns", "s", "q", failing), memo.embed("ns", "s", "q", failing)])).rejects.toThrow("model down");
    expect(failures).toBe(1);
    await expect(memo.embed("ns", "s", "q", failing)).rejects.toThrow("model down");
    expect(failures).toBe(2);
  });

  it("drops the least recently used prompt past its size", async () => {
    const memo = new RecentEmbeddings(2);
    const a = computing(1);
    await memo.embed("ns", "s", "one", a.compute);
    await memo.embed("ns", "s", "two", a.compute);
    await memo.embed("ns", "s", "one", a.compute); // "one" is now the most recent
    await memo.embed("ns", "s", "three", a.compute);
    expect(a.runs).toBe(3);
    expect(memo.size).toBe(2);
    await memo.embed("ns", "s", "one", a.compute);
    expect(a.runs).toBe(3);
    await memo.embed("ns", "s", "two", a.compute);
    expect(a.runs).toBe(4);
  });

  it("forgets a flushed namespace, also what was in flight, and keeps the others", async () => {
    const memo = new RecentEmbeddings(8);
    const a = computing(1);
    await memo.embed("gone", "s-gone", "p", a.compute);
    await memo.embed("kept", "s-kept", "p", a.compute);
    const inFlight = memo.embed("gone", "s-gone", "late", a.compute);
    memo.forget("gone");
    await inFlight;
    expect(memo.size).toBe(1);
    await memo.embed("kept", "s-kept", "p", a.compute);
    expect(a.runs).toBe(3);
    await memo.embed("gone", "s-gone", "p", a.compute);
    await memo.embed("gone", "s-gone", "late", a.compute);
    expect(a.runs).toBe(5);
    memo.forget();
    expect(memo.size).toBe(0);
  });

  it("keeps nothing with a size of 0, and refuses a size that is not a whole number", async () => {
    const memo = new RecentEmbeddings(0);
    const a = computing(1);
    await Promise.all([memo.embed("ns", "s", "p", a.compute), memo.embed("ns", "s", "p", a.compute)]);
    expect(a.runs).toBe(2);
    expect(memo.size).toBe(0);
    expect(() => new RecentEmbeddings(-1)).toThrow(RangeError);
    expect(() => new RecentEmbeddings(1.5)).toThrow(RangeError);
  });

  it("holds at most 4 Mi characters of prompts, dropping the oldest", async () => {
    const memo = new RecentEmbeddings(64);
    const a = computing(1);
    for (let i = 0; i < 30; i++) await memo.embed("ns", "s", `${i} ${"y".repeat(200_000)}`, a.compute);
    // 4 MiB / 200,000 characters: 20 prompts fit.
    expect(memo.size).toBe(20);
    await memo.embed("ns", "s", `29 ${"y".repeat(200_000)}`, a.compute);
    expect(a.runs).toBe(30);
    await memo.embed("ns", "s", `0 ${"y".repeat(200_000)}`, a.compute);
    expect(a.runs).toBe(31);
  });

  it("does not keep a prompt longer than its share of the character budget", async () => {
    const memo = new RecentEmbeddings(8);
    const a = computing(1);
    const long = "x".repeat(300_000);
    await memo.embed("ns", "s", long, a.compute);
    await memo.embed("ns", "s", long, a.compute);
    expect(a.runs).toBe(2);
    expect(memo.size).toBe(0);
  });
});
