import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { Code, ConnectError } from "@connectrpc/connect";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { createOpenAiLlmClient } from "../../src/llm/openai-client.js";
import { startOpenAiServer, type OpenAiTestServer } from "../support/openai-server.js";
import { ask, drain, rejection, testClient, textOf } from "../support/llm-client.js";

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

describe("complete", () => {
  it("returns the answer, finish reason, model and usage", async () => {
    const result = await testClient(llm.url).complete(ask("hello there"));
    expect(result).toEqual({
      text: "ANSWER: hello there",
      finishReason: "stop",
      model: "test-model",
      promptTokens: 2,
      completionTokens: 3,
    });
    expect(llm.counts()).toMatchObject({ total: 1, completed: 1 });
    expect(llm.requests[0]?.body).toMatchObject({ model: "test-model", messages: [{ role: "user", content: "hello there" }] });
    expect(llm.requests[0]?.stream).toBe(false);
  });

  it("sends all messages, in order", async () => {
    const messages = [
      { role: "system", content: "be brief" },
      { role: "user", content: "first" },
      { role: "assistant", content: "ok" },
      { role: "user", content: "second" },
    ] as const;
    const result = await testClient(llm.url).complete({ model: "m", messages });
    expect(result.text).toBe("ANSWER: second");
    expect(llm.requests[0]?.body?.messages).toEqual(messages);
  });

  it("uses the default model when the request names none", async () => {
    const result = await testClient(llm.url, { defaultModel: "fallback-model" }).complete(ask("hi", { model: "" }));
    expect(result.model).toBe("fallback-model");
    expect(llm.counts().byModel).toEqual({ "fallback-model": 1 });
  });

  it("sends no Authorization header without an API key, and a bearer token with one", async () => {
    await testClient(llm.url).complete(ask("a"));
    await testClient(llm.url, { apiKey: "sk-test" }).complete(ask("b"));
    expect(llm.requests[0]?.headers.authorization).toBeUndefined();
    expect(llm.requests[1]?.headers.authorization).toBe("Bearer sk-test");
  });

  it("reports 0 tokens when upstream reports no usage", async () => {
    llm.setBehaviour({ omitUsage: true, finishReason: "length" });
    const result = await testClient(llm.url).complete(ask("x"));
    expect(result).toMatchObject({ promptTokens: 0, completionTokens: 0, finishReason: "length" });
  });

  it("forwards well-known numeric params with valid values only", async () => {
    await testClient(llm.url).complete(
      ask("p", {
        params: {
          temperature: "0.2",
          top_p: " 0.9 ",
          max_tokens: "64",
          seed: "7",
          presence_penalty: "3", // out of range
          frequency_penalty: "",
          system_prompt_version: "3", // not an LLM param
          n: "5", // not forwarded: the cache stores one answer
        },
      }),
    );
    const body = llm.requests[0]?.body ?? {};
    expect(body).toMatchObject({ temperature: 0.2, top_p: 0.9, max_tokens: 64, seed: 7 });
    for (const name of ["presence_penalty", "frequency_penalty", "system_prompt_version", "n"]) expect(body).not.toHaveProperty(name);
  });
});

describe("stream", () => {
  it("yields text deltas, then the finish reason and usage", async () => {
    const { events, error } = await drain(testClient(llm.url).stream(ask("one two three")));
    expect(error).toBeUndefined();
    const deltas = events.filter((event) => event.type === "delta");
    expect(deltas.length).toBeGreaterThan(1);
    expect(textOf(events)).toBe("ANSWER: one two three");
    expect(events.at(-1)).toEqual({ type: "end", finishReason: "stop", model: "test-model", promptTokens: 3, completionTokens: 4 });
    expect(events.filter((event) => event.type === "end")).toHaveLength(1);
    expect(llm.requests[0]?.body).toMatchObject({ stream: true, stream_options: { include_usage: true } });
  });

  it("tolerates a server that sends no usage", async () => {
    llm.setBehaviour({ omitUsage: true });
    const { events } = await drain(testClient(llm.url).stream(ask("x")));
    expect(events.at(-1)).toMatchObject({ type: "end", finishReason: "stop", promptTokens: 0, completionTokens: 0 });
  });

  it("forwards params", async () => {
    await drain(testClient(llm.url).stream(ask("x", { params: { temperature: "0", seed: "42" } })));
    expect(llm.requests[0]?.body).toMatchObject({ temperature: 0, seed: 42 });
  });

  it("closes the upstream request when the consumer stops early", async () => {
    llm.setBehaviour({ answer: "a b c d e f g h", chunkDelayMs: 30 });
    for await (const event of testClient(llm.url).stream(ask("x"))) {
      expect(event.type).toBe("delta");
      break;
    }
    await llm.waitFor((s) => s.counts().closedEarly === 1);
  });
});

