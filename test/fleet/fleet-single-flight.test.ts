/**
 * The claim protocol of FleetSingleFlight against a real redis-server, with
 * several links standing in for replicas: one call per key across them, a
 * lapsed claim taken over, a long call kept claimed by renewal, and a
 * replica that acts alone when Redis does not answer.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FleetSingleFlight, type FleetRole } from "../../src/fleet/fleet-single-flight.js";
import { FleetLink } from "../../src/fleet/fleet-link.js";
import { Claims } from "../../src/fleet/claims.js";
import { RedisTestServer } from "../support/redis-server.js";
import { sleep } from "../support/eventually.js";
import { openLink } from "./support/fleet-links.js";

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

/** A fresh prefix per test, so no test sees another's claims. */
async function replicas(count: number, options: ConstructorParameters<typeof FleetSingleFlight>[1] = {}): Promise<{ flights: FleetSingleFlight[]; roles: FleetRole[]; prefix: string }> {
  const prefix = `fleet-sf-${process.pid}-${run++}:`;
  const roles: FleetRole[] = [];
  const flights: FleetSingleFlight[] = [];
  for (let i = 0; i < count; i++) {
    const link = await openLink(redis.url, prefix);
    links.push(link);
    flights.push(new FleetSingleFlight(link, { pollMinMs: 5, pollMaxMs: 50, ...options, onCall: (role) => roles.push(role) }));
  }
  return { flights, roles, prefix };
}

/** A shared "store" and an upstream that counts its calls and stores its answer after `ms`. */
function upstream(ms: number) {
  const stored = new Map<string, string>();
  let calls = 0;
  return {
    stored,
    get calls() {
      return calls;
    },
    call(key: string) {
      return {
        stored: async () => stored.get(key),
        run: async () => {
          calls++;
          await sleep(ms);
          const answer = `answer ${calls}`;
          stored.set(key, answer);
          return answer;
        },
      };
    },
  };
}

describe("FleetSingleFlight", () => {
  it("makes one call for a key however many replicas ask at once; the others get its stored answer", async () => {
    const { flights, roles } = await replicas(3);
    const llm = upstream(200);
    const answers = await Promise.all(Array.from({ length: 12 }, (_, i) => (flights[i % 3] as FleetSingleFlight).run("k", new AbortController().signal, llm.call("k"))));
    expect(llm.calls).toBe(1);
    expect(new Set(answers)).toEqual(new Set(["answer 1"]));
    expect(roles.filter((role) => role === "led")).toHaveLength(1);
    expect(roles.filter((role) => role === "waited")).toHaveLength(11);
  });

  it("answers from the store, without a call, when the answer was stored before the claim", async () => {
    const { flights } = await replicas(1);
    const llm = upstream(0);
    llm.stored.set("k", "earlier");
    await expect((flights[0] as FleetSingleFlight).run("k", new AbortController().signal, llm.call("k"))).resolves.toBe("earlier");
    expect(llm.calls).toBe(0);
  });

  it("takes over a claim whose holder crashed, once its lease lapses", async () => {
    const { flights, prefix } = await replicas(1);
    const crashed = new Claims(await openLink(redis.url, prefix));
    // Taken and never renewed nor released: what a replica killed mid-call leaves behind.
    expect(await crashed.take("k", "crashed-replica", 600)).toBe(true);
    const llm = upstream(0);
    const started = performance.now();
    await expect((flights[0] as FleetSingleFlight).run("k", new AbortController().signal, llm.call("k"))).resolves.toBe("answer 1");
    expect(llm.calls).toBe(1);
    // Not before the lease lapsed (a little slack for the timer's granularity).
    expect(performance.now() - started).toBeGreaterThanOrEqual(550);
  });

  it("takes over when the holder's call fails: the next one calls, once", async () => {
    const { flights } = await replicas(3);
    const stored = new Map<string, string>();
    let calls = 0;
    const call = {
      stored: async () => stored.get("k"),
      run: async () => {
        calls++;
        await sleep(100);
        if (calls === 1) throw new Error("upstream failed");
        stored.set("k", "second");
        return "second";
      },
    };
    const results = await Promise.allSettled(flights.map((flight) => flight.run("k", new AbortController().signal, call)));
    expect(results.filter((r) => r.status === "rejected")).toHaveLength(1);
    expect(results.filter((r) => r.status === "fulfilled").map((r) => (r as PromiseFulfilledResult<string>).value)).toEqual(["second", "second"]);
    expect(calls).toBe(2);
  });

  it("keeps a call longer than its lease claimed, by renewing it", async () => {
    const { flights } = await replicas(2, { leaseMs: 300 });
    const llm = upstream(1200);
    const [first, second] = flights as [FleetSingleFlight, FleetSingleFlight];
    const leading = first.run("k", new AbortController().signal, llm.call("k"));
    await sleep(50);
    const waiting = second.run("k", new AbortController().signal, llm.call("k"));
    await expect(Promise.all([leading, waiting])).resolves.toEqual(["answer 1", "answer 1"]);
    expect(llm.calls).toBe(1);
  });

  it("stops waiting when its caller's signal fires", async () => {
    const { flights, prefix } = await replicas(1);
    const holder = new Claims(await openLink(redis.url, prefix));
    await holder.take("k", "someone", 10_000);
    const controller = new AbortController();
    const waiting = (flights[0] as FleetSingleFlight).run("k", controller.signal, upstream(0).call("k"));
    await sleep(100);
    controller.abort(new Error("caller left"));
    await expect(waiting).rejects.toThrow();
  });

  it("calls alone, at once, when Redis does not answer (and when the link has not connected yet)", async () => {
    const down = await RedisTestServer.start();
    const link = await openLink(down.url, "fleet-down:", 200);
    links.push(link);
    await down.stop();
    const fallbacks: unknown[] = [];
    const roles: FleetRole[] = [];
    const flight = new FleetSingleFlight(link, { onFallback: (error) => fallbacks.push(error), onCall: (role) => roles.push(role) });
    const llm = upstream(0);
    await expect(flight.run("k", new AbortController().signal, llm.call("k"))).resolves.toBe("answer 1");

    const unconnected = FleetLink.start({ url: "redis://127.0.0.1:1", keyPrefix: "fleet-never:" });
    links.push(unconnected);
    const lone = new FleetSingleFlight(unconnected, { onFallback: (error) => fallbacks.push(error), onCall: (role) => roles.push(role) });
    await expect(lone.run("k2", new AbortController().signal, llm.call("k2"))).resolves.toBe("answer 2");
    expect(roles).toEqual(["alone", "alone"]);
    expect(fallbacks).toHaveLength(2);
  });
});
