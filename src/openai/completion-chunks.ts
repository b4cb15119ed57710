/**
 * A streamed answer as OpenAI sends it: server-sent events, each
 * `data: <chat.completion.chunk>`, the first with the assistant role, then
 * the text in deltas, then one with the finish reason, then (when the request
 * asked for `stream_options.include_usage`) a chunk with no choices and the
 * usage, then `data: [DONE]`. A cached answer is replayed the same way.
 */
import { chunkText } from "../ask/text-chunks.js";
import { reportedFinishReason, usageOf, type ChatAnswer } from "./completion-body.js";

/** One server-sent event carrying `data`. */
export function sseEvent(data: unknown): string {
  return `data: ${typeof data === "string" ? data : JSON.stringify(data)}\n\n`;
}

/** The event that ends every successful stream. */
export const SSE_DONE = sseEvent("[DONE]");

/** The response headers of a stream. */
export const SSE_HEADERS: Readonly<Record<string, string>> = {
  "content-type": "text/event-stream; charset=utf-8",
  "cache-control": "no-cache",
};

/** Builds the events of one streamed completion; one per response. */
export class CompletionChunks {
  constructor(
    private readonly id: string,
    private readonly created: number,
    private readonly includeUsage: boolean,
  ) {}

  private chunk(model: string, delta: Record<string, unknown>, finishReason: string | null): string {
    return sseEvent({
      id: this.id,
      object: "chat.completion.chunk",
      created: this.created,
      model,
      system_fingerprint: null,
      choices: [{ index: 0, delta, logprobs: null, finish_reason: finishReason }],
      // OpenAI sends usage: null on every chunk but the last when usage was asked for.
      ...(this.includeUsage ? { usage: null } : {}),
    });
  }

  /** The first event: the assistant role, no text yet. */
  opening(model: string): string {
    return this.chunk(model, { role: "assistant", content: "", refusal: null }, null);
  }

  /** A piece of the answer's text. */
  delta(model: string, text: string): string {
    return this.chunk(model, { content: text }, null);
  }

  /** The finish reason, the usage chunk if asked for, and `[DONE]`. */
  ending(answer: ChatAnswer): string {
    let events = this.chunk(answer.model, {}, reportedFinishReason(answer));
    if (this.includeUsage) {
      events += sseEvent({ id: this.id, object: "chat.completion.chunk", created: this.created, model: answer.model, system_fingerprint: null, choices: [], usage: usageOf(answer) });
    }
    return events + SSE_DONE;
  }

  /** A whole answer (a cached one, or one this request waited for) as a stream. */
  replay(answer: ChatAnswer): string[] {
    return [this.opening(answer.model), ...chunkText(answer.text).map((text) => this.delta(answer.model, text)), this.ending(answer)];
  }
}
