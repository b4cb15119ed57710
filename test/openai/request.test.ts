/** Parsing, cacheability and the mapping onto Ask: the pure parts of the OpenAI endpoint. */
import { describe, expect, it } from "vitest";
import { readConversation } from "../../src/ask/conversation.js";
import { SemcacheError } from "../../src/errors/index.js";
import { pickLlmParams } from "../../src/llm/index.js";
import { askTurns, samplingScopeParams, toAskInput } from "../../src/openai/ask-input.js";
import { bypassReason } from "../../src/openai/bypass.js";
import { parseChatRequest, SAMPLING_PARAMS } from "../../src/openai/chat-request.js";
import { readControls } from "../../src/openai/semcache-headers.js";

const LIMITS = { maxPromptBytes: 65536, maxResponseBytes: 65536, maxMetadataEntries: 16, maxMetadataBytes: 4096 };
const base = { model: "gpt-4o-mini", messages: [{ role: "user", content: "What is the capital of France?" }] };

function fieldOf(work: () => unknown): string | undefined {
  try {
    work();
  } catch (error) {
    expect(error).toBeInstanceOf(SemcacheError);
    expect((error as SemcacheError).code).toBe("invalid_argument");
    return (error as SemcacheError).field;
  }
  throw new Error("expected an error");
}

describe("parseChatRequest", () => {
  it("reads a minimal request", () => {
    const request = parseChatRequest(base);
    expect(request.model).toBe("gpt-4o-mini");
    expect(request.stream).toBe(false);
    expect(request.includeUsage).toBe(false);
    expect(request.sampling).toEqual({});
    expect(request.unknownFields).toEqual([]);
  });

  it("reads stream, include_usage and every sampling param", () => {
    const request = parseChatRequest({
      ...base,
      stream: true,
      stream_options: { include_usage: true },
      temperature: 0.2,
      top_p: 1,
      max_tokens: 50,
      max_completion_tokens: 60,
      seed: -3,
      presence_penalty: -1.5,
      frequency_penalty: 2,
    });
    expect(request.stream).toBe(true);
    expect(request.includeUsage).toBe(true);
    expect(request.sampling).toEqual({ temperature: 0.2, top_p: 1, max_tokens: 50, max_completion_tokens: 60, seed: -3, presence_penalty: -1.5, frequency_penalty: 2 });
  });

  it("treats null as absent, as OpenAI does", () => {
    const request = parseChatRequest({ ...base, temperature: null, tools: null, n: null, stream: null, stop: null });
    expect(request.sampling).toEqual({});
    expect(request.present.has("tools")).toBe(false);
    expect(bypassReason(request)).toBeUndefined();
  });

  it("names the field of every bad value", () => {
    expect(fieldOf(() => parseChatRequest([]))).toBe("body");
    expect(fieldOf(() => parseChatRequest({ messages: base.messages }))).toBe("model");
    expect(fieldOf(() => parseChatRequest({ model: "m" }))).toBe("messages");
    expect(fieldOf(() => parseChatRequest({ model: "m", messages: [] }))).toBe("messages");
    expect(fieldOf(() => parseChatRequest({ model: "m", messages: [{ role: "robot", content: "x" }] }))).toBe("messages[0].role");
    expect(fieldOf(() => parseChatRequest({ model: "m", messages: [{ role: "user" }] }))).toBe("messages[0].content");
    expect(fieldOf(() => parseChatRequest({ model: "m", messages: [{ role: "user", content: [{ type: "text" }] }] }))).toBe("messages[0].content[0].text");
    expect(fieldOf(() => parseChatRequest({ ...base, temperature: 3 }))).toBe("temperature");
    expect(fieldOf(() => parseChatRequest({ ...base, temperature: "0.5" }))).toBe("temperature");
    expect(fieldOf(() => parseChatRequest({ ...base, max_tokens: 1.5 }))).toBe("max_tokens");
    expect(fieldOf(() => parseChatRequest({ ...base, n: 0 }))).toBe("n");
    expect(fieldOf(() => parseChatRequest({ ...base, stream: "yes" }))).toBe("stream");
    expect(fieldOf(() => parseChatRequest({ ...base, stream_options: { include_usage: 1 } }))).toBe("stream_options.include_usage");
    expect(fieldOf(() => parseChatRequest({ ...base, stop: ["a", 2] }))).toBe("stop[1]");
    expect(fieldOf(() => parseChatRequest({ ...base, logit_bias: { "50256": 101 } }))).toBe("logit_bias.50256");
    expect(fieldOf(() => parseChatRequest({ ...base, response_format: { type: "xml" } }))).toBe("response_format.type");
    expect(fieldOf(() => parseChatRequest({ ...base, tools: {} }))).toBe("tools");
  });

  it("accepts an assistant turn without content (a tool call) but no user turn without it", () => {
    const request = parseChatRequest({ model: "m", messages: [{ role: "user", content: "hi" }, { role: "assistant", content: null, tool_calls: [] }, { role: "user", content: "ok" }] });
    expect(request.messages[1]?.content).toBeNull();
    expect(fieldOf(() => parseChatRequest({ model: "m", messages: [{ role: "user", content: null }] }))).toBe("messages[0].content");
  });

  it("tolerates and lists fields OpenAI does not document", () => {
    const request = parseChatRequest({ ...base, top_k: 40, repetition_penalty: 1.1 });
    expect(request.unknownFields).toEqual(["top_k", "repetition_penalty"]);
  });
});

