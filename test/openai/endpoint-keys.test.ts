/**
 * The OpenAI endpoint with API keys on: the bearer token is a semcache key,
 * checked with the same roles and namespace grants as Ask, and never sent
 * upstream (the upstream gets the server's credential).
 */
import { rmSync } from "node:fs";
import OpenAI, { AuthenticationError, PermissionDeniedError, RateLimitError } from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Source } from "../../src/gen/semcache/v1/semantic_cache_pb.js";
import { testKey, writeKeyFile } from "../support/key-files.js";
import { clientFor } from "../support/clients.js";
import { startOpenAiServer, type OpenAiTestServer } from "../support/openai-server.js";
import { startTestServer, tempDir, type TestServer } from "../support/test-server.js";

const MODEL = "test-model";
const alice = testKey({ id: "alice", role: "user", namespaces: ["team-a", "shared"], defaultNamespace: "team-a" });
const prom = testKey({ id: "prom", role: "metrics" });
const limited = testKey({ id: "limited", role: "user", namespaces: ["limited"], rateLimit: { requestsPerSecond: 0.2, burst: 2 } });
let dir: string;
let llm: OpenAiTestServer;
let server: TestServer;

function openai(apiKey: string, namespace?: string): OpenAI {
  return new OpenAI({ baseURL: `${server.url}/v1`, apiKey, maxRetries: 0, defaultHeaders: namespace === undefined ? {} : { "x-semcache-namespace": namespace } });
}

beforeAll(async () => {
  dir = tempDir("semcache-openai-keys-");
  llm = await startOpenAiServer({ apiKey: "sk-server-key" });
  server = await startTestServer({
    env: {
      SEMCACHE_API_KEYS_FILE: writeKeyFile(dir, [alice, prom, limited]),
      SEMCACHE_LLM_BASE_URL: llm.url,
      SEMCACHE_LLM_API_KEY: "sk-server-key",
      SEMCACHE_LLM_MODEL: MODEL,
      SEMCACHE_LOG_LEVEL: "error",
    },
  });
});
afterAll(async () => {
  await server?.stop();
  await llm?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe("API keys on /v1", () => {
  it("refuses a missing or unknown key with 401, before calling anything", async () => {
    const unknown = await openai("sk-not-a-semcache-key").chat.completions.create({ model: MODEL, messages: [{ role: "user", content: "hi" }] }).catch((e: unknown) => e);
    expect(unknown).toBeInstanceOf(AuthenticationError);
    expect((unknown as AuthenticationError).code).toBe("unauthenticated");
    const raw = await fetch(`${server.url}/v1/chat/completions`, { method: "POST", headers: { "content-type": "application/json" }, body: "{}" });
    expect(raw.status).toBe(401);
    expect(raw.headers.get("www-authenticate")).toMatch(/^Bearer/u);
    expect(await openai("sk-not-a-semcache-key").models.list().catch((e: unknown) => e)).toBeInstanceOf(AuthenticationError);
    expect(llm.counts().total).toBe(0);
  });

  it("refuses a namespace the key is not granted, and a metrics key, with 403", async () => {
    const other = await openai(alice.key, "team-b").chat.completions.create({ model: MODEL, messages: [{ role: "user", content: "hi" }] }).catch((e: unknown) => e);
    expect(other).toBeInstanceOf(PermissionDeniedError);
    expect((other as PermissionDeniedError).message).toMatch(/team-b/u);
    const metrics = await openai(prom.key).chat.completions.create({ model: MODEL, messages: [{ role: "user", content: "hi" }] }).catch((e: unknown) => e);
    expect(metrics).toBeInstanceOf(PermissionDeniedError);
    expect(llm.counts().total).toBe(0);
  });

  it("caches in the key's default namespace and never forwards the caller's key", async () => {
    const question = "What is the tallest mountain?";
    const miss = await openai(alice.key).chat.completions.create({ model: MODEL, messages: [{ role: "user", content: question }] }).withResponse();
    expect(miss.response.headers.get("x-semcache-source")).toBe("llm");
    expect(llm.requests.at(-1)?.headers.authorization).toBe("Bearer sk-server-key");
    // The key's default namespace: her Ask there sees the entry.
    const ask = await clientFor("grpc", server.url, { apiKey: alice.key }).ask({ prompt: question, scope: { namespace: "team-a", model: MODEL } });
    expect(ask.source).toBe(Source.CACHE);

    const shared = await openai(alice.key, "shared").chat.completions.create({ model: MODEL, messages: [{ role: "user", content: question }] }).withResponse();
    expect(shared.response.headers.get("x-semcache-source")).toBe("llm");
    // A pass-through also carries the server's credential only.
    await openai(alice.key).chat.completions.create({ model: MODEL, messages: [{ role: "user", content: question }], n: 2 });
    expect(llm.requests.every((request) => request.headers.authorization === "Bearer sk-server-key")).toBe(true);
  });

  it("counts requests against the key's rate limit, shared with its RPCs", async () => {
    const client = openai(limited.key);
    await clientFor("grpc", server.url, { apiKey: limited.key }).lookup({ prompt: "one", scope: { model: MODEL } });
    await client.chat.completions.create({ model: MODEL, messages: [{ role: "user", content: "two" }] });
    const refused = await client.chat.completions.create({ model: MODEL, messages: [{ role: "user", content: "three" }] }).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(RateLimitError);
    expect(Number((refused as RateLimitError).headers?.get("retry-after"))).toBeGreaterThanOrEqual(1);
    expect(Number((refused as RateLimitError).headers?.get("retry-after-ms"))).toBeGreaterThan(0);
  });
});
