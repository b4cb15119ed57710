/** The response side of the OpenAI endpoint: completions, chunks and errors, in OpenAI's shapes. */
import { Code, ConnectError } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { InvalidInputError } from "../../src/cache/errors.js";
import { SemcacheError } from "../../src/errors/index.js";
import { httpStatusOf } from "../../src/server/api/errors.js";
import { asSemcacheError } from "../../src/openai/as-semcache-error.js";
import { completionBody, completionId } from "../../src/openai/completion-body.js";
import { CompletionChunks, SSE_DONE } from "../../src/openai/completion-chunks.js";
import { openAiErrorResponse } from "../../src/openai/error-response.js";

const answer = { text: "Paris is the capital of France.", finishReason: "stop", model: "gpt-4o-mini-2024-07-18", promptTokens: 7, completionTokens: 6 };

/** The JSON payloads of an SSE text, and whether it ended with [DONE]. */
function events(text: string): { payloads: Record<string, unknown>[]; done: boolean } {
  const datas = text.split("\n\n").filter((event) => event !== "").map((event) => {
    expect(event.startsWith("data: ")).toBe(true);
    return event.slice("data: ".length);
  });
  const done = datas.at(-1) === "[DONE]";
  return { payloads: (done ? datas.slice(0, -1) : datas).map((data) => JSON.parse(data) as Record<string, unknown>), done };
}

describe("completionBody", () => {
  it("is a chat.completion with the original call's usage", () => {
    const body = completionBody(answer, "chatcmpl-x", 1_700_000_000);
    expect(body).toEqual({
      id: "chatcmpl-x",
      object: "chat.completion",
      created: 1_700_000_000,
      model: "gpt-4o-mini-2024-07-18",
      choices: [{ index: 0, message: { role: "assistant", content: answer.text, refusal: null, annotations: [] }, logprobs: null, finish_reason: "stop" }],
      usage: { prompt_tokens: 7, completion_tokens: 6, total_tokens: 13 },
      system_fingerprint: null,
    });
  });

  it("reports an unknown finish reason as stop, and fresh ids", () => {
    const body = completionBody({ ...answer, finishReason: "" }) as { choices: { finish_reason: string }[]; id: string; created: number };
    expect(body.choices[0]?.finish_reason).toBe("stop");
    expect(body.id).toMatch(/^chatcmpl-[A-Za-z0-9_-]{24}$/u);
    expect(completionId()).not.toBe(completionId());
    expect(Math.abs(body.created - Date.now() / 1000)).toBeLessThan(60);
  });
});

describe("CompletionChunks", () => {
  it("replays an answer as role, deltas, finish, [DONE]", () => {
    const { payloads, done } = events(new CompletionChunks("chatcmpl-y", 5, false).replay(answer).join(""));
    expect(done).toBe(true);
    expect(payloads.every((p) => p.object === "chat.completion.chunk" && p.id === "chatcmpl-y" && p.created === 5 && !("usage" in p))).toBe(true);
    const deltas = payloads.map((p) => (p.choices as { delta: { role?: string; content?: string }; finish_reason: string | null }[])[0]);
    expect(deltas[0]?.delta.role).toBe("assistant");
    expect(deltas.map((d) => d?.delta.content ?? "").join("")).toBe(answer.text);
    expect(deltas.at(-1)?.finish_reason).toBe("stop");
    expect(deltas.slice(0, -1).every((d) => d?.finish_reason === null)).toBe(true);
  });

  it("ends with a usage chunk when include_usage was asked for", () => {
    const chunks = new CompletionChunks("chatcmpl-z", 5, true);
    const text = chunks.opening(answer.model) + chunks.delta(answer.model, "Paris") + chunks.ending(answer);
    const { payloads, done } = events(text);
    expect(done).toBe(true);
    expect(payloads.slice(0, -1).every((p) => p.usage === null)).toBe(true);
    expect(payloads.at(-1)).toMatchObject({ choices: [], usage: { prompt_tokens: 7, completion_tokens: 6, total_tokens: 13 } });
    expect(text.endsWith(SSE_DONE)).toBe(true);
  });

  it("splits a long answer into several deltas", () => {
    const long = { ...answer, text: "x".repeat(40_000) };
    const { payloads } = events(new CompletionChunks("c", 1, false).replay(long).join(""));
    expect(payloads.length).toBeGreaterThan(3);
  });
});

describe("openAiErrorResponse", () => {
  it("maps each code to the status an OpenAI SDK expects", () => {
    const status = (code: SemcacheError["code"]) => openAiErrorResponse(new SemcacheError(code, "m")).status;
    expect(status("invalid_argument")).toBe(400);
    expect(status("unauthenticated")).toBe(401);
    expect(status("permission_denied")).toBe(403);
    expect(status("not_found")).toBe(404);
    expect(status("resource_exhausted")).toBe(429);
    expect(status("internal")).toBe(500);
    expect(status("unavailable")).toBe(503);
    expect(status("failed_precondition")).toBe(503);
    expect(status("deadline_exceeded")).toBe(504);
    // The server's plain-HTTP table for everything but failed_precondition.
    expect(status("already_exists")).toBe(httpStatusOf("already_exists"));
  });

  it("has OpenAI's body, the field as param, and retry hints", () => {
    const limited = openAiErrorResponse(new SemcacheError("resource_exhausted", "slow down", { retryAfterMs: 1500 }));
    expect(limited.body).toEqual({ error: { message: "slow down", type: "rate_limit_error", param: null, code: "resource_exhausted" } });
    expect(limited.headers).toEqual({ "retry-after-ms": "1500", "retry-after": "2" });
    const bad = openAiErrorResponse(new SemcacheError("invalid_argument", "temperature: too hot", { field: "temperature" }));
    expect(bad.body.error).toEqual({ message: "temperature: too hot", type: "invalid_request_error", param: "temperature", code: "invalid_argument" });
    expect(openAiErrorResponse(new SemcacheError("failed_precondition", "no LLM")).headers["x-should-retry"]).toBe("false");
    expect(openAiErrorResponse(new SemcacheError("unavailable", "later")).headers["x-should-retry"]).toBeUndefined();
    expect(openAiErrorResponse(new SemcacheError("unauthenticated", "who?")).headers["www-authenticate"]).toMatch(/^Bearer/u);
  });
});

describe("asSemcacheError", () => {
  it("keeps SemcacheErrors, and translates the ConnectErrors of the access checks and the LLM slot pool", () => {
    const own = new InvalidInputError("messages[0].content", "must not be empty");
    expect(asSemcacheError(own, () => undefined)).toBe(own);
    const limited = asSemcacheError(new ConnectError("rate", Code.ResourceExhausted, { "retry-after-ms": "250" }), () => undefined);
    expect([limited.code, limited.retryAfterMs, limited.message]).toEqual(["resource_exhausted", 250, "rate"]);
    expect(asSemcacheError(new ConnectError("who?", Code.Unauthenticated), () => undefined).code).toBe("unauthenticated");
    expect(asSemcacheError(new ConnectError("late", Code.DeadlineExceeded), () => undefined).code).toBe("deadline_exceeded");
  });

  it("hides an unexpected error's text and logs it", () => {
    const logged: unknown[] = [];
    const error = asSemcacheError(new Error("secret path /etc/x"), (e) => logged.push(e));
    expect(error.code).toBe("internal");
    expect(error.message).not.toContain("secret");
    expect(logged).toHaveLength(1);
  });
});