describe("bypassReason", () => {
  const reason = (extra: Record<string, unknown>) => bypassReason(parseChatRequest({ ...base, ...extra }));

  it("caches plain text with sampling params and fields that do not change the answer", () => {
    expect(reason({})).toBeUndefined();
    expect(reason({ temperature: 0, seed: 1, max_tokens: 10, n: 1, logprobs: false, response_format: { type: "text" }, modalities: ["text"] })).toBeUndefined();
    expect(reason({ store: true, metadata: { a: "b" }, service_tier: "auto", user: "u1", safety_identifier: "s", prompt_cache_key: "k", stream: true, stream_options: { include_usage: true } })).toBeUndefined();
    expect(bypassReason(parseChatRequest({ model: "m", messages: [{ role: "developer", content: "Be brief." }, { role: "user", content: [{ type: "text", text: "a" }, { type: "text", text: "b" }] }] }))).toBeUndefined();
  });

  it("passes through what the cache must not answer, naming the field", () => {
    const tool = { type: "function", function: { name: "f", parameters: {} } };
    expect(reason({ tools: [tool] })).toMatch(/^tools/u);
    expect(reason({ tool_choice: "none" })).toMatch(/^tool_choice/u);
    expect(reason({ functions: [{ name: "f" }] })).toMatch(/^functions/u);
    expect(reason({ function_call: "auto" })).toMatch(/^function_call/u);
    expect(reason({ parallel_tool_calls: false })).toMatch(/^parallel_tool_calls/u);
    expect(reason({ n: 2 })).toMatch(/^n > 1/u);
    expect(reason({ logprobs: true })).toMatch(/^logprobs/u);
    expect(reason({ top_logprobs: 2 })).toMatch(/^top_logprobs/u);
    expect(reason({ response_format: { type: "json_object" } })).toMatch(/^response_format: json_object/u);
    expect(reason({ response_format: { type: "json_schema", json_schema: { name: "x" } } })).toMatch(/^response_format: json_schema/u);
    expect(reason({ modalities: ["text", "audio"] })).toMatch(/^modalities/u);
    expect(reason({ audio: { voice: "alloy", format: "mp3" } })).toMatch(/^audio/u);
    expect(reason({ prediction: { type: "content", content: "x" } })).toMatch(/^prediction/u);
    expect(reason({ web_search_options: {} })).toMatch(/^web_search_options/u);
    expect(reason({ stop: "\n" })).toMatch(/^stop/u);
    expect(reason({ logit_bias: { "1": 5 } })).toMatch(/^logit_bias/u);
    expect(reason({ reasoning_effort: "low" })).toMatch(/^reasoning_effort/u);
    expect(reason({ verbosity: "low" })).toMatch(/^verbosity/u);
    expect(reason({ top_k: 40 })).toBe("top_k: not an OpenAI field");
  });

  it("passes through conversations the Ask path cannot represent", () => {
    const messages = (...turns: unknown[]) => bypassReason(parseChatRequest({ model: "m", messages: turns }));
    expect(messages({ role: "user", content: [{ type: "image_url", image_url: { url: "https://x/y.png" } }] })).toBe("messages[0]: image_url content");
    expect(messages({ role: "user", content: [{ type: "input_audio", input_audio: { data: "", format: "wav" } }] })).toBe("messages[0]: input_audio content");
    expect(messages({ role: "user", content: "hi", name: "bob" })).toBe("messages[0].name");
    expect(messages({ role: "user", content: "hi" }, { role: "assistant", content: null, tool_calls: [{ id: "c" }] }, { role: "tool", tool_call_id: "c", content: "42" }, { role: "user", content: "so?" })).toBe(
      "messages[1].tool_calls",
    );
    expect(messages({ role: "user", content: "hi" }, { role: "function", name: "f", content: "42" }, { role: "user", content: "so?" })).toBe("messages[1]: function result");
    expect(messages({ role: "user", content: "hi" }, { role: "assistant", content: "The answer is" })).toBe("messages[1]: the last turn is not the user's");
    expect(messages({ role: "system", content: "hi" })).toBe("messages[0]: the last turn is not the user's");
  });
});

