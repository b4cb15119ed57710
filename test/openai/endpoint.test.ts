/**
 * The OpenAI endpoint through the `openai` package pointed at semcache
 * (baseURL <server>/v1), with the OpenAI test server as the upstream: misses,
 * hits, streams, pass-through, sharing with the gRPC Ask, and each failure
 * mode as the error class an OpenAI SDK raises.
 */
import { request } from "node:http";
import { connect } from "node:http2";
import OpenAI, { APIError, BadRequestError, InternalServerError, RateLimitError } from "openai";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { Source } from "../../src/gen/semcache/v1/semantic_cache_pb.js";
import { clientFor, type CacheClient } from "../support/clients.js";
import { eventually } from "../support/eventually.js";
import { startOpenAiServer, type OpenAiTestServer } from "../support/openai-server.js";
import { startTestServer, type TestServer } from "../support/test-server.js";

const MODEL = "test-model";
let llm: OpenAiTestServer;
let server: TestServer;
let grpc: CacheClient;

/** An OpenAI client of semcache in `namespace`, without the SDK's own retries unless asked. */
function openai(namespace: string, options: { maxRetries?: number; headers?: Record<string, string> } = {}): OpenAI {
  return new OpenAI({
    baseURL: `${server.url}/v1`,
    apiKey: "sk-caller-key-never-forwarded",
    maxRetries: options.maxRetries ?? 0,
    defaultHeaders: { "x-semcache-namespace": namespace, ...options.headers },
  });
}

async function collectStream(stream: AsyncIterable<OpenAI.Chat.Completions.ChatCompletionChunk>): Promise<{ text: string; chunks: OpenAI.Chat.Completions.ChatCompletionChunk[] }> {
  const chunks: OpenAI.Chat.Completions.ChatCompletionChunk[] = [];
  for await (const chunk of stream) chunks.push(chunk);
  return { text: chunks.map((c) => c.choices[0]?.delta.content ?? "").join(""), chunks };
}

beforeAll(async () => {
  llm = await startOpenAiServer({ apiKey: "sk-server-key" });
  server = await startTestServer({
    env: {
      SEMCACHE_LLM_BASE_URL: llm.url,
      SEMCACHE_LLM_API_KEY: "sk-server-key",
      SEMCACHE_LLM_MODEL: MODEL,
      SEMCACHE_LLM_TIMEOUT_MS: "3000",
      SEMCACHE_LLM_MAX_RETRIES: "0",
      SEMCACHE_CORS_ORIGINS: "https://app.example",
    },
  });
  grpc = clientFor("grpc", server.url);
});
afterAll(async () => {
  await server?.stop();
  await llm?.close();
});
beforeEach(() => llm.reset());

