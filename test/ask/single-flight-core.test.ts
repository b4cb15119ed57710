import { Code, ConnectError } from "@connectrpc/connect";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { SingleFlight } from "../../src/ask/single-flight.js";
import type { LlmCompletion } from "../../src/llm/types.js";
import { startOpenAiServer, type OpenAiTestServer } from "../support/openai-server.js";
import { ask, asCallerSees, rejection, testClient } from "../support/llm-client.js";

/** A promise settled from outside, to hold a shared call open. */
function deferred<T>() {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

describe("SingleFlight", () => {
  it("runs one call for 20 concurrent callers; exactly one is the leader; the key is removed after", async () => {
    const flight = new SingleFlight<string, number>();
    const gate = deferred<number>();
    let calls = 0;
    const runs = Array.from({ length: 20 }, () =>
      flight.run("k", () => {
        calls++;
        return gate.promise;
      }),
    );
    expect(flight.has("k")).toBe(true);
    expect(flight.waiting("k")).toBe(20);
    gate.resolve(42);
    const results = await Promise.all(runs);
    expect(calls).toBe(1);
    expect(results.map((r) => r.value)).toEqual(Array(20).fill(42));
    expect(results.filter((r) => r.leader)).toHaveLength(1);
    expect(results[0]?.leader).toBe(true);
    expect(flight.has("k")).toBe(false);
    expect(flight.size).toBe(0);
  });

  it("shares a failure with every caller and removes the key", async () => {
    const flight = new SingleFlight<string, number>();
    const gate = deferred<number>();
    let calls = 0;
    const runs = Array.from({ length: 20 }, () =>
      flight.run("k", () => {
        calls++;
        return gate.promise;
      }),
    );
    const boom = new ConnectError("upstream down", Code.Unavailable);
    gate.reject(boom);
    const outcomes = await Promise.allSettled(runs);
    expect(calls).toBe(1);
    for (const outcome of outcomes) expect(outcome).toEqual({ status: "rejected", reason: boom });
    expect(flight.has("k")).toBe(false);
  });

  it("the key is gone by the time any caller sees the result, so the next run calls again", async () => {
    const flight = new SingleFlight<string, number>();
    let calls = 0;
    const fn = async () => ++calls;
    const first = await flight.run("k", fn);
    expect(flight.has("k")).toBe(false);
    const second = await flight.run("k", fn);
    expect([first, second]).toEqual([
      { value: 1, leader: true },
      { value: 2, leader: true },
    ]);
  });

  it("a synchronous throw is a shared rejection", async () => {
    const flight = new SingleFlight<string, number>();
    const error = new Error("sync");
    await expect(
      flight.run("k", () => {
        throw error;
      }),
    ).rejects.toBe(error);
    expect(flight.has("k")).toBe(false);
  });

  it("different keys do not share", async () => {
    const flight = new SingleFlight<string, string>();
    const [a, b] = await Promise.all([flight.run("a", async () => "A"), flight.run("b", async () => "B")]);
    expect([a.value, b.value, a.leader, b.leader]).toEqual(["A", "B", true, true]);
  });

  it("a follower's abort cancels only that follower", async () => {
    const flight = new SingleFlight<string, number>();
    const gate = deferred<number>();
    let upstream: AbortSignal | undefined;
    const leader = flight.run("k", (signal) => {
      upstream = signal;
      return gate.promise;
    });
    const controller = new AbortController();
    const follower = flight.run("k", () => Promise.reject(new Error("never called")), { signal: controller.signal });
    controller.abort();
    expect((await rejection(follower)).code).toBe(Code.Canceled);
    expect(upstream?.aborted).toBe(false);
    expect(flight.waiting("k")).toBe(1);
    gate.resolve(7);
    expect(await leader).toEqual({ value: 7, leader: true });
  });

  it("cancelling the leader keeps the call going while followers wait", async () => {
    const flight = new SingleFlight<string, number>();
    const gate = deferred<number>();
    let upstream: AbortSignal | undefined;
    const controller = new AbortController();
    const leader = flight.run(
      "k",
      (signal) => {
        upstream = signal;
        return gate.promise;
      },
      { signal: controller.signal },
    );
    const follower = flight.run("k", () => Promise.reject(new Error("never called")));
    controller.abort();
    expect((await rejection(leader)).code).toBe(Code.Canceled);
    expect(upstream?.aborted).toBe(false);
    gate.resolve(9);
    expect(await follower).toEqual({ value: 9, leader: false });
  });

  it("when every caller has gone the call is aborted and forgotten; a new caller starts afresh", async () => {
    const flight = new SingleFlight<string, number>();
    let upstream: AbortSignal | undefined;
    const a = new AbortController();
    const b = new AbortController();
    const never = new Promise<number>(() => {});
    const first = flight.run(
      "k",
      (signal) => {
        upstream = signal;
        return never;
      },
      { signal: a.signal },
    );
    const second = flight.run("k", () => never, { signal: b.signal });
    a.abort();
    expect(upstream?.aborted).toBe(false);
    b.abort();
    expect(upstream?.aborted).toBe(true);
    expect(flight.has("k")).toBe(false);
    expect((await rejection(first)).code).toBe(Code.Canceled);
    expect((await rejection(second)).code).toBe(Code.Canceled);
    expect(await flight.run("k", async () => 1)).toEqual({ value: 1, leader: true });
  });

  it("an already aborted signal neither starts nor joins a call", async () => {
    const flight = new SingleFlight<string, number>();
    let calls = 0;
    const error = await rejection(flight.run("k", async () => ++calls, { signal: AbortSignal.abort() }));
    expect(error.code).toBe(Code.Canceled);
    expect(calls).toBe(0);
    expect(flight.has("k")).toBe(false);
  });
});

describe("SingleFlight over the LLM client", () => {
  let llm: OpenAiTestServer;
  beforeAll(async () => {
    llm = await startOpenAiServer();
  });
  afterAll(async () => {
    await llm.close();
  });
  beforeEach(() => {
    llm.reset();
  });

  it("20 concurrent identical asks make one upstream request", async () => {
    llm.setBehaviour({ delayMs: 50 });
    const client = testClient(llm.url);
    const flight = new SingleFlight<string, LlmCompletion>();
    const results = await Promise.all(
      Array.from({ length: 20 }, () => flight.run("same prompt", (signal) => client.complete(ask("same prompt"), signal))),
    );
    expect(llm.counts().total).toBe(1);
    expect(new Set(results.map((r) => r.value.text))).toEqual(new Set(["ANSWER: same prompt"]));
    expect(results.filter((r) => r.leader)).toHaveLength(1);
    expect(flight.size).toBe(0);
  });

  it("20 concurrent asks share one upstream failure", async () => {
    llm.setBehaviour({ delayMs: 50, error: { status: 400, message: "bad prompt" } });
    const client = testClient(llm.url);
    const flight = new SingleFlight<string, LlmCompletion>();
    const outcomes = await Promise.allSettled(
      Array.from({ length: 20 }, () => flight.run("p", (signal) => client.complete(ask("p"), signal))),
    );
    expect(llm.counts().total).toBe(1);
    const reasons = new Set(outcomes.map((o) => (o.status === "rejected" ? o.reason : undefined)));
    expect(reasons.size).toBe(1);
    const [reason] = reasons;
    expect(asCallerSees(reason).code).toBe(Code.InvalidArgument);
    expect(flight.size).toBe(0);
  });

  it("the upstream request is closed only when the last waiting caller gives up", async () => {
    llm.setBehaviour({ hang: "before-headers" });
    const client = testClient(llm.url);
    const flight = new SingleFlight<string, LlmCompletion>();
    const leader = new AbortController();
    const follower = new AbortController();
    const runs = [leader, follower].map((c) => flight.run("p", (signal) => client.complete(ask("p"), signal), { signal: c.signal }));
    await llm.waitFor((s) => s.counts().total === 1);
    leader.abort();
    expect((await rejection(runs[0]!)).code).toBe(Code.Canceled);
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(llm.requests[0]?.outcome).toBe("pending");
    follower.abort();
    expect((await rejection(runs[1]!)).code).toBe(Code.Canceled);
    await llm.waitFor((s) => s.counts().closedEarly === 1);
  });
});