describe("toAskInput", () => {
  const controls = readControls({});

  it("maps one user message without params to the same conversation as Ask(prompt)", () => {
    const input = toAskInput(parseChatRequest(base), controls, "default");
    expect(input.scope).toEqual({ namespace: "default", model: "gpt-4o-mini", params: {} });
    const viaMessages = readConversation(input.prompt, input.messages, LIMITS);
    const viaPrompt = readConversation(base.messages[0]?.content ?? "", [], LIMITS);
    expect(viaMessages).toEqual(viaPrompt);
  });

  it("puts earlier turns into the conversation scope and matches the last user turn", () => {
    const request = parseChatRequest({
      model: "m",
      messages: [
        { role: "developer", content: "Answer in French." },
        { role: "user", content: [{ type: "text", text: "Capital of" }, { type: "text", text: "France?" }] },
      ],
    });
    const turns = askTurns(request);
    expect(turns).toEqual([
      { role: "system", content: "Answer in French." },
      { role: "user", content: "Capital of\nFrance?" },
    ]);
    const conversation = readConversation("", turns, LIMITS);
    expect(conversation.prompt).toBe("Capital of\nFrance?");
    expect(conversation.conversationKey).toMatch(/^[0-9a-f]{64}$/u);
    // developer and system are the same system prompt.
    const asSystem = readConversation("", [{ role: "system", content: "Answer in French." }, { role: "user", content: "Capital of\nFrance?" }], LIMITS);
    expect(asSystem.conversationKey).toBe(conversation.conversationKey);
  });

  it("turns sampling params into scope params the LLM client forwards unchanged", () => {
    const request = parseChatRequest({ ...base, temperature: 0.7, top_p: 0.9, max_tokens: 64, max_completion_tokens: 64, seed: 7, presence_penalty: 0.5, frequency_penalty: -0.5 });
    const params = samplingScopeParams(request);
    expect(params).toEqual({ temperature: "0.7", top_p: "0.9", max_tokens: "64", max_completion_tokens: "64", seed: "7", presence_penalty: "0.5", frequency_penalty: "-0.5" });
    const picked = pickLlmParams(params);
    expect(picked.ignored).toEqual([]);
    expect(picked.params).toEqual(request.sampling);
    // Every param the client can forward is one the endpoint reads.
    expect(Object.keys(SAMPLING_PARAMS).sort()).toEqual(Object.keys(picked.params).sort());
  });

  it("passes an error budget on to Ask, and refuses one outside (0, 1) naming the header", () => {
    expect(toAskInput(parseChatRequest(base), readControls({ "x-semcache-max-error-rate": "0.01" }), "default")).toMatchObject({ maxErrorRate: 0.01 });
    expect(fieldOf(() => readControls({ "x-semcache-max-error-rate": "0" }))).toBe("x-semcache-max-error-rate");
  });

  it("carries the header controls", () => {
    const input = toAskInput(parseChatRequest(base), readControls({ "x-semcache-no-cache": "true", "x-semcache-no-store": "1", "x-semcache-min-similarity": "0.8", "x-semcache-ttl-seconds": "60" }), "tenant-a");
    expect(input).toMatchObject({ noCache: true, noStore: true, minSimilarity: 0.8, ttlSeconds: 60, scope: { namespace: "tenant-a" } });
  });
});

describe("readControls", () => {
  it("reads defaults from no headers", () => {
    expect(readControls({})).toEqual({ namespace: undefined, noCache: false, noStore: false, minSimilarity: undefined, ttlSeconds: undefined, maxErrorRate: undefined });
  });

  it("reads every header", () => {
    expect(
      readControls({
        "x-semcache-namespace": "tenant-a",
        "x-semcache-no-cache": "TRUE",
        "x-semcache-no-store": "false",
        "x-semcache-min-similarity": "0.95",
        "x-semcache-ttl-seconds": "0",
        "x-semcache-max-error-rate": "0.01",
      }),
    ).toEqual({ namespace: "tenant-a", noCache: true, noStore: false, minSimilarity: 0.95, ttlSeconds: 0, maxErrorRate: 0.01 });
  });

  it("answers a bad value with the header's name as the param", () => {
    expect(fieldOf(() => readControls({ "x-semcache-namespace": "a b" }))).toBe("x-semcache-namespace");
    expect(fieldOf(() => readControls({ "x-semcache-no-cache": "maybe" }))).toBe("x-semcache-no-cache");
    expect(fieldOf(() => readControls({ "x-semcache-no-store": "yes please" }))).toBe("x-semcache-no-store");
    expect(fieldOf(() => readControls({ "x-semcache-min-similarity": "0" }))).toBe("x-semcache-min-similarity");
    expect(fieldOf(() => readControls({ "x-semcache-min-similarity": "1.5" }))).toBe("x-semcache-min-similarity");
    expect(fieldOf(() => readControls({ "x-semcache-min-similarity": "0x1" }))).toBe("x-semcache-min-similarity");
    expect(fieldOf(() => readControls({ "x-semcache-ttl-seconds": "1.5" }))).toBe("x-semcache-ttl-seconds");
    expect(fieldOf(() => readControls({ "x-semcache-ttl-seconds": "-1" }))).toBe("x-semcache-ttl-seconds");
    expect(fieldOf(() => readControls({ "x-semcache-max-error-rate": "2" }))).toBe("x-semcache-max-error-rate");
  });
});
