/**
 * The `chat.completion` object a non-streaming request is answered with,
 * whatever the answer's source: a cached answer looks exactly like a fresh
 * one, except that its `usage` is what the original call used (semcache's
 * headers say the tokens were saved).
 */
import { randomBytes } from "node:crypto";

/** An answer, from the LLM or the cache, with what producing it cost. */
export interface ChatAnswer {
  readonly text: string;
  /** Upstream's finish reason; "" when unknown (reported as "stop"). */
  readonly finishReason: string;
  /** The model that wrote the answer. */
  readonly model: string;
  /** Tokens of the call that produced the answer (0 when upstream reported none). */
  readonly promptTokens: number;
  readonly completionTokens: number;
}

/** OpenAI's `usage` object. */
export interface ChatUsage {
  readonly prompt_tokens: number;
  readonly completion_tokens: number;
  readonly total_tokens: number;
}

/** A fresh completion id, in OpenAI's form (`chatcmpl-…`). */
export function completionId(): string {
  return `chatcmpl-${randomBytes(18).toString("base64url")}`;
}

/** Seconds since the epoch, as `created` wants them. */
export function createdNow(): number {
  return Math.floor(Date.now() / 1000);
}

/** The finish reason to report: OpenAI clients expect one of a few words, never "". */
export function reportedFinishReason(answer: Pick<ChatAnswer, "finishReason">): string {
  return answer.finishReason === "" ? "stop" : answer.finishReason;
}

/** The answer's `usage`. */
export function usageOf(answer: Pick<ChatAnswer, "promptTokens" | "completionTokens">): ChatUsage {
  return { prompt_tokens: answer.promptTokens, completion_tokens: answer.completionTokens, total_tokens: answer.promptTokens + answer.completionTokens };
}

/** The `chat.completion` for an answer. */
export function completionBody(answer: ChatAnswer, id: string = completionId(), created: number = createdNow()): Record<string, unknown> {
  return {
    id,
    object: "chat.completion",
    created,
    model: answer.model,
    choices: [
      {
        index: 0,
        message: { role: "assistant", content: answer.text, refusal: null, annotations: [] },
        logprobs: null,
        finish_reason: reportedFinishReason(answer),
      },
    ],
    usage: usageOf(answer),
    system_fingerprint: null,
  };
}
