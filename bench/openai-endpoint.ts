/**
 * `npm run bench -- --openai [--blocks N] [--per-block N] [--out DIR]`
 *
 * What the OpenAI-compatible endpoint costs on top of the cache: exact hits
 * through POST /v1/chat/completions against exact-hit Lookup, on the same
 * `semcache serve` child (fixture model, embedded store) and the same stored
 * entries. Measured in alternating blocks (Lookup, then chat completions,
 * then Lookup, ...) so that drift on the shared machine hits both alike.
 * Clients: Lookup with the generated client over gRPC (one HTTP/2
 * connection, as the main benchmark) and over Connect JSON on HTTP/1.1 (the
 * same wire as the endpoint's); chat completions with the `openai`
 * package (its fetch over HTTP/1.1 keep-alive, as an application would) and
 * with plain fetch (the endpoint without the SDK's own work).
 * Writes bench/results/openai-<UTC time>.json and .md, and openai-latest.md.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { createClient } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport } from "@connectrpc/connect-node";
import OpenAI from "openai";
import { MatchKind, SemanticCacheService } from "../src/gen/semcache/v1/semantic_cache_pb.js";
import { ensureFixtureModel } from "../tools/fixture-model/index.js";
import { machineInfo } from "./lib/machine.js";
import { spreadPrompts } from "./lib/prompts.js";
import { buildDist, REPO, startServer, type BenchServer } from "./lib/server.js";
import { round, summarize, type LatencySummary } from "./lib/stats.js";
import { parseCommandLine, wholeNumber } from "../tools/lib/command-line.js";
import { resultStamp, writeResultFiles } from "./lib/result-files.js";

const SCOPE = { namespace: "bench-openai", model: "bench-model" } as const;

interface Options {
  readonly blocks: number;
  readonly perBlock: number;
  readonly out: string;
}

function parseArgs(argv: readonly string[]): Options {
  const values = parseCommandLine(argv, {
    openai: { type: "boolean" },
    blocks: { type: "string" },
    "per-block": { type: "string" },
    out: { type: "string" },
  });
  return {
    blocks: wholeNumber("blocks", values.blocks, 1, 10),
    perBlock: wholeNumber("per-block", values["per-block"], 1, 100),
    out: values.out === undefined ? join(REPO, "bench", "results") : resolve(values.out),
  };
}

const log = (message: string): void => {
  process.stderr.write(`[bench openai ${new Date().toISOString().slice(11, 19)}] ${message}\n`);
};

type Call = (prompt: string) => Promise<void>;

/** Runs `call` over `prompts` one at a time from `offset`; latencies in ms. */
async function block(call: Call, prompts: readonly string[], offset: number, count: number, into: number[]): Promise<void> {
  for (let i = 0; i < count; i++) {
    const prompt = prompts[(offset + i) % prompts.length]!;
    const t = performance.now();
    await call(prompt);
    into.push(performance.now() - t);
  }
}