describe("retries", () => {
  it("honours retry-after on 429, then succeeds (1 retry)", async () => {
    llm.setBehaviour({ error: { status: 429, retryAfter: "1" }, failFirst: 1 });
    const started = Date.now();
    const result = await testClient(llm.url).complete(ask("x"));
    expect(result.text).toBe("ANSWER: x");
    expect(Date.now() - started).toBeGreaterThanOrEqual(950);
    expect(llm.counts().total).toBe(2);
  });

  it("honours retry-after-ms on 429", async () => {
    llm.setBehaviour({ error: { status: 429, retryAfterMs: "200", retryAfter: "60" }, failFirst: 1 });
    const started = Date.now();
    await testClient(llm.url).complete(ask("x"));
    const elapsed = Date.now() - started;
    expect(elapsed).toBeGreaterThanOrEqual(190);
    expect(elapsed).toBeLessThan(2_000);
    expect(llm.counts().total).toBe(2);
  });

  it("gives up with RESOURCE_EXHAUSTED when 429 persists", async () => {
    llm.setBehaviour({ error: { status: 429, retryAfterMs: "20", message: "Rate limit reached for test-model" } });
    const error = await rejection(testClient(llm.url, { maxRetries: 2 }).complete(ask("x")));
    expect(error.code).toBe(Code.ResourceExhausted);
    expect(error.message).toContain("Rate limit reached for test-model");
    expect(llm.counts().total).toBe(3);
  });

  it("gives up at once with RESOURCE_EXHAUSTED when retry-after does not fit in the deadline", async () => {
    llm.setBehaviour({ error: { status: 429, retryAfter: "30" } });
    const started = Date.now();
    const error = await rejection(testClient(llm.url, { timeoutMs: 2_000 }).complete(ask("x")));
    expect(error.code).toBe(Code.ResourceExhausted);
    expect(Date.now() - started).toBeLessThan(1_000);
    expect(llm.counts().total).toBe(1);
  });

  it("retries a 500, then succeeds", async () => {
    llm.setBehaviour({ error: { status: 500 }, failFirst: 1 });
    const result = await testClient(llm.url).complete(ask("x"));
    expect(result.text).toBe("ANSWER: x");
    expect(llm.counts().total).toBe(2);
    expect(llm.requests.map((r) => r.status)).toEqual([500, 200]);
  });

  it("gives up with UNAVAILABLE after maxRetries when 503 persists", async () => {
    llm.setBehaviour({ error: { status: 503, message: "overloaded, try later" } });
    const error = await rejection(testClient(llm.url, { maxRetries: 3 }).complete(ask("x")));
    expect(error.code).toBe(Code.Unavailable);
    expect(error.message).toContain("overloaded, try later");
    expect(llm.counts().total).toBe(4);
  });

  it("does not retry when upstream says x-should-retry: false", async () => {
    llm.setBehaviour({ error: { status: 503, headers: { "x-should-retry": "false" } } });
    const error = await rejection(testClient(llm.url).complete(ask("x")));
    expect(error.code).toBe(Code.Unavailable);
    expect(llm.counts().total).toBe(1);
  });

  it("retries a connection dropped before the answer", async () => {
    llm.setBehaviour({ disconnect: "before-headers", failFirst: 1 });
    const result = await testClient(llm.url).complete(ask("x"));
    expect(result.text).toBe("ANSWER: x");
    expect(llm.counts()).toMatchObject({ total: 2, serverClosed: 1, completed: 1 });
  });

  it("fails with UNAVAILABLE when the connection is refused", async () => {
    const gone = await startOpenAiServer();
    await gone.close();
    const started = Date.now();
    const error = await rejection(testClient(gone.url).complete(ask("x")));
    expect(error.code).toBe(Code.Unavailable);
    expect(error.message).toContain("ECONNREFUSED");
    expect(Date.now() - started).toBeLessThan(2_000);
  });

  it("retries a stream that fails before its first token", async () => {
    llm.setBehaviour({ error: { status: 503 }, failFirst: 2 });
    const { events, error } = await drain(testClient(llm.url).stream(ask("x")));
    expect(error).toBeUndefined();
    expect(textOf(events)).toBe("ANSWER: x");
    expect(llm.counts().total).toBe(3);
  });

  it("retries a stream whose connection drops before headers", async () => {
    llm.setBehaviour({ disconnect: "before-headers", failFirst: 1 });
    const { events, error } = await drain(testClient(llm.url).stream(ask("x")));
    expect(error).toBeUndefined();
    expect(textOf(events)).toBe("ANSWER: x");
    expect(llm.counts().total).toBe(2);
  });

  it("does not retry a stream after its first token: a dropped connection is UNAVAILABLE", async () => {
    llm.setBehaviour({ answer: "one two three", disconnect: "mid-stream" });
    const { events, error } = await drain(testClient(llm.url).stream(ask("x")));
    expect(textOf(events)).toBe("one ");
    expect(events.some((event) => event.type === "end")).toBe(false);
    expect(error?.code).toBe(Code.Unavailable);
    expect(llm.counts().total).toBe(1);
  });

  it("maps an error event inside a stream", async () => {
    llm.setBehaviour({ answer: "one two", streamError: { message: "engine crashed mid-answer" } });
    const { events, error } = await drain(testClient(llm.url).stream(ask("x")));
    expect(textOf(events)).toBe("one ");
    expect(error?.code).toBe(Code.Unavailable);
    expect(error?.message).toContain("engine crashed mid-answer");
    expect(llm.counts().total).toBe(1);
  });

  it("maps an in-stream error carrying an HTTP status as that status", async () => {
    llm.setBehaviour({ answer: "one two", streamError: { message: "context too long", code: 400 } });
    const { error } = await drain(testClient(llm.url).stream(ask("x")));
    expect(error?.code).toBe(Code.InvalidArgument);
    expect(error?.message).toContain("context too long");
  });
});

