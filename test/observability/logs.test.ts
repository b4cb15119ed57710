import { createHash } from "node:crypto";
import { rmSync } from "node:fs";
import { Code, ConnectError } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { codeName } from "../../src/observability/rpc-interceptor.js";
import { collect } from "../support/ask-server.js";
import { startChildServer } from "../support/child-server.js";
import { clientFor } from "../support/clients.js";
import { fixtureModelDir } from "../support/fixture-model.js";
import { tempDir } from "../support/test-server.js";
import { startObservedServer, type ObservedServer } from "../support/observed-server.js";

const FRANCE = "What is the capital of France?";
const PARIS = "Paris is the capital of France.";
const PARAPHRASE = "Tell me the capital city of France.";
const BREAD = "How do I bake sourdough bread?";
const scope = { namespace: "logs", model: "gpt-4o-mini" };

const sha = (text: string) => createHash("sha256").update(text, "utf8").digest("hex").slice(0, 16);

async function failureOf(call: Promise<unknown>): Promise<ConnectError> {
  try {
    await call;
  } catch (error) {
    return ConnectError.from(error);
  }
  throw new Error("the call succeeded");
}

describe("one JSON log line per RPC, prompts redacted by default", () => {
  let s: ObservedServer;
  beforeAll(async () => {
    s = await startObservedServer();
  });
  afterAll(async () => {
    await s?.stop();
  });

  it("logs method, protocol, scope, outcome, latency and the match, with hashes instead of text", async () => {
    const connect = clientFor("connect-h1", s.url);
    const h2 = clientFor("connect-h2", s.url);
    const grpc = clientFor("grpc", s.url);
    const web = clientFor("grpc-web", s.url);
    const before = s.log.rpcLines().length;

    const stored = await connect.store({ prompt: FRANCE, response: PARIS, scope });
    const exact = await grpc.lookup({ prompt: FRANCE, scope });
    const semantic = await web.lookup({ prompt: PARAPHRASE, scope });
    const miss = await h2.lookup({ prompt: BREAD, scope });
    const bad = await failureOf(connect.lookup({ prompt: "", scope }));
    const asked = await grpc.ask({ prompt: FRANCE, scope });
    const streamed = await collect(web.askStream({ prompt: FRANCE, scope }));
    const askMiss = await failureOf(connect.ask({ prompt: BREAD, scope }));
    const streamMiss = await collect(h2.askStream({ prompt: BREAD, scope }));
    await connect.stats({});
    await grpc.listEntries({ namespace: "logs" });
    await connect.flush({ namespace: "logs" });

    expect(bad.code).toBe(Code.InvalidArgument);
    expect(streamed.text).toBe(PARIS);
    expect(streamMiss.error).toBeDefined();
    const lines = s.log.rpcLines().slice(before);
    expect(lines.map((l) => `${l["method"]}/${l["protocol"]}/${l["code"]}`)).toEqual([
      "Store/connect/ok",
      "Lookup/grpc/ok",
      "Lookup/grpc-web/ok",
      "Lookup/connect/ok",
      "Lookup/connect/invalid_argument",
      "Ask/grpc/ok",
      "AskStream/grpc-web/ok",
      `Ask/connect/${codeName(askMiss.code)}`,
      `AskStream/connect/${codeName(streamMiss.error!.code)}`,
      "Stats/connect/ok",
      "ListEntries/grpc/ok",
      "Flush/connect/ok",
    ]);
    for (const line of lines) {
      expect(line).toMatchObject({ service: "semcache", rpcService: "semcache.v1.SemanticCacheService", msg: "rpc" });
      expect(typeof line["ms"]).toBe("number");
      expect(line["ms"] as number).toBeGreaterThanOrEqual(0);
      expect(typeof line["time"]).toBe("number");
    }
    const [store, exactLine, semanticLine, missLine, badLine, askLine, streamLine, askMissLine, streamMissLine, statsLine, listLine, flushLine] = lines;

    expect(store).toMatchObject({ level: 30, namespace: "logs", model: "gpt-4o-mini", promptSha256: sha(FRANCE), responseSha256: sha(PARIS), entryId: stored.id, replaced: false });
    expect(exactLine).toMatchObject({ namespace: "logs", model: "gpt-4o-mini", hit: true, kind: "exact", similarity: 1, threshold: 0.9, promptSha256: sha(FRANCE), matchedPromptSha256: sha(FRANCE), responseSha256: sha(PARIS), entryId: exact.entry?.id });
    expect(semanticLine).toMatchObject({ hit: true, kind: "semantic", threshold: 0.9, promptSha256: sha(PARAPHRASE), matchedPromptSha256: sha(FRANCE) });
    expect(semanticLine!["similarity"]).toBeCloseTo(semantic.similarity, 4);
    expect(missLine).toMatchObject({ hit: false, threshold: 0.9, promptSha256: sha(BREAD) });
    expect(missLine!["similarity"]).toBeCloseTo(miss.similarity, 4);
    expect(missLine).not.toHaveProperty("kind");
    expect(missLine).not.toHaveProperty("responseSha256");
    expect(badLine).toMatchObject({ level: 30, code: "invalid_argument", error: bad.rawMessage, namespace: "logs", promptSha256: sha("") });
    expect(askLine).toMatchObject({ source: "cache", hit: true, similarity: 1, promptSha256: sha(FRANCE), responseSha256: sha(PARIS), entryId: asked.entryId });
    expect(streamLine).toMatchObject({ stream: true, source: "cache", hit: true, promptSha256: sha(FRANCE), responseSha256: sha(PARIS) });
    // No LLM is configured: a miss cannot be answered, and says so at warn level or above.
    expect(askMissLine).toMatchObject({ code: codeName(askMiss.code), error: askMiss.rawMessage, promptSha256: sha(BREAD) });
    expect(askMissLine!["level"] as number).toBeGreaterThanOrEqual(40);
    expect(streamMissLine).toMatchObject({ stream: true, namespace: "logs", promptSha256: sha(BREAD), error: streamMiss.error!.rawMessage });
    expect(statsLine).not.toHaveProperty("namespace");
    expect(listLine).toMatchObject({ namespace: "logs", entries: 1 });
    expect(flushLine).toMatchObject({ namespace: "logs", deleted: 1 });

    // Not one prompt or response text anywhere in the log.
    const text = s.log.text();
    for (const secret of [FRANCE, PARIS, PARAPHRASE, BREAD]) expect(text).not.toContain(secret);
    for (const line of lines) {
      for (const field of ["prompt", "response", "matchedPrompt"]) expect(line).not.toHaveProperty(field);
    }
  });
});

