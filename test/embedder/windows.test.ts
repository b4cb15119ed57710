import { describe, expect, it } from "vitest";
import { TextTooLongError } from "../../src/embedder/errors.js";
import { DEFAULT_MAX_TOKENS, DEFAULT_MAX_WINDOWS, DEFAULT_WINDOW_OVERLAP } from "../../src/embedder/onnx-embedder.js";
import { splitIntoWindows, type WindowLayout } from "../../src/embedder/windows.js";

const layout: WindowLayout = { maxTokens: 10, overlap: 2, maxWindows: 50, prefixIds: [101], suffixIds: [102] };
const range = (n: number): number[] => Array.from({ length: n }, (_, i) => i);

describe("splitIntoWindows", () => {
  it("frames a short text as one window", () => {
    expect(splitIntoWindows([5, 6, 7], layout)).toEqual([{ ids: [101, 5, 6, 7, 102], weight: 3 }]);
    expect(splitIntoWindows(range(8), layout)).toHaveLength(1);
    expect(splitIntoWindows([], layout)).toEqual([{ ids: [101, 102], weight: 1 }]);
  });

  it("covers every token of a long text with framed, overlapping, full windows", () => {
    for (const n of [9, 14, 15, 100, 257]) {
      const windows = splitIntoWindows(range(n), layout);
      const seen = new Set<number>();
      let previousEnd = -1;
      for (const w of windows) {
        expect(w.ids.length).toBe(10);
        expect(w.ids[0]).toBe(101);
        expect(w.ids.at(-1)).toBe(102);
        const body = w.ids.slice(1, -1);
        for (const t of body) seen.add(t);
        if (previousEnd >= 0) expect(previousEnd - body[0]! + 1).toBeGreaterThanOrEqual(layout.overlap);
        previousEnd = body.at(-1)!;
      }
      expect(seen.size).toBe(n);
      expect(windows.at(-1)!.ids.at(-2)).toBe(n - 1);
    }
  });

  it("fits any 64 KiB prompt within the default bound, even at one word piece per byte", () => {
    const defaults: WindowLayout = {
      maxTokens: DEFAULT_MAX_TOKENS,
      overlap: DEFAULT_WINDOW_OVERLAP,
      maxWindows: DEFAULT_MAX_WINDOWS,
      prefixIds: [101],
      suffixIds: [102],
    };
    const windows = splitIntoWindows(range(64 * 1024), defaults);
    expect(windows.length).toBeLessThanOrEqual(DEFAULT_MAX_WINDOWS);
    expect(windows.length).toBe(296);
  });

  it("refuses, rather than truncates, a text past maxWindows", () => {
    expect(() => splitIntoWindows(range(1000), { ...layout, maxWindows: 5 })).toThrow(TextTooLongError);
  });
});