describe("POST /v1/chat/completions", () => {
  it("answers a miss from the LLM, then an exact and a paraphrased repeat from the cache", async () => {
    const client = openai("oa-hit");
    const question = "What is the capital of France?";
    const miss = await client.chat.completions.create({ model: MODEL, messages: [{ role: "user", content: question }] }).withResponse();
    expect(miss.data.object).toBe("chat.completion");
    expect(miss.data.choices[0]?.message).toMatchObject({ role: "assistant", content: `ANSWER: ${question}` });
    expect(miss.data.choices[0]?.finish_reason).toBe("stop");
    expect(miss.data.model).toBe(MODEL);
    expect(miss.data.usage).toEqual({ prompt_tokens: 6, completion_tokens: 7, total_tokens: 13 });
    expect(miss.response.headers.get("x-semcache-source")).toBe("llm");
    expect(miss.response.headers.get("x-semcache-tokens-saved")).toBe("0");
    const entryId = miss.response.headers.get("x-semcache-entry-id");
    expect(entryId).toMatch(/^[0-9a-f]{32}$/u);
    expect(llm.counts().total).toBe(1);
    // The server's credential upstream, never the caller's.
    expect(llm.requests[0]?.headers.authorization).toBe("Bearer sk-server-key");

    const hit = await client.chat.completions.create({ model: MODEL, messages: [{ role: "user", content: question }] }).withResponse();
    expect(hit.data.choices[0]?.message.content).toBe(`ANSWER: ${question}`);
    expect(hit.data.usage).toEqual(miss.data.usage);
    expect(hit.data.id).not.toBe(miss.data.id);
    expect(hit.response.headers.get("x-semcache-source")).toBe("cache");
    expect(hit.response.headers.get("x-semcache-similarity")).toBe("1");
    expect(hit.response.headers.get("x-semcache-entry-id")).toBe(entryId);
    expect(hit.response.headers.get("x-semcache-tokens-saved")).toBe("7");

    const paraphrase = await client.chat.completions.create({ model: MODEL, messages: [{ role: "user", content: "Tell me the capital city of France." }] }).withResponse();
    expect(paraphrase.response.headers.get("x-semcache-source")).toBe("cache");
    const similarity = Number(paraphrase.response.headers.get("x-semcache-similarity"));
    expect(similarity).toBeGreaterThanOrEqual(0.9);
    expect(similarity).toBeLessThan(1);
    expect(paraphrase.data.choices[0]?.message.content).toBe(`ANSWER: ${question}`);
    expect(llm.counts().total).toBe(1);
  });

  it("streams a miss as chunks with usage, and replays it from the cache", async () => {
    const client = openai("oa-stream");
    const question = "How many legs does a spider have?";
    const request = { model: MODEL, messages: [{ role: "user" as const, content: question }], stream: true as const, stream_options: { include_usage: true } };
    const miss = await client.chat.completions.create(request).withResponse();
    expect(miss.response.headers.get("content-type")).toMatch(/^text\/event-stream/u);
    expect(miss.response.headers.get("x-semcache-source")).toBe("llm");
    const first = await collectStream(miss.data);
    expect(first.text).toBe(`ANSWER: ${question}`);
    expect(first.chunks.length).toBeGreaterThan(3);
    expect(first.chunks.every((c) => c.object === "chat.completion.chunk")).toBe(true);
    expect(first.chunks.at(-2)?.choices[0]?.finish_reason).toBe("stop");
    expect(first.chunks.at(-1)?.usage).toEqual({ prompt_tokens: 7, completion_tokens: 8, total_tokens: 15 });
    expect(llm.requests[0]?.stream).toBe(true);

    const replay = await client.chat.completions.create(request).withResponse();
    expect(replay.response.headers.get("x-semcache-source")).toBe("cache");
    const second = await collectStream(replay.data);
    expect(second.text).toBe(first.text);
    expect(second.chunks.at(-1)?.usage).toEqual(first.chunks.at(-1)?.usage);
    expect(llm.counts().total).toBe(1);

    // Without include_usage: no usage chunk.
    const plain = await collectStream(await client.chat.completions.create({ model: MODEL, messages: request.messages, stream: true }));
    expect(plain.text).toBe(first.text);
    expect(plain.chunks.some((c) => c.usage)).toBe(false);
  });

  it("says which cached answer an exploration checked, for whole and streamed answers", async () => {
    // A fresh namespace under a budget has no evidence: a paraphrase is explored, not served.
    const client = openai("oa-explore", { headers: { "x-semcache-max-error-rate": "0.02" } });
    const seed = await client.chat.completions.create({ model: MODEL, messages: [{ role: "user", content: "What is the capital of France?" }] }).withResponse();
    const seedId = seed.response.headers.get("x-semcache-entry-id");
    expect(seed.response.headers.get("x-semcache-explored-entry-id")).toBeNull();

    const whole = await client.chat.completions.create({ model: MODEL, messages: [{ role: "user", content: "Tell me the capital city of France." }] }).withResponse();
    expect(whole.response.headers.get("x-semcache-source")).toBe("llm");
    expect(whole.response.headers.get("x-semcache-explored-entry-id")).toBe(seedId);
    const wholeId = whole.response.headers.get("x-semcache-entry-id");

    const streamed = await client.chat.completions
      .create({ model: MODEL, messages: [{ role: "user", content: "Which city is the capital of France?" }], stream: true })
      .withResponse();
    expect(streamed.response.headers.get("x-semcache-source")).toBe("llm");
    // The headers go out before the answer: the candidate is known when the call starts.
    expect([seedId, wholeId]).toContain(streamed.response.headers.get("x-semcache-explored-entry-id"));
    expect((await collectStream(streamed.data)).text).toBe("ANSWER: Which city is the capital of France?");
    expect(llm.counts().total).toBe(3);
    const stats = await grpc.stats({ namespace: "oa-explore" });
    expect(stats.explorations).toBe(2n);
  });

  it("shares entries with the gRPC Ask, both ways", async () => {
    const namespace = "oa-shared";
    const client = openai(namespace);
    const viaOpenAi = "Which ocean is the largest?";
    await client.chat.completions.create({ model: MODEL, messages: [{ role: "user", content: viaOpenAi }] });
    const ask = await grpc.ask({ prompt: viaOpenAi, scope: { namespace, model: MODEL } });
    expect(ask.source).toBe(Source.CACHE);

    const viaAsk = "Which desert is the largest?";
    const asked = await grpc.ask({ prompt: viaAsk, scope: { namespace, model: MODEL, params: { temperature: "0.2" } } });
    expect(asked.source).toBe(Source.LLM);
    const answered = await client.chat.completions.create({ model: MODEL, messages: [{ role: "user", content: viaAsk }], temperature: 0.2 }).withResponse();
    expect(answered.response.headers.get("x-semcache-source")).toBe("cache");
    expect(answered.response.headers.get("x-semcache-entry-id")).toBe(asked.entryId);
    // A different temperature is another partition, and reaches the upstream.
    const hotter = await client.chat.completions.create({ model: MODEL, messages: [{ role: "user", content: viaAsk }], temperature: 0.9 }).withResponse();
    expect(hotter.response.headers.get("x-semcache-source")).toBe("llm");
    expect(llm.requests.at(-1)?.body?.temperature).toBe(0.9);
    expect(llm.counts().total).toBe(3);
  });

  it("shares calls in flight with the gRPC Ask: one upstream call for both", async () => {
    const namespace = "oa-flight";
    const question = "How far away is the Moon?";
    llm.setBehaviour({ delayMs: 400 });
    const viaAsk = grpc.ask({ prompt: question, scope: { namespace, model: MODEL } });
    await llm.waitFor((s) => s.counts().total === 1);
    const viaOpenAi = await openai(namespace).chat.completions.create({ model: MODEL, messages: [{ role: "user", content: question }] }).withResponse();
    expect((await viaAsk).source).toBe(Source.LLM);
    expect(viaOpenAi.response.headers.get("x-semcache-source")).toBe("coalesced");
    expect(viaOpenAi.response.headers.get("x-semcache-tokens-saved")).toBe("7");
    expect(viaOpenAi.data.choices[0]?.message.content).toBe(`ANSWER: ${question}`);
    expect(llm.counts().total).toBe(1);
  });

  it("keeps conversations apart: only the last user turn is matched, the rest is scope", async () => {
    const client = openai("oa-conversation");
    const turns = (system: string) => [
      { role: "system" as const, content: system },
      { role: "user" as const, content: "Name a primary colour." },
    ];
    await client.chat.completions.create({ model: MODEL, messages: turns("Answer in French.") });
    const same = await client.chat.completions.create({ model: MODEL, messages: turns("Answer in French.") }).withResponse();
    expect(same.response.headers.get("x-semcache-source")).toBe("cache");
    const other = await client.chat.completions.create({ model: MODEL, messages: turns("Answer in German.") }).withResponse();
    expect(other.response.headers.get("x-semcache-source")).toBe("llm");
    expect(llm.requests.at(-1)?.body?.messages).toEqual(turns("Answer in German."));
  });

  it("passes a tools request through every time and stores nothing", async () => {
    const client = openai("oa-tools");
    const request = {
      model: MODEL,
      messages: [{ role: "user" as const, content: "What is the weather in Paris?" }],
      tools: [{ type: "function" as const, function: { name: "weather", parameters: { type: "object", properties: {} } } }],
    };
    for (let i = 0; i < 2; i++) {
      const reply = await client.chat.completions.create(request).withResponse();
      expect(reply.response.headers.get("x-semcache-source")).toBe("bypass");
      expect(reply.response.headers.get("x-semcache-bypass-reason")).toMatch(/^tools/u);
      expect(reply.data.choices[0]?.message.content).toBe("ANSWER: What is the weather in Paris?");
    }
    expect(llm.counts().total).toBe(2);
    expect(llm.requests[0]?.body?.tools).toEqual(request.tools);
    expect(llm.requests[1]?.headers.authorization).toBe("Bearer sk-server-key");
    const lookup = await grpc.lookup({ prompt: "What is the weather in Paris?", scope: { namespace: "oa-tools", model: MODEL } });
    expect(lookup.hit).toBe(false);

    // A streamed pass-through is relayed as the upstream sent it.
    const streamed = await collectStream(await client.chat.completions.create({ ...request, stream: true }));
    expect(streamed.text).toBe("ANSWER: What is the weather in Paris?");
    expect(llm.counts().total).toBe(3);
  });

  it("honours no-cache, no-store and a bad header", async () => {
    const question = "What is the boiling point of water?";
    const noStore = await openai("oa-controls", { headers: { "x-semcache-no-store": "true" } }).chat.completions.create({ model: MODEL, messages: [{ role: "user", content: question }] }).withResponse();
    expect(noStore.response.headers.get("x-semcache-entry-id")).toBeNull();
    const client = openai("oa-controls");
    const stored = await client.chat.completions.create({ model: MODEL, messages: [{ role: "user", content: question }] }).withResponse();
    expect(stored.response.headers.get("x-semcache-source")).toBe("llm");
    const noCache = await openai("oa-controls", { headers: { "x-semcache-no-cache": "true" } }).chat.completions.create({ model: MODEL, messages: [{ role: "user", content: question }] }).withResponse();
    expect(noCache.response.headers.get("x-semcache-source")).toBe("llm");
    expect(llm.counts().total).toBe(3);

    const bad = await openai("oa-controls", { headers: { "x-semcache-min-similarity": "2" } })
      .chat.completions.create({ model: MODEL, messages: [{ role: "user", content: question }] })
      .catch((error: unknown) => error);
    expect(bad).toBeInstanceOf(BadRequestError);
    expect((bad as BadRequestError).param).toBe("x-semcache-min-similarity");
    expect((bad as BadRequestError).code).toBe("invalid_argument");
  });

  it("answers bad requests with 400 naming the field", async () => {
    const client = openai("oa-bad");
    const error = await client.chat.completions.create({ model: MODEL, messages: [{ role: "user", content: "hi" }], temperature: 5 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BadRequestError);
    expect((error as BadRequestError).param).toBe("temperature");
    const empty = await client.chat.completions.create({ model: MODEL, messages: [{ role: "user", content: "   " }] }).catch((e: unknown) => e);
    expect(empty).toBeInstanceOf(BadRequestError);
    expect((empty as BadRequestError).param).toBe("messages[0].content");
    const raw = await fetch(`${server.url}/v1/chat/completions`, { method: "POST", headers: { "content-type": "application/json" }, body: "{not json" });
    expect(raw.status).toBe(400);
    expect(await raw.json()).toMatchObject({ error: { type: "invalid_request_error", param: "body", code: "invalid_argument" } });
    expect(llm.counts().total).toBe(0);
  });

  it("maps upstream failures to the SDK's error classes", async () => {
    const client = openai("oa-failures");
    const ask = (content: string) => client.chat.completions.create({ model: MODEL, messages: [{ role: "user", content }] }).catch((e: unknown) => e);

    llm.setBehaviour({ error: { status: 429, retryAfter: "2" } });
    const limited = await ask("rate limited question");
    expect(limited).toBeInstanceOf(RateLimitError);
    expect((limited as RateLimitError).code).toBe("resource_exhausted");
    // Upstream's wait, passed on to the SDK's backoff.
    expect((limited as RateLimitError).headers?.get("retry-after")).toBe("2");

    llm.setBehaviour({ error: { status: 500 } });
    const broken = await ask("broken upstream question");
    expect(broken).toBeInstanceOf(InternalServerError);
    expect((broken as InternalServerError).status).toBe(503);

    llm.setBehaviour({ hang: "before-headers" });
    const started = Date.now();
    const slow = await ask("hanging upstream question");
    expect(slow).toBeInstanceOf(InternalServerError);
    expect((slow as InternalServerError).status).toBe(504);
    expect(Date.now() - started).toBeLessThan(15_000);

    // Mid-stream failure: the SDK raises the error event.
    llm.setBehaviour({ streamError: { message: "upstream fell over" } });
    const stream = await client.chat.completions.create({ model: MODEL, messages: [{ role: "user", content: "a question that breaks mid-stream" }], stream: true });
    const midStream = await collectStream(stream).catch((e: unknown) => e);
    expect(midStream).toBeInstanceOf(APIError);
    llm.reset();
    // Nothing of the failed calls was stored.
    const retried = await client.chat.completions.create({ model: MODEL, messages: [{ role: "user", content: "a question that breaks mid-stream" }] }).withResponse();
    expect(retried.response.headers.get("x-semcache-source")).toBe("llm");
  });
});

describe("the endpoint in the server", () => {
  it("is logged and counted as a call, for the metrics and the dashboard's latency table", async () => {
    await openai("oa-metrics").chat.completions.create({ model: MODEL, messages: [{ role: "user", content: "Count me in the metrics." }] });
    const metrics = (await (await fetch(`${server.url}/metrics/json`)).json()) as { rpc: Record<string, { count: number }> };
    expect(metrics.rpc["ChatCompletions"]?.count).toBeGreaterThanOrEqual(1);
    const text = await (await fetch(`${server.url}/metrics`)).text();
    expect(text).toMatch(/semcache_rpc_duration_seconds_count\{[^}]*service="openai.v1"[^}]*method="ChatCompletions"/u);
  });

  it("answers a CORS preflight for an OpenAI SDK in a browser", async () => {
    const preflight = await fetch(`${server.url}/v1/chat/completions`, {
      method: "OPTIONS",
      headers: { origin: "https://app.example", "access-control-request-method": "POST", "access-control-request-headers": "authorization,content-type,x-stainless-os,x-semcache-namespace" },
    });
    expect(preflight.status).toBe(204);
    const allowed = (preflight.headers.get("access-control-allow-headers") ?? "").toLowerCase();
    for (const header of ["authorization", "content-type", "x-stainless-os", "x-semcache-namespace"]) expect(allowed).toContain(header);
    const answer = await fetch(`${server.url}/v1/chat/completions`, {
      method: "POST",
      headers: { origin: "https://app.example", "content-type": "application/json", "x-semcache-namespace": "oa-cors" },
      body: JSON.stringify({ model: MODEL, messages: [{ role: "user", content: "Hello from a browser" }] }),
    });
    expect(answer.headers.get("access-control-allow-origin")).toBe("https://app.example");
    expect(answer.headers.get("access-control-expose-headers")).toContain("x-semcache-source");
  });

  it("refuses a body above the size or nesting limit with 400, and another method with 404", async () => {
    const big = JSON.stringify({ model: MODEL, messages: [{ role: "user", content: "x".repeat(5 * 1024 * 1024) }] });
    const refused = await fetch(`${server.url}/v1/chat/completions`, { method: "POST", headers: { "content-type": "application/json" }, body: big });
    expect(refused.status).toBe(400);
    expect(await refused.json()).toMatchObject({ error: { param: "body", code: "invalid_argument" } });
    const deep = await fetch(`${server.url}/v1/chat/completions`, { method: "POST", headers: { "content-type": "application/json" }, body: `{"model": "m", "metadata": ${"[".repeat(100_000)}` });
    expect(deep.status).toBe(400);
    expect(((await deep.json()) as { error: { message: string } }).error.message).toMatch(/SEMCACHE_MAX_JSON_DEPTH/u);
    expect((await fetch(`${server.url}/v1/chat/completions`)).status).toBe(404);
  });
});

