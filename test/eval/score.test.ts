import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { categoryOf, DatasetError, NOTE_CATEGORIES, parseDataset, type IntentLine } from "../../src/eval/dataset.js";
import { renderPlot } from "../../src/eval/plot.js";
import { bestThreshold, parseSweep, scoreAt, sweep, thresholdsOf, type Observation } from "../../src/eval/score.js";

const line = (role: IntentLine["role"], intent: string, note?: string): IntentLine => ({ role, intent, prompt: `${role} ${intent}`, line: 1, ...(note ? { note } : {}) });
const served = (l: IntentLine, intent: string | undefined, similarity: number, kind: "exact" | "semantic" = "semantic"): Observation =>
  intent === undefined ? { line: l, bestSimilarity: similarity } : { line: l, bestSimilarity: similarity, served: { intent, similarity, kind } };

describe("scoring", () => {
  const observations: Observation[] = [
    served(line("para", "a"), "a", 0.95), // correct from 0.95 down
    served(line("para", "b"), "c", 0.9), // a false hit (wrong intent) from 0.9 down
    served(line("para", "d"), undefined, 0.97), // the guard refused everything: never served
    served(line("para", "e"), "e", 1, "exact"), // exact: served at every threshold
    served(line("near", "a~near1", "different number: 5 vs 50"), "a", 0.92),
    served(line("near", "b~near1", "negation/opposite: on vs off"), "b", 0.8),
  ];

  it("follows the intents file's rules at one threshold", () => {
    const m = scoreAt(observations, 0.9);
    expect(m).toMatchObject({ paras: 4, nears: 2, correctHits: 2, falseHitsParas: 1, falseHitsNears: 1, falseHits: 2, paraMisses: 1 });
    expect(m.hitRate).toBe(2 / 4);
    expect(m.falseHitRate).toBe(2 / 6);
    expect(m.precision).toBe(2 / 4);
    expect(m.falseHitsByCategory["different number"]).toBe(1);
    expect(m.falseHitsByCategory["negation/opposite"]).toBe(0);
  });

  it("serves a candidate at every threshold up to its similarity (with the core's float slack)", () => {
    expect(scoreAt(observations, 0.95 + 5e-7).correctHits).toBe(2);
    expect(scoreAt(observations, 0.96).correctHits).toBe(1); // only the exact hit
    expect(scoreAt(observations, 1).precision).toBe(1);
    expect(scoreAt([served(line("near", "x~near1", "different entity: y"), "x", 0.5)], 0.6).precision).toBeNull();
  });

  it("picks the threshold with the best hit rate at the target precision, then fewer false hits, then the higher threshold", () => {
    const more = [...observations, served(line("para", "f"), "f", 0.85)];
    const metrics = sweep(more, thresholdsOf({ from: 0.5, to: 0.99, step: 0.01 }));
    // 0.93..0.95: 2 correct, 0 false (precision 1); 0.91..0.92: 2 correct, 1 false;
    // 0.86..0.90: 2 correct, 2 false; 0.81..0.85: 3 correct, 2 false (0.6); below: 3 correct, 3 false.
    expect(bestThreshold(metrics, 1)?.threshold).toBe(0.95);
    expect(bestThreshold(metrics, 0.7)?.threshold).toBe(0.95);
    expect(bestThreshold(metrics, 0.6)?.threshold).toBe(0.85);
    expect(bestThreshold(metrics, 0.5)?.threshold).toBe(0.85);
    expect(bestThreshold(sweep([served(line("near", "x~near1", "different entity: y"), "x", 0.99)], [0.5, 0.9]), 0.5)).toBeUndefined();
  });

  it("builds sweeps without float drift", () => {
    const ts = thresholdsOf({ from: 0.5, to: 0.99, step: 0.01 });
    expect(ts).toHaveLength(50);
    expect(ts[0]).toBe(0.5);
    expect(ts[40]).toBe(0.9);
    expect(ts.at(-1)).toBe(0.99);
    expect(parseSweep("0.8:0.9:0.05")).toEqual({ from: 0.8, to: 0.9, step: 0.05 });
    expect(() => parseSweep("0.9:0.8:0.01")).toThrow(RangeError);
    expect(() => parseSweep("abc")).toThrow(/from:to:step/);
  });
});

describe("intents files", () => {
  it("reads the development set as its README describes it", () => {
    const data = parseDataset(readFileSync(new URL("../../eval/data/intents.jsonl", import.meta.url), "utf8"));
    expect([data.seeds.length, data.paras.length, data.nears.length]).toEqual([114, 252, 162]);
    const counts = Object.fromEntries(NOTE_CATEGORIES.map((c) => [c, data.nears.filter((n) => categoryOf(n) === c).length]));
    expect(counts).toEqual({
      "different entity": 65,
      "different question": 27,
      "different constraint": 25,
      "negation/opposite": 14,
      "different format/language": 9,
      "different number": 8,
      "different time frame": 8,
      "swapped direction": 6,
    });
  });

  it("names every bad line", () => {
    const text = [
      '{"intent":"a","role":"seed","prompt":"x"}',
      "not json",
      '{"intent":"b","role":"para","prompt":"y"}',
      '{"intent":"a","role":"near","prompt":"z"}',
      '{"intent":"c","role":"other","prompt":"w"}',
      '{"intent":"a","role":"seed","prompt":""}',
    ].join("\n");
    try {
      parseDataset(text, "bad.jsonl");
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(DatasetError);
      const message = (error as Error).message;
      expect(message).toContain("bad.jsonl");
      expect(message).toContain("line 2: not JSON");
      expect(message).toContain('line 3: para of intent "b", which has no seed');
      expect(message).toContain('line 4: near intent "a" is seeded');
      expect(message).toContain("line 5");
      expect(message).toContain("line 6");
    }
  });
});

describe("plot", () => {
  it("renders a standalone SVG with a curve per series, escaped text and the target line", () => {
    const observations = [served(line("para", "a"), "a", 0.95), served(line("near", "a~near1", "different entity: b"), "a", 0.9)];
    const points = sweep(observations, [0.8, 0.9, 0.95]);
    const svg = renderPlot({
      title: "t <&> x",
      series: [
        { label: "guard off", color: "#888", points, marks: [{ threshold: 0.9, label: "operating" }] },
        { label: "guard on", color: "#00f", points },
      ],
      targetPrecision: 0.95,
    });
    expect(svg.startsWith("<svg xmlns=\"http://www.w3.org/2000/svg\"")).toBe(true);
    expect(svg.trimEnd().endsWith("</svg>")).toBe(true);
    expect(svg).toContain("t &lt;&amp;&gt; x");
    expect(svg.match(/<path /g)).toHaveLength(2);
    expect(svg).toContain("target precision 0.95");
    expect(svg).toContain("operating 0.90: 100.0% / 50.0%");
  });
});
