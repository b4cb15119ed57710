/**
 * FleetRateLimiter against a real redis-server, several limiters standing in
 * for replicas: one bucket per key for all of them, decided without waiting
 * for Redis, and each replica limiting alone while Redis is away.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RateLimiter } from "../../src/auth/rate-limiter.js";
import type { FleetLink } from "../../src/fleet/fleet-link.js";
import { FleetRateLimiter } from "../../src/fleet/fleet-rate-limiter.js";
import { RedisTestServer } from "../support/redis-server.js";
import { sleep } from "../support/eventually.js";
import { connected, openLink } from "./support/fleet-links.js";

let redis: RedisTestServer;
const links: FleetLink[] = [];
let run = 0;

beforeAll(async () => {
  redis = await RedisTestServer.start();
});
afterAll(async () => {
  await Promise.all(links.map((link) => link.close()));
  await redis?.stop();
});

async function replicas(count: number): Promise<{ limiters: FleetRateLimiter[]; links: FleetLink[] }> {
  const prefix = `fleet-rate-${process.pid}-${run++}:`;
  const made: FleetLink[] = [];
  for (let i = 0; i < count; i++) made.push(await openLink(redis.url, prefix));
  links.push(...made);
  return { limiters: made.map((link) => new FleetRateLimiter(link)), links: made };
}

/** A slow refill (one token every 10 s), so the test measures the bucket, not the refill. */
const LIMIT = { requestsPerSecond: 0.1, burst: 10 };

describe("FleetRateLimiter", () => {
  it("admits one burst for the whole fleet, where per-replica limiters would admit one each", async () => {
    const { limiters } = await replicas(3);
    let admitted = 0;
    for (let i = 0; i < 45; i++) {
      if ((limiters[i % 3] as FleetRateLimiter).take("alice", LIMIT).allowed) admitted++;
      // Each replica hears the fleet's answer before its next decision (requests a few ms apart).
      await sleep(5);
    }
    // Per replica, it would be 30. The overshoot: what the other replicas admitted before they heard the bucket was empty.
    expect(admitted).toBeGreaterThanOrEqual(LIMIT.burst);
    expect(admitted).toBeLessThanOrEqual(LIMIT.burst + 2);

    const alone = new RateLimiter();
    let perReplica = 0;
    for (let i = 0; i < 45; i++) if (alone.take(`replica-${i % 3}`, LIMIT).allowed) perReplica++;
    expect(perReplica).toBe(30);
  });

  it("says how long until the fleet has a token again", async () => {
    const { limiters } = await replicas(2);
    const [a, b] = limiters as [FleetRateLimiter, FleetRateLimiter];
    const limit = { requestsPerSecond: 1, burst: 2 };
    expect(a.take("bob", limit).allowed).toBe(true);
    await sleep(20);
    expect(a.take("bob", limit).allowed).toBe(true);
    await sleep(20);
    // b's own copy is full, but its first admission tells it the fleet's bucket is now in debt.
    expect(b.take("bob", limit).allowed).toBe(true);
    await sleep(20);
    const refused = b.take("bob", limit);
    expect(refused.allowed).toBe(false);
    if (!refused.allowed) expect(refused.retryAfterMs).toBeGreaterThan(1000);
  });

  it("keeps buckets apart per key, and never keeps a caller waiting", async () => {
    const { limiters } = await replicas(1);
    const limiter = limiters[0] as FleetRateLimiter;
    const started = performance.now();
    for (let i = 0; i < 10; i++) expect(limiter.take("carol", LIMIT).allowed).toBe(true);
    expect(limiter.take("dave", LIMIT).allowed).toBe(true);
    // Synchronous decisions: no round trip inside take.
    expect(performance.now() - started).toBeLessThan(50);
  });

  it("limits each replica on its own while Redis is away, and shares the bucket again once it is back", async () => {
    const { limiters, links: [link] } = await replicas(2);
    const [a, b] = limiters as [FleetRateLimiter, FleetRateLimiter];
    await redis.stop();
    try {
      let admitted = 0;
      for (let i = 0; i < 30; i++) {
        if ((i % 2 === 0 ? a : b).take("erin", LIMIT).allowed) admitted++;
        await sleep(2);
      }
      // Each replica its own burst: today's per-replica limit.
      expect(admitted).toBe(2 * LIMIT.burst);
    } finally {
      await redis.restart();
    }
    // Back: the next admissions are reconciled (a fresh Redis: the bucket starts full).
    for (let i = 0; i < 50 && !connected(link as FleetLink).isReady; i++) await sleep(100);
    await sleep(1100);
    expect(a.take("frank", LIMIT).allowed).toBe(true);
    await sleep(50);
    expect(await connected(link as FleetLink).command(["HGET", (link as FleetLink).key("rate", "frank"), "tokens"])).toBe("9");
  });
});
