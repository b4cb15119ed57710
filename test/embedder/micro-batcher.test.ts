import { describe, expect, it } from "vitest";
import { MicroBatcher } from "../../src/embedder/micro-batcher.js";

describe("MicroBatcher", () => {
  it("coalesces same-tick calls, bounds batch size, and queues calls made during a run", async () => {
    const batches: number[][] = [];
    const batcher = new MicroBatcher<number, number>(
      async (items) => {
        batches.push([...items]);
        await new Promise((r) => setTimeout(r, 5));
        return items.map((x) => x * 2);
      },
      { maxBatchSize: 4, maxWaitMs: 0 },
    );
    const results = await Promise.all(Array.from({ length: 10 }, (_, i) => batcher.submit(i)));
    expect(results).toEqual(Array.from({ length: 10 }, (_, i) => i * 2));
    expect(batches).toEqual([[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]);
    expect(batcher.stats).toMatchObject({ runs: 3, items: 10, largestBatch: 4, queued: 0 });
  });

  it("rejects only the callers of the failing batch", async () => {
    let run = 0;
    const batcher = new MicroBatcher<number, number>(
      async (items) => {
        run++;
        if (run === 1) throw new Error("boom");
        return items;
      },
      { maxBatchSize: 2, maxWaitMs: 1 },
    );
    const settled = await Promise.allSettled([0, 1, 2, 3].map((i) => batcher.submit(i)));
    expect(settled.map((s) => s.status)).toEqual(["rejected", "rejected", "fulfilled", "fulfilled"]);
    await expect(batcher.submit(9)).resolves.toBe(9);
  });

  it("drain waits for queued and running work", async () => {
    let finished = 0;
    const batcher = new MicroBatcher<number, number>(
      async (items) => {
        await new Promise((r) => setTimeout(r, 10));
        finished += items.length;
        return items;
      },
      { maxBatchSize: 1, maxWaitMs: 0 },
    );
    void batcher.submit(1);
    void batcher.submit(2);
    await batcher.drain();
    expect(finished).toBe(2);
  });
});