describe("deadline", () => {
  it("fails with DEADLINE_EXCEEDED within the deadline when upstream hangs, and closes the request", async () => {
    llm.setBehaviour({ hang: "before-headers" });
    const started = Date.now();
    const error = await rejection(testClient(llm.url, { timeoutMs: 300 }).complete(ask("x")));
    const elapsed = Date.now() - started;
    expect(error.code).toBe(Code.DeadlineExceeded);
    expect(error.message).toContain("SEMCACHE_LLM_TIMEOUT_MS");
    expect(elapsed).toBeGreaterThanOrEqual(290);
    expect(elapsed).toBeLessThan(300 + 250);
    await llm.waitFor((s) => s.counts().closedEarly === 1);
  });

  it("covers the retries: a slow, failing upstream ends at the deadline naming the last failure", async () => {
    llm.setBehaviour({ delayMs: 150, error: { status: 503, message: "busy" } });
    const started = Date.now();
    const error = await rejection(testClient(llm.url, { timeoutMs: 400, maxRetries: 10 }).complete(ask("x")));
    expect(error.code).toBe(Code.DeadlineExceeded);
    expect(error.message).toContain("busy");
    expect(Date.now() - started).toBeLessThan(400 + 250);
    expect(llm.counts().total).toBeGreaterThanOrEqual(2);
  });

  it("covers a stream that stalls after its first token", async () => {
    llm.setBehaviour({ answer: "one two three", hang: "mid-stream" });
    const started = Date.now();
    const { events, error } = await drain(testClient(llm.url, { timeoutMs: 300 }).stream(ask("x")));
    expect(textOf(events)).toBe("one ");
    expect(error?.code).toBe(Code.DeadlineExceeded);
    expect(Date.now() - started).toBeLessThan(300 + 250);
    await llm.waitFor((s) => s.counts().closedEarly === 1);
  });
});

