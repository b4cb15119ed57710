/**
 * FleetCounters against a real redis-server: adds are batched (nothing is
 * written before a flush), read back summed over every replica, and kept
 * when Redis refuses a batch.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FleetCounters } from "../../src/fleet/fleet-counters.js";
import type { FleetLink } from "../../src/fleet/fleet-link.js";
import { RedisTestServer } from "../support/redis-server.js";
import { connected, openLink } from "./support/fleet-links.js";

let redis: RedisTestServer;
const links: FleetLink[] = [];
const counters: FleetCounters[] = [];
let run = 0;

beforeAll(async () => {
  redis = await RedisTestServer.start();
});
afterAll(async () => {
  for (const c of counters) await c.close();
  await Promise.all(links.map((link) => link.close()));
  await redis?.stop();
});

/** Counters of `count` replicas under a fresh prefix, flushed only when told (or after `maxPending` adds). */
async function replicas(count: number, maxPending = 1000): Promise<{ replicas: FleetCounters[]; link: FleetLink }> {
  const prefix = `fleet-counters-${process.pid}-${run++}:`;
  const made: FleetCounters[] = [];
  let link: FleetLink | undefined;
  for (let i = 0; i < count; i++) {
    link = await openLink(redis.url, prefix);
    links.push(link);
    const c = new FleetCounters(link, { flushMs: 3_600_000, maxPending });
    counters.push(c);
    made.push(c);
  }
  return { replicas: made, link: link as FleetLink };
}

describe("FleetCounters", () => {
  it("writes nothing until a batch is flushed, and then one hash per namespace plus the sum", async () => {
    const { replicas: [a], link } = await replicas(1);
    const counter = a as FleetCounters;
    counter.add("ns1", "lookups", 1);
    counter.add("ns1", "lookups", 1);
    counter.add("ns2", "llmCalls", 1);
    const connection = connected(link);
    expect(await connection.command(["KEYS", `${link.prefix}*`])).toEqual([]);
    // Its own unwritten adds are read back at once.
    expect((await counter.read("ns1"))?.lookups).toBe(2);
    await counter.flush();
    expect(await connection.command(["HGETALL", link.key("stats", "ns", "ns1")])).toEqual(["lookups", "2"]);
    expect(await connection.command(["HGETALL", link.key("stats", "all")])).toEqual(["lookups", "2", "llmCalls", "1"]);
  });

  it("flushes by itself after maxPending adds", async () => {
    const { replicas: [a], link } = await replicas(1, 5);
    for (let i = 0; i < 5; i++) (a as FleetCounters).add("ns", "stores", 1);
    await (a as FleetCounters).flush();
    expect(await connected(link).command(["HGET", link.key("stats", "ns", "ns"), "stores"])).toBe("5");
  });

  it("reads the same sums on every replica once each has flushed", async () => {
    const { replicas: [a, b, c] } = await replicas(3);
    (a as FleetCounters).add("shared", "lookups", 3);
    (b as FleetCounters).add("shared", "lookups", 4);
    (c as FleetCounters).add("other", "exactHits", 2);
    (c as FleetCounters).add("shared", "tokensSaved", 12.4);
    await Promise.all([a, b, c].map((x) => (x as FleetCounters).flush()));
    for (const x of [a, b, c] as FleetCounters[]) {
      const shared = await x.read("shared");
      expect(shared).toMatchObject({ lookups: 7, tokensSaved: 12, exactHits: 0 });
      expect(await x.read()).toMatchObject({ lookups: 7, tokensSaved: 12, exactHits: 2 });
    }
  });

  it("keeps a batch Redis refused and writes it with the next one", async () => {
    const { replicas: [a], link } = await replicas(1);
    const counter = a as FleetCounters;
    counter.add("ns", "misses", 2);
    await redis.stop();
    try {
      await counter.flush();
      expect(await counter.read("ns")).toBeUndefined();
    } finally {
      await redis.restart();
    }
    counter.add("ns", "misses", 1);
    // The connection comes back by itself (backoff capped at 200 ms here).
    for (let i = 0; i < 50 && !connected(link).isReady; i++) await new Promise((resolve) => setTimeout(resolve, 100));
    await counter.flush();
    expect(await connected(link).command(["HGET", link.key("stats", "ns", "ns"), "misses"])).toBe("3");
  });
});