describe("transport", () => {
  it("answers over h2c (HTTP/2 without TLS) as over HTTP/1.1", async () => {
    await openai("oa-h2").chat.completions.create({ model: MODEL, messages: [{ role: "user", content: "Which river is the longest?" }] });
    const session = connect(server.url);
    try {
      const { status, headers, body } = await new Promise<{ status: number; headers: Record<string, unknown>; body: string }>((resolve, reject) => {
        const stream = session.request({ ":method": "POST", ":path": "/v1/chat/completions", "content-type": "application/json", "x-semcache-namespace": "oa-h2" });
        let text = "";
        let head: Record<string, unknown> = {};
        stream.on("response", (h) => (head = h));
        stream.on("data", (chunk: Buffer) => (text += chunk.toString()));
        stream.on("end", () => resolve({ status: Number(head[":status"]), headers: head, body: text }));
        stream.on("error", reject);
        stream.end(JSON.stringify({ model: MODEL, messages: [{ role: "user", content: "Which river is the longest?" }] }));
      });
      expect(status).toBe(200);
      expect(headers["x-semcache-source"]).toBe("cache");
      expect((JSON.parse(body) as { choices: { message: { content: string } }[] }).choices[0]?.message.content).toBe("ANSWER: Which river is the longest?");
    } finally {
      session.close();
    }
  });

  it("stops the upstream call when the only client of a stream goes away, and stores nothing", async () => {
    llm.setBehaviour({ chunkDelayMs: 100 });
    const controller = new AbortController();
    const question = "Recite a very long poem about the sea.";
    const stream = await openai("oa-abort").chat.completions.create({ model: MODEL, messages: [{ role: "user", content: question }], stream: true }, { signal: controller.signal });
    let received = "";
    // The SDK ends the iteration quietly on its own abort.
    await (async () => {
      for await (const chunk of stream) {
        received += chunk.choices[0]?.delta.content ?? "";
        if (received !== "") controller.abort();
      }
    })().catch(() => undefined);
    expect(received.length).toBeGreaterThan(0);
    expect(received.length).toBeLessThan(`ANSWER: ${question}`.length);
    await llm.waitFor((s) => s.counts().closedEarly === 1, 5_000);
    const lookup = await grpc.lookup({ prompt: question, scope: { namespace: "oa-abort", model: MODEL } });
    expect(lookup.hit).toBe(false);
  });
});

