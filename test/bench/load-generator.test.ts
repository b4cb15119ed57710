/**
 * The throughput benchmark's load generator (bench/loadgen, Go) against a
 * real server: it builds offline, drives Lookup at a concurrency, counts
 * hits, misses and errors, and stops. Asserts what the benchmark relies on,
 * never a speed.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { client } from "../../bench/exact-hit.js";
import { startLoadGenerator, type LoadGenerator } from "../../bench/lib/load-generator.js";
import { GO_GRPC_FILES, missingFiles, toolGate } from "../support/client-tools.js";
import { startTestServer, type TestServer } from "../support/test-server.js";

const gate = toolGate(
  "the load generator test",
  missingFiles(GO_GRPC_FILES),
);
const SCOPE = { namespace: "loadgen" };
const STORED = "What is the capital of France?";

let server: TestServer;
let gen: LoadGenerator | undefined;
beforeAll(async () => {
  if (gate.skip) return;
  gate.assertAvailable();
  server = await startTestServer();
  await client(server.url).store({ prompt: STORED, response: "Paris.", scope: SCOPE });
}, 120_000);
afterAll(async () => {
  await gen?.close();
  await server?.stop();
});

// A cold `go build` of grpc-go takes most of a minute.
describe.skipIf(gate.skip)("bench/loadgen (grpc-go)", { timeout: 300_000 }, () => {
  it("keeps lookups in flight for the time asked and reports hits, misses, latencies and its own CPU", async () => {
    // An exact repeat (always a hit) and an unrelated prompt (never one), alternately.
    gen = await startLoadGenerator(server.url, [STORED, "How do I reverse a linked list in C?"], SCOPE.namespace);
    const first = await gen.run(4, 0.5);
    expect(first.errors).toBe(0);
    expect(first.count).toBeGreaterThan(4);
    expect(first.concurrency).toBe(4);
    expect(first.seconds).toBeGreaterThanOrEqual(0.5);
    // Strict alternation from index 0: the share of hits is a half, give or take the last call of each goroutine.
    expect(first.hitShare).toBeGreaterThan(0.3);
    expect(first.hitShare).toBeLessThan(0.7);
    expect(first.p50Ms).toBeGreaterThan(0);
    expect(first.p99Ms).toBeGreaterThanOrEqual(first.p50Ms);
    expect(first.clientCpuMsPerCall).toBeGreaterThan(0);
    // The warm-up takes its prompts from the same list: the next run starts after both.
    expect(first.promptsTaken).toBe(2 * 4 + first.count);

    // Commands are answered in turn by the one process, at another concurrency.
    const second = await gen.run(1, 0.3, 1);
    expect(second.errors).toBe(0);
    expect(second.concurrency).toBe(1);
    expect(second.count).toBeGreaterThan(0);

    const stats = await client(server.url).stats({ namespace: SCOPE.namespace });
    // Every call reached the server: the run's calls and both warm-ups (2 × concurrency each).
    expect(Number(stats.lookups)).toBe(first.count + second.count + 2 * 4 + 2 * 1);
  });

  it("reports calls the server refused as errors, not as misses", async () => {
    const bad = await startLoadGenerator(server.url, [""], SCOPE.namespace);
    try {
      const r = await bad.run(2, 0.3);
      expect(r.count).toBeGreaterThan(0);
      expect(r.errors).toBe(r.count);
      expect(r.hitShare).toBe(0);
    } finally {
      await bad.close();
    }
  });
});