describe("upstream rejections", () => {
  it("maps 400 to INVALID_ARGUMENT with upstream's message", async () => {
    llm.setBehaviour({ error: { status: 400, message: "This model's maximum context length is 8 tokens." } });
    const error = await rejection(testClient(llm.url).complete(ask("x")));
    expect(error.code).toBe(Code.InvalidArgument);
    expect(error.message).toContain("maximum context length is 8 tokens");
    expect(llm.counts().total).toBe(1);
  });

  it("maps 422 to INVALID_ARGUMENT", async () => {
    llm.setBehaviour({ error: { status: 422, message: "temperature: value too large" } });
    const error = await rejection(testClient(llm.url).complete(ask("x")));
    expect(error.code).toBe(Code.InvalidArgument);
    expect(error.message).toContain("temperature: value too large");
  });

  it("maps 403 to FAILED_PRECONDITION too", async () => {
    llm.setBehaviour({ error: { status: 403, message: "project has no access" } });
    const error = await rejection(testClient(llm.url).complete(ask("x")));
    expect(error.code).toBe(Code.FailedPrecondition);
    expect(error.message).toContain("project has no access");
    expect(llm.counts().total).toBe(1);
  });

  describe("against a server with a fixed model list and an API key", () => {
    let strict: OpenAiTestServer;
    beforeAll(async () => {
      strict = await startOpenAiServer({ models: ["real-model"], apiKey: "sk-right" });
    });
    afterAll(async () => {
      await strict.close();
    });
    beforeEach(() => {
      strict.reset();
    });

    it("maps 404 for a model the caller named to INVALID_ARGUMENT", async () => {
      const client = testClient(strict.url, { apiKey: "sk-right" });
      const error = await rejection(client.complete(ask("x", { model: "no-such-model" })));
      expect(error.code).toBe(Code.InvalidArgument);
      expect(error.message).toContain("The model `no-such-model` does not exist");
    });

    it("maps 404 for the default model to FAILED_PRECONDITION naming SEMCACHE_LLM_MODEL", async () => {
      const client = testClient(strict.url, { apiKey: "sk-right", defaultModel: "no-such-model" });
      const error = await rejection(client.complete(ask("x", { model: "" })));
      expect(error.code).toBe(Code.FailedPrecondition);
      expect(error.message).toContain("SEMCACHE_LLM_MODEL");
      expect(error.message).toContain("does not exist");
    });

    it("maps 401 to FAILED_PRECONDITION saying upstream rejected semcache's key", async () => {
      const client = testClient(strict.url, { apiKey: "sk-wrong", defaultModel: "real-model" });
      const error = await rejection(client.complete(ask("x", { model: "" })));
      expect(error.code).toBe(Code.FailedPrecondition);
      expect(error.message).toContain("rejected semcache's API key");
      expect(error.message).toContain("Incorrect API key provided");
      expect(strict.counts().total).toBe(1); // not retried
    });

    it("succeeds with the right key and a served model", async () => {
      const client = testClient(strict.url, { apiKey: "sk-right" });
      expect((await client.complete(ask("x", { model: "real-model" }))).model).toBe("real-model");
    });
  });

  it("maps a 200 that is not a chat completion to INTERNAL", async () => {
    // What a base URL pointing at some other web server looks like.
    const other = createServer((_req, res) => res.writeHead(200, { "content-type": "text/html" }).end("<html>hi</html>"));
    await new Promise<void>((resolve) => other.listen(0, "127.0.0.1", resolve));
    try {
      const { port } = other.address() as AddressInfo;
      const error = await rejection(testClient(`http://127.0.0.1:${port}/v1`).complete(ask("x")));
      expect(error.code).toBe(Code.Internal);
      expect(error.message).toContain("malformed");
    } finally {
      other.closeAllConnections();
      await new Promise((resolve) => other.close(resolve));
    }
  });
});