describe("GET /v1/models", () => {
  it("lists the upstream's models", async () => {
    const models = await openai("oa-models").models.list();
    expect(models.data.map((m) => m.id)).toEqual(["test-model"]);
  });
});

describe("without an LLM", () => {
  it("answers 503 failed_precondition, not retried, and still serves hits", async () => {
    const bare = await startTestServer({ env: { SEMCACHE_LOG_LEVEL: "error" } });
    try {
      const client = new OpenAI({ baseURL: `${bare.url}/v1`, apiKey: "unused", maxRetries: 2 });
      const error = await client.chat.completions.create({ model: MODEL, messages: [{ role: "user", content: "anything" }] }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(InternalServerError);
      expect((error as InternalServerError).status).toBe(503);
      expect((error as InternalServerError).code).toBe("failed_precondition");
      expect((error as InternalServerError).message).toMatch(/no LLM is configured/u);

      await clientFor("grpc", bare.url).store({ prompt: "Seeded question?", response: "Seeded answer.", scope: { model: MODEL } });
      const hit = await client.chat.completions.create({ model: MODEL, messages: [{ role: "user", content: "Seeded question?" }] });
      expect(hit.choices[0]?.message.content).toBe("Seeded answer.");
      expect((await client.models.list()).data).toEqual([]);
    } finally {
      await bare.stop();
    }
  });
});

describe("pass-through under the LLM concurrency limit", () => {
  it("takes an LLM slot like an Ask does, and is refused with 429 when none is free", async () => {
    const limited = await startTestServer({
      env: { SEMCACHE_LLM_BASE_URL: llm.url, SEMCACHE_LLM_API_KEY: "sk-server-key", SEMCACHE_LLM_MODEL: MODEL, SEMCACHE_LLM_MAX_CONCURRENCY: "1", SEMCACHE_LLM_MAX_QUEUE: "0", SEMCACHE_LOG_LEVEL: "error" },
    });
    try {
      const client = new OpenAI({ baseURL: `${limited.url}/v1`, apiKey: "unused", maxRetries: 0 });
      const request = { model: MODEL, messages: [{ role: "user" as const, content: "Call a tool" }], tools: [{ type: "function" as const, function: { name: "f", parameters: {} } }] };
      llm.setBehaviour({ delayMs: 500 });
      const first = client.chat.completions.create(request);
      await llm.waitFor((s) => s.counts().total === 1);
      const second = await client.chat.completions.create(request).catch((e: unknown) => e);
      expect(second).toBeInstanceOf(RateLimitError);
      expect((await first).choices[0]?.message.content).toBe("ANSWER: Call a tool");
      // The slot is free again once the relay ended.
      expect((await client.chat.completions.create(request)).choices[0]?.message.content).toBe("ANSWER: Call a tool");
    } finally {
      await limited.stop();
    }
  });
});

describe("bodies being received", () => {
  it("count against the server's budget shared with the RPCs (SEMCACHE_MAX_PENDING_BODY_BYTES)", async () => {
    const small = await startTestServer({ env: { SEMCACHE_MAX_PENDING_BODY_BYTES: String(1024 * 1024), SEMCACHE_LOG_LEVEL: "error" } });
    const held = request(`${small.url}/v1/chat/completions`, { method: "POST", headers: { "content-type": "application/json" } });
    held.on("error", () => undefined);
    try {
      // An upload that stops short of its end holds its bytes.
      held.write(`{"model": "m", "messages": [{"role": "user", "content": "${"x".repeat(900 * 1024)}`);
      await eventually(async () => {
        const refused = await fetch(`${small.url}/v1/chat/completions`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ model: MODEL, messages: [{ role: "user", content: "y".repeat(300 * 1024) }] }),
        });
        expect(refused.status).toBe(429);
        expect(((await refused.json()) as { error: { message: string } }).error.message).toMatch(/SEMCACHE_MAX_PENDING_BODY_BYTES/u);
      }, 5_000);
    } finally {
      held.destroy();
      await small.stop();
    }
  });
});
