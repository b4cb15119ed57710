/** The fake OpenAI server itself, spoken to with plain fetch (the LLM client tests use the openai package). */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { splitIntoDeltas, startOpenAiServer, type OpenAiTestServer } from "../support/openai-server.js";

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

function chat(body: unknown, signal?: AbortSignal): Promise<Response> {
  return fetch(`${llm.url}/chat/completions`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
    signal,
  });
}

describe("openai test server", () => {
  it("listens on loopback and lists models", async () => {
    expect(llm.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/v1$/);
    const models = (await (await fetch(`${llm.url}/models`)).json()) as { data: { id: string }[] };
    expect(models.data.map((m) => m.id)).toEqual(["test-model"]);
    expect(llm.counts().total).toBe(0);
  });

  it("streams SSE chunks ending in [DONE], with usage when asked", async () => {
    const response = await chat({ model: "m", messages: [{ role: "user", content: "a b" }], stream: true, stream_options: { include_usage: true } });
    expect(response.headers.get("content-type")).toBe("text/event-stream");
    const events = (await response.text()).split("\n\n").filter((e) => e !== "");
    expect(events.every((e) => e.startsWith("data: "))).toBe(true);
    expect(events.at(-1)).toBe("data: [DONE]");
    const chunks = events.slice(0, -1).map((e) => JSON.parse(e.slice(6)));
    expect(chunks.at(-1)).toMatchObject({ choices: [], usage: { prompt_tokens: 2, completion_tokens: 3 } });
    expect(chunks.at(-2)).toMatchObject({ choices: [{ delta: {}, finish_reason: "stop" }] });
    expect(chunks.map((c) => c.choices[0]?.delta?.content ?? "").join("")).toBe("ANSWER: a b");
  });

  it("answers a 400 for a body without messages, and 404 for unknown paths", async () => {
    expect((await chat({ model: "m" })).status).toBe(400);
    const unknown = await fetch(`${llm.url}/completions`, { method: "POST" });
    expect(unknown.status).toBe(404);
    expect(await unknown.json()).toMatchObject({ error: { code: "unknown_url" } });
  });

  it("sends OpenAI-style errors with retry headers, for the first N requests only", async () => {
    llm.setBehaviour({ error: { status: 429, retryAfter: "3", retryAfterMs: "3000" }, failFirst: 1 });
    const first = await chat({ model: "m", messages: [] });
    expect(first.status).toBe(429);
    expect(first.headers.get("retry-after")).toBe("3");
    expect(first.headers.get("retry-after-ms")).toBe("3000");
    expect(await first.json()).toMatchObject({ error: { message: expect.any(String), type: "requests", code: "rate_limit_exceeded" } });
    expect((await chat({ model: "m", messages: [] })).status).toBe(200);
    expect(llm.requests.map((r) => r.status)).toEqual([429, 200]);
  });

  it("counts requests by model and those the client closed early", async () => {
    await chat({ model: "a", messages: [] });
    await chat({ model: "b", messages: [] });
    llm.setBehaviour({ hang: "before-headers" });
    const controller = new AbortController();
    const pending = chat({ model: "a", messages: [] }, controller.signal).catch(() => undefined);
    await llm.waitFor((s) => s.counts().total === 3);
    controller.abort();
    await pending;
    await llm.waitFor((s) => s.counts().closedEarly === 1);
    expect(llm.counts()).toEqual({ total: 3, byModel: { a: 2, b: 1 }, completed: 2, closedEarly: 1, serverClosed: 0 });
  });

  it("takes a per-request behaviour function", async () => {
    llm.setBehaviour((request) => ({ answer: `#${request.index} for ${request.model}` }));
    const body = (await (await chat({ model: "x", messages: [] })).json()) as { choices: { message: { content: string } }[] };
    expect(body.choices[0]?.message.content).toBe("#0 for x");
  });

  it("splits answers into word deltas that join back exactly", () => {
    expect(splitIntoDeltas("ANSWER:  hi there ")).toEqual(["ANSWER:  ", "hi ", "there "]);
    expect(splitIntoDeltas("")).toEqual([]);
  });

  it("close() ends hanging connections", async () => {
    const other = await startOpenAiServer();
    other.setBehaviour({ hang: "before-headers" });
    const pending = fetch(`${other.url}/chat/completions`, { method: "POST", body: JSON.stringify({ model: "m", messages: [] }) });
    await other.waitFor((s) => s.counts().total === 1);
    await other.close();
    await expect(pending).rejects.toThrow();
  });
});