describe("cancellation", () => {
  it("aborting mid-stream closes the upstream connection and rejects with CANCELED", async () => {
    llm.setBehaviour({ answer: "a b c d e f g h i j", chunkDelayMs: 30 });
    const controller = new AbortController();
    const events: string[] = [];
    const error = await rejection(
      (async () => {
        for await (const event of testClient(llm.url).stream(ask("x"), controller.signal)) {
          if (event.type === "delta") events.push(event.text);
          if (events.length === 2) controller.abort();
        }
      })(),
    );
    expect(error.code).toBe(Code.Canceled);
    expect(events).toEqual(["a ", "b "]);
    await llm.waitFor((s) => s.counts().closedEarly === 1);
    expect(llm.counts().completed).toBe(0);
  });

  it("aborting a waiting completion closes the upstream connection and rejects with CANCELED", async () => {
    llm.setBehaviour({ hang: "before-headers" });
    const controller = new AbortController();
    const pending = testClient(llm.url).complete(ask("x"), controller.signal);
    await llm.waitFor((s) => s.counts().total === 1);
    controller.abort();
    const error = await rejection(pending);
    expect(error.code).toBe(Code.Canceled);
    await llm.waitFor((s) => s.counts().closedEarly === 1);
  });

  it("aborting during a retry backoff stops at once", async () => {
    llm.setBehaviour({ error: { status: 429, retryAfter: "3" } });
    const controller = new AbortController();
    const started = Date.now();
    const pending = testClient(llm.url).complete(ask("x"), controller.signal);
    await llm.waitFor((s) => s.counts().total === 1);
    controller.abort();
    expect((await rejection(pending)).code).toBe(Code.Canceled);
    expect(Date.now() - started).toBeLessThan(1_000);
    expect(llm.counts().total).toBe(1);
  });

  it("passes on a ConnectError abort reason, such as a handler's deadline", async () => {
    llm.setBehaviour({ hang: "before-headers" });
    const controller = new AbortController();
    const pending = testClient(llm.url).complete(ask("x"), controller.signal);
    controller.abort(new ConnectError("the operation timed out", Code.DeadlineExceeded));
    expect((await rejection(pending)).code).toBe(Code.DeadlineExceeded);
  });

  it("an already aborted signal makes no request", async () => {
    const error = await rejection(testClient(llm.url).complete(ask("x"), AbortSignal.abort()));
    expect(error.code).toBe(Code.Canceled);
    expect(llm.counts().total).toBe(0);
  });
});

describe("configuration problems", () => {
  it("an unconfigured client fails with FAILED_PRECONDITION naming the settings", async () => {
    const client = createOpenAiLlmClient({ timeoutMs: 1_000, maxRetries: 0 });
    expect(client.configured).toBe(false);
    const errors = [await rejection(client.complete(ask("x"))), (await drain(client.stream(ask("x")))).error];
    for (const error of errors) {
      expect(error?.code).toBe(Code.FailedPrecondition);
      for (const name of ["SEMCACHE_LLM_BASE_URL", "SEMCACHE_LLM_API_KEY", "OPENAI_API_KEY", "SEMCACHE_LLM_MODEL"]) {
        expect(error?.message).toContain(name);
      }
    }
  });

  it("no model and no default model fails with FAILED_PRECONDITION naming SEMCACHE_LLM_MODEL, without a request", async () => {
    const client = testClient(llm.url, { defaultModel: undefined });
    const errors = [
      await rejection(client.complete(ask("x", { model: "" }))),
      (await drain(client.stream(ask("x", { model: "" })))).error,
    ];
    for (const error of errors) {
      expect(error?.code).toBe(Code.FailedPrecondition);
      expect(error?.message).toContain("SEMCACHE_LLM_MODEL");
    }
    expect(llm.counts().total).toBe(0);
  });

  it("rejects a nonsensical config at creation", () => {
    expect(() => createOpenAiLlmClient({ baseUrl: llm.url, timeoutMs: 0, maxRetries: 0 })).toThrow(/timeoutMs/);
    expect(() => createOpenAiLlmClient({ baseUrl: llm.url, timeoutMs: 10, maxRetries: -1 })).toThrow(/maxRetries/);
  });

  it("an API key alone means OpenAI's API", () => {
    const client = createOpenAiLlmClient({ apiKey: "sk-x", timeoutMs: 1_000, maxRetries: 0 });
    expect(client.configured).toBe(true);
    expect(client.baseUrl).toBe("https://api.openai.com/v1");
  });
});
