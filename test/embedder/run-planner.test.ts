import { describe, expect, it } from "vitest";
import { bertRunCost, planRuns } from "../../src/embedder/run-planner.js";

describe("planRuns", () => {
  const cost = bertRunCost(384);

  it("keeps similar lengths in one run", () => {
    expect(planRuns([10, 11, 12, 12, 14], cost)).toEqual([[0, 5]]);
  });

  it("cuts prompts twice as long as the others into a run of their own", () => {
    // A run's fixed cost (about 12 tokens, as measured) is less than padding two 13-14 token prompts to 26.
    expect(planRuns([13, 14, 25, 26], cost)).toEqual([
      [0, 2],
      [2, 4],
    ]);
  });

  it("separates short prompts from long windows", () => {
    const lengths = [8, 9, 10, 12, 250, 256, 256];
    expect(planRuns(lengths, cost)).toEqual([
      [0, 4],
      [4, 7],
    ]);
  });

  it("covers every row exactly once", () => {
    const lengths = Array.from({ length: 32 }, (_, i) => 5 + ((i * 37) % 250)).sort((a, b) => a - b);
    const plan = planRuns(lengths, cost);
    expect(plan[0]![0]).toBe(0);
    expect(plan.at(-1)![1]).toBe(32);
    for (const [i, [start]] of plan.slice(1).entries()) expect(start).toBe(plan[i]![1]);
  });

  it("caps the padded tokens of a run, except for a single row", () => {
    const windows = Array.from({ length: 32 }, () => 256);
    const plan = planRuns(windows, cost, 2048);
    expect(plan).toHaveLength(4);
    for (const [start, end] of plan) expect(end - start).toBe(8);
    expect(planRuns([300], cost, 100)).toEqual([[0, 1]]);
  });

  it("returns no runs for no rows", () => {
    expect(planRuns([], cost)).toEqual([]);
  });
});
