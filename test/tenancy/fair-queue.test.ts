/** Deficit round robin between tenants: order, cost weighting, removal. */
import { describe, expect, it } from "vitest";
import { FairQueue } from "../../src/tenancy/fair-queue.js";

function drain<T>(queue: FairQueue<T>): T[] {
  const out: T[] = [];
  for (let item = queue.shift(); item !== undefined; item = queue.shift()) out.push(item);
  return out;
}

describe("FairQueue", () => {
  it("serves tenants in turn, first come first served within each", () => {
    const queue = new FairQueue<string>();
    for (let i = 0; i < 4; i++) queue.push("a", `a${i}`);
    queue.push("b", "b0");
    queue.push("c", "c0");
    queue.push("c", "c1");
    expect(queue.size).toBe(7);
    expect(queue.sizeOf("a")).toBe(4);
    expect(drain(queue)).toEqual(["a0", "b0", "c0", "a1", "c1", "a2", "a3"]);
    expect(queue.size).toBe(0);
    expect(queue.sizeOf("a")).toBe(0);
  });

  it("weights turns by cost: a tenant of cheap items gets more of them per round", () => {
    const queue = new FairQueue<string>(10);
    for (let i = 0; i < 3; i++) queue.push("big", `B${i}`, 10);
    for (let i = 0; i < 25; i++) queue.push("small", `s${i}`, 1);
    const order = drain(queue);
    // One big item (10) per round against ten small ones (1 each).
    expect(order.slice(0, 12)).toEqual(["B0", ...Array.from({ length: 10 }, (_, i) => `s${i}`), "B1"]);
    expect(order).toHaveLength(28);
  });

  it("serves an item dearer than the quantum after enough rounds", () => {
    const queue = new FairQueue<string>(1);
    queue.push("a", "huge", 3);
    queue.push("b", "b0");
    queue.push("b", "b1");
    queue.push("b", "b2");
    expect(drain(queue)).toEqual(["b0", "b1", "huge", "b2"]);
  });

  it("a tenant arriving late gets the next turn after the current one", () => {
    const queue = new FairQueue<string>();
    for (let i = 0; i < 5; i++) queue.push("a", `a${i}`);
    expect(queue.shift()).toBe("a0");
    queue.push("late", "L");
    expect(drain(queue)).toEqual(["L", "a1", "a2", "a3", "a4"]);
  });

  it("leaves an item dearer than the cost asked for first in line", () => {
    const queue = new FairQueue<string>(10);
    queue.push("a", "a0", 8);
    queue.push("a", "a1", 2);
    expect(queue.shift(5)).toBeUndefined();
    expect(queue.shift(8)).toBe("a0");
    expect(queue.shift(1)).toBeUndefined();
    expect(queue.shift()).toBe("a1");
  });

  it("removes a given item, and the newest item of the busiest tenant", () => {
    const queue = new FairQueue<string>();
    for (const item of ["a0", "a1", "a2"]) queue.push("a", item);
    queue.push("b", "b0");
    expect(queue.largest()).toEqual({ tenant: "a", queued: 3 });
    expect(queue.popNewest("a")).toBe("a2");
    expect(queue.remove("a", "a0")).toBe(true);
    expect(queue.remove("a", "a0")).toBe(false);
    expect(queue.remove("b", "b0")).toBe(true);
    expect(queue.popNewest("b")).toBeUndefined();
    expect(queue.size).toBe(1);
    expect(drain(queue)).toEqual(["a1"]);
    expect(queue.largest()).toBeUndefined();
  });

  it("refuses costs and quanta that are not finite and positive", () => {
    expect(() => new FairQueue(0)).toThrow(RangeError);
    const queue = new FairQueue<string>();
    expect(() => queue.push("a", "x", 0)).toThrow(RangeError);
    expect(() => queue.push("a", "x", Number.NaN)).toThrow(RangeError);
    expect(queue.size).toBe(0);
  });
});