/** Runs the endpoint benchmark and writes its report. */
export async function runOpenAiBench(argv: readonly string[]): Promise<void> {
  const options = parseArgs(argv);
  const startedAt = new Date();
  const machine = machineInfo();
  const scratch = mkdtempSync(join(tmpdir(), "semcache-bench-openai-"));
  let server: BenchServer | undefined;
  try {
    buildDist();
    server = await startServer({ SEMCACHE_MODEL_DIR: await ensureFixtureModel(), SEMCACHE_DATA_DIR: scratch }, { entry: "dist" });
    const grpc = createClient(SemanticCacheService, createGrpcTransport({ baseUrl: server.url }));
    const connect = createClient(SemanticCacheService, createConnectTransport({ baseUrl: server.url, httpVersion: "1.1", useBinaryFormat: false }));
    const sdk = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: "unused", maxRetries: 0, defaultHeaders: { "x-semcache-namespace": SCOPE.namespace } });
    const prompts = spreadPrompts(200);
    for (const prompt of prompts) await grpc.store({ prompt, response: `answer to ${prompt}`, scope: SCOPE });
    log(`stored ${prompts.length} entries`);

    const body = (prompt: string) => ({ model: SCOPE.model, messages: [{ role: "user" as const, content: prompt }] });
    const lookup: Call = async (prompt) => {
      const r = await grpc.lookup({ prompt, scope: SCOPE });
      if (!r.hit || r.kind !== MatchKind.EXACT) throw new Error(`Lookup of a stored prompt was not an exact hit: ${prompt}`);
    };
    const lookupJson: Call = async (prompt) => {
      const r = await connect.lookup({ prompt, scope: SCOPE });
      if (!r.hit || r.kind !== MatchKind.EXACT) throw new Error(`Lookup of a stored prompt was not an exact hit: ${prompt}`);
    };
    const viaSdk: Call = async (prompt) => {
      const r = await sdk.chat.completions.create(body(prompt)).withResponse();
      if (r.response.headers.get("x-semcache-source") !== "cache") throw new Error(`chat completion of a stored prompt was not a hit: ${prompt}`);
    };
    const viaFetch: Call = async (prompt) => {
      const r = await fetch(`${server!.url}/v1/chat/completions`, {
        method: "POST",
        headers: { "content-type": "application/json", "x-semcache-namespace": SCOPE.namespace },
        body: JSON.stringify(body(prompt)),
      });
      await r.arrayBuffer();
      if (r.headers.get("x-semcache-source") !== "cache") throw new Error(`chat completion of a stored prompt was not a hit: ${prompt}`);
    };
    const kinds = { lookupGrpc: lookup, lookupConnectJson: lookupJson, chatSdk: viaSdk, chatFetch: viaFetch };
    const samples: Record<keyof typeof kinds, number[]> = { lookupGrpc: [], lookupConnectJson: [], chatSdk: [], chatFetch: [] };
    // Warm-up: connections, JIT, the exact layer.
    for (const call of Object.values(kinds)) await block(call, prompts, 0, 50, []);
    for (let b = 0; b < options.blocks; b++) {
      for (const [name, call] of Object.entries(kinds) as [keyof typeof kinds, Call][]) {
        await block(call, prompts, b * options.perBlock, options.perBlock, samples[name]);
      }
    }
    const summary = Object.fromEntries(Object.entries(samples).map(([name, times]) => [name, summarize(times)])) as Record<keyof typeof kinds, LatencySummary>;
    const ratio = {
      p50: round(summary.chatSdk.p50Ms / summary.lookupGrpc.p50Ms, 2),
      mean: round(summary.chatSdk.meanMs / summary.lookupGrpc.meanMs, 2),
      p50WithoutSdk: round(summary.chatFetch.p50Ms / summary.lookupGrpc.p50Ms, 2),
      p50SameTransport: round(summary.chatFetch.p50Ms / summary.lookupConnectJson.p50Ms, 2),
    };
    const results = { createdAt: startedAt.toISOString(), machine, options, summary, ratio, goal: "chat completions (SDK) p50 ≤ 1.5 × exact-hit Lookup p50" };
    const row = (name: string, s: LatencySummary) => `| ${name} | ${s.count} | ${s.p50Ms} | ${s.p99Ms} | ${s.meanMs} |`;
    const markdown = [
      `# OpenAI endpoint: exact hit vs exact-hit Lookup (${startedAt.toISOString()})`,
      "",
      `${machine.cpuModel}, ${machine.cores} cores, Node ${machine.node}; load average at start ${machine.loadAverage.join(" / ")}.`,
      `Fixture model, embedded store, ${prompts.length} stored entries; ${options.blocks} alternating blocks of ${options.perBlock} sequential requests per client.`,
      "",
      "| client | requests | p50 ms | p99 ms | mean ms |",
      "|---|---|---|---|---|",
      row("Lookup, generated client over gRPC (HTTP/2)", summary.lookupGrpc),
      row("Lookup, generated client over Connect JSON (HTTP/1.1)", summary.lookupConnectJson),
      row("POST /v1/chat/completions, openai package (HTTP/1.1)", summary.chatSdk),
      row("POST /v1/chat/completions, plain fetch (HTTP/1.1)", summary.chatFetch),
      "",
      `Ratio chat completions (openai package) / Lookup: p50 ${ratio.p50}×, mean ${ratio.mean}× (goal ≤ 1.5×); plain fetch / Lookup p50 ${ratio.p50WithoutSdk}×; plain fetch / Lookup over Connect JSON (both JSON over HTTP/1.1) p50 ${ratio.p50SameTransport}×.`,
      "",
    ].join("\n");
    const name = `openai-${resultStamp(startedAt)}`;
    writeResultFiles(options.out, name, results, markdown, "openai-latest.md");
    process.stdout.write(markdown);
    log(`wrote ${join(options.out, `${name}.json`)} and .md`);
  } finally {
    await server?.stop();
    rmSync(scratch, { recursive: true, force: true });
  }
}