describe("SEMCACHE_LOG_PROMPTS=true", () => {
  let s: ObservedServer;
  beforeAll(async () => {
    s = await startObservedServer({ env: { SEMCACHE_LOG_PROMPTS: "true" } });
  });
  afterAll(async () => {
    await s?.stop();
  });

  it("includes prompt and response text, next to their hashes", async () => {
    const client = clientFor("grpc", s.url);
    await client.store({ prompt: FRANCE, response: PARIS, scope });
    await client.lookup({ prompt: PARAPHRASE, scope });
    const [store, lookup] = s.log.rpcLines().slice(-2);
    expect(store).toMatchObject({ method: "Store", prompt: FRANCE, promptSha256: sha(FRANCE), response: PARIS, responseSha256: sha(PARIS) });
    expect(lookup).toMatchObject({ method: "Lookup", kind: "semantic", prompt: PARAPHRASE, matchedPrompt: FRANCE, response: PARIS });
  });
});

describe("SEMCACHE_LOG_LEVEL", () => {
  let s: ObservedServer;
  beforeAll(async () => {
    s = await startObservedServer({ env: { SEMCACHE_LOG_LEVEL: "warn" } });
  });
  afterAll(async () => {
    await s?.stop();
  });

  it("at warn, drops successful calls and client mistakes, keeps what needs a look", async () => {
    const client = clientFor("connect-h1", s.url);
    await client.store({ prompt: FRANCE, response: PARIS, scope });
    await client.lookup({ prompt: FRANCE, scope });
    await failureOf(client.lookup({ prompt: "", scope }));
    const askMiss = await failureOf(client.ask({ prompt: BREAD, scope }));
    expect(s.log.rpcLines().map((l) => `${l["method"]}/${l["code"]}`)).toEqual([`Ask/${codeName(askMiss.code)}`]);
  });
});

describe("semcache serve", () => {
  it("writes the RPC lines as JSON on stderr", async () => {
    const dataDir = tempDir("semcache-obs-cli-");
    const child = await startChildServer({
      SEMCACHE_MODEL_DIR: await fixtureModelDir(),
      SEMCACHE_DATA_DIR: dataDir,
      SEMCACHE_PORT: "0",
      SEMCACHE_EMBED_WORKERS: "1",
      SEMCACHE_EMBED_THREADS: "1",
    });
    try {
      await clientFor("grpc", child.url).lookup({ prompt: BREAD, scope });
      const deadline = Date.now() + 5000;
      let line: Record<string, unknown> | undefined;
      while (line === undefined && Date.now() < deadline) {
        line = child
          .stderr()
          .split("\n")
          .filter((l) => l.startsWith("{"))
          .map((l) => JSON.parse(l) as Record<string, unknown>)
          .find((l) => l["msg"] === "rpc");
        if (line === undefined) await new Promise((resolve) => setTimeout(resolve, 50));
      }
      expect(line).toMatchObject({ level: 30, method: "Lookup", protocol: "grpc", code: "ok", namespace: "logs", hit: false, promptSha256: sha(BREAD) });
      expect(child.stderr()).not.toContain(BREAD);
    } finally {
      child.process.kill("SIGTERM");
      await child.exited;
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
