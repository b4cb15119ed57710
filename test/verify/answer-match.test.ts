import { describe, expect, it } from "vitest";
import { cosineSimilarity as cosine } from "../../src/embedder/pooling.js";
import { DEFAULT_ANSWER_MATCH, judgeAnswers, normalizeAnswer } from "../../src/verify/answer-match.js";

/** A stand-in for the answer embedder: fixed vectors per text, and a count of calls. */
function vectors(table: Record<string, number[]>): { embed: (t: string) => Promise<Float32Array>; calls: () => number } {
  let calls = 0;
  return {
    embed: async (text) => {
      calls++;
      const v = table[text];
      if (v === undefined) throw new Error(`no vector for ${text}`);
      return Float32Array.from(v);
    },
    calls: () => calls,
  };
}

describe("answer equivalence", () => {
  it("normalises case, white space, NFC and trailing sentence punctuation only", () => {
    expect(normalizeAnswer("  Paris  is\nthe capital.  ")).toBe("paris is the capital");
    expect(normalizeAnswer("Cafe\u0301!")).toBe(normalizeAnswer("café"));
    expect(normalizeAnswer("5 miles.")).not.toBe(normalizeAnswer("50 miles."));
    expect(normalizeAnswer("Yes, it is.")).not.toBe(normalizeAnswer("No, it is not."));
  });

  it("matches equal answers without embedding them", async () => {
    const e = vectors({});
    expect(await judgeAnswers("Paris.", "paris", DEFAULT_ANSWER_MATCH, e.embed)).toEqual({ match: true, similarity: 1 });
    expect(e.calls()).toBe(0);
  });

  it("otherwise compares the answers' embeddings with the threshold", async () => {
    const e = vectors({ "It is Paris.": [1, 0.1, 0], "Paris, of course": [1, 0.12, 0], "Canberra.": [0.2, 1, 0] });
    const close = await judgeAnswers("It is Paris.", "Paris, of course", DEFAULT_ANSWER_MATCH, e.embed);
    expect(close.match).toBe(true);
    expect(close.similarity).toBeGreaterThan(0.99);
    const far = await judgeAnswers("It is Paris.", "Canberra.", DEFAULT_ANSWER_MATCH, e.embed);
    expect(far.match).toBe(false);
    expect(far.similarity).toBeLessThan(DEFAULT_ANSWER_MATCH);
  });

  it("with a threshold of 1 only normalised equality counts (nothing is embedded)", async () => {
    const e = vectors({});
    expect((await judgeAnswers("It is Paris.", "Paris, of course", 1, e.embed)).match).toBe(false);
    expect(e.calls()).toBe(0);
  });

  it("cosine handles zero vectors and refuses mismatched lengths", () => {
    expect(cosine(Float32Array.from([0, 0]), Float32Array.from([1, 0]))).toBe(0);
    expect(cosine(Float32Array.from([2, 0]), Float32Array.from([1, 0]))).toBeCloseTo(1, 12);
    expect(() => cosine(Float32Array.from([1]), Float32Array.from([1, 0]))).toThrow(RangeError);
  });
});
