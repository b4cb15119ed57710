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

  it("with concurrency 2 runs two batches at once, shares a backlog between free runners, and drains both", async () => {
    const batches: number[][] = [];
    let running = 0;
    let mostAtOnce = 0;
    const batcher = new MicroBatcher<number, number>(
      async (items) => {
        batches.push([...items]);
        running++;
        mostAtOnce = Math.max(mostAtOnce, running);
        await new Promise((r) => setTimeout(r, 10));
        running--;
        return items.map((x) => -x);
      },
      { maxBatchSize: 16, maxWaitMs: 0, concurrency: 2 },
    );
    // Ten same-tick items with both runners free: five each, not eight and two.
    const first = Array.from({ length: 10 }, (_, i) => batcher.submit(i));
    await expect(Promise.all(first)).resolves.toEqual(Array.from({ length: 10 }, (_, i) => -i));
    expect(batches).toEqual([
      [0, 1, 2, 3, 4],
      [5, 6, 7, 8, 9],
    ]);
    expect(mostAtOnce).toBe(2);
    // With both busy, later items wait and go to whichever runner ends first.
    const more = Array.from({ length: 20 }, (_, i) => batcher.submit(100 + i));
    await batcher.drain();
    expect(running).toBe(0);
    await expect(Promise.all(more)).resolves.toEqual(Array.from({ length: 20 }, (_, i) => -(100 + i)));
    expect(mostAtOnce).toBe(2);
    expect(batches.flat().sort((a, b) => a - b)).toEqual([...Array.from({ length: 10 }, (_, i) => i), ...Array.from({ length: 20 }, (_, i) => 100 + i)]);
    expect(() => new MicroBatcher(async (items) => items, { maxBatchSize: 1, maxWaitMs: 0, concurrency: 0 })).toThrow(RangeError);
  });

  it("gives a runner freed while another runs only its share of the work in hand, so the other is not left idle", async () => {
    const batches: number[][] = [];
    const releases: (() => void)[] = [];
    const batcher = new MicroBatcher<number, number>(
      async (items) => {
        batches.push([...items]);
        await new Promise<void>((r) => releases.push(r));
        return items;
      },
      { maxBatchSize: 16, maxWaitMs: 0, concurrency: 2 },
    );
    const settle = () => new Promise((r) => setImmediate(r));
    const results = [batcher.submit(0)];
    await settle();
    results.push(batcher.submit(1));
    await settle();
    expect(batches).toEqual([[0], [1]]);
    // Both runners busy: six more queue up.
    for (let i = 2; i < 8; i++) results.push(batcher.submit(i));
    releases[1]!();
    await settle();
    // Seven items in hand (six queued, one running): the freed runner takes four, not all six.
    expect(batches[2]).toEqual([2, 3, 4, 5]);
    expect(batcher.stats.queued).toBe(2);
    releases[0]!();
    await settle();
    // The other runner, freed next, finds the rest still queued.
    expect(batches[3]).toEqual([6, 7]);
    releases[2]!();
    releases[3]!();
    await expect(Promise.all(results)).resolves.toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    await batcher.drain();
    expect(batcher.stats).toMatchObject({ runs: 4, items: 8, queued: 0 });
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

  it("fills batches fairly between tenants: one tenant's backlog does not hold up another's item", async () => {
    const batches: string[][] = [];
    const batcher = new MicroBatcher<string, string>(
      async (items) => {
        batches.push([...items]);
        await new Promise((r) => setTimeout(r, 2));
        return items;
      },
      { maxBatchSize: 4, maxWaitMs: 0 },
    );
    const big = Array.from({ length: 12 }, (_, i) => batcher.submit(`big${i}`, "bulk"));
    const small = batcher.submit("small", "interactive");
    await Promise.all([...big, small]);
    // The first batch started as "bulk" filled it; "small" goes in the next one, where
    // first come, first served would have put it behind two more batches of "bulk".
    expect(batches[0]).toEqual(["big0", "big1", "big2", "big3"]);
    expect(batches[1]).toContain("small");
    expect(batches.flat()).toHaveLength(13);
    expect(batches.every((b) => b.length <= 4)).toBe(true);
  });

  it("weights turns by cost, so a tenant of long items cannot crowd out short ones", async () => {
    const batches: string[][] = [];
    const batcher = new MicroBatcher<string, string>(
      async (items) => {
        batches.push([...items]);
        return items;
      },
      // A long item costs as much as ten short ones; each tenant may put 10 per round.
      { maxBatchSize: 100, maxWaitMs: 0, cost: (item) => (item.startsWith("L") ? 10 : 1), quantum: 10 },
    );
    const long = Array.from({ length: 6 }, (_, i) => batcher.submit(`L${i}`, "a"));
    const short = Array.from({ length: 20 }, (_, i) => batcher.submit(`s${i}`, "b"));
    await Promise.all([...long, ...short]);
    // Each round: one long item against ten short ones.
    const shorts = (from: number) => Array.from({ length: 10 }, (_, i) => `s${from + i}`);
    expect(batches[0]).toEqual(["L0", ...shorts(0), "L1", ...shorts(10), "L2", "L3", "L4", "L5"]);
    expect(batcher.stats.items).toBe(26);
  });

  it("keeps a batch within its cost budget, but always takes one item", async () => {
    const batches: string[][] = [];
    const batcher = new MicroBatcher<string, string>(
      async (items) => {
        batches.push([...items]);
        return items;
      },
      { maxBatchSize: 100, maxWaitMs: 0, cost: (item) => Number(item.split(":")[1]), quantum: 256, maxBatchCost: 512 },
    );
    const items = ["a:256", "b:256", "c:256", "d:600", "e:10"];
    await Promise.all(items.map((item) => batcher.submit(item)));
    expect(batches).toEqual([["a:256", "b:256"], ["c:256"], ["d:600"], ["e:10"]]);
  });
});
