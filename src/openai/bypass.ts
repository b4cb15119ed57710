/**
 * Which Chat Completions requests the cache must not answer. Such a request
 * is passed through to the upstream as sent (with the server's credential)
 * and its answer is never stored; the response says `x-semcache-source:
 * bypass` and why in `x-semcache-bypass-reason`.
 *
 * A request is cached only when everything that shapes its answer is either
 * part of the cache key or sent upstream by the Ask path: the model, the text
 * of the conversation, and the sampling params the Ask path forwards
 * (temperature, top_p, max_tokens, max_completion_tokens, seed,
 * presence_penalty, frequency_penalty). Anything else passes through:
 *
 * - tool and function calling: `tools`, `tool_choice`, `parallel_tool_calls`,
 *   `functions`, `function_call`, and `tool` / `function` turns or assistant
 *   turns with `tool_calls` (the answer depends on tool results and state);
 * - `n` above 1 (several choices), `logprobs: true`, `top_logprobs`;
 * - `response_format` other than `{"type": "text"}` (JSON mode, structured outputs);
 * - audio: `audio`, `modalities` other than `["text"]`;
 * - non-text content parts (images, audio, files) and refusal parts;
 * - `prediction`, `web_search_options` (the answer depends on the web, now);
 * - `stop`, `logit_bias`, `reasoning_effort`, `verbosity`: they change the
 *   answer, and the Ask path does not send them upstream;
 * - a message field other than `role` and `content` (`name`, `audio`, ...);
 * - a conversation whose last turn is not the user's (an assistant prefill):
 *   only the last user turn can be matched;
 * - a top-level field OpenAI does not document (a server's extension such as
 *   `top_k`): only the upstream knows whether it changes the answer.
 *
 * `store`, `metadata`, `service_tier`, `user`, `safety_identifier`,
 * `prompt_cache_key` and `stream_options` do not change the answer: they are
 * accepted and ignored on the cached path.
 */
import type { ChatMessage } from "./chat-messages.js";
import type { ChatRequest } from "./chat-request.js";
import { isJsonObject } from "./field-readers.js";

/** Top-level fields whose mere presence makes a request pass through, and why. */
const PASS_THROUGH_FIELDS: Readonly<Record<string, string>> = {
  tools: "tool calling",
  tool_choice: "tool calling",
  parallel_tool_calls: "tool calling",
  functions: "function calling",
  function_call: "function calling",
  top_logprobs: "log probabilities",
  audio: "audio output",
  prediction: "predicted outputs",
  web_search_options: "web search",
  stop: "stop sequences",
  logit_bias: "logit bias",
  reasoning_effort: "reasoning effort",
  verbosity: "verbosity",
};

function messageReason(message: ChatMessage, index: number): string | undefined {
  const at = `messages[${index}]`;
  if (message.role === "tool" || message.role === "function") return `${at}: ${message.role} result`;
  const extra = message.extras[0];
  if (extra !== undefined) return `${at}.${extra}`;
  if (Array.isArray(message.content)) {
    const other = message.content.find((part) => part.type !== "text");
    if (other !== undefined) return `${at}: ${other.type} content`;
  }
  return undefined;
}

/**
 * Why the cache must not answer `request` (a short phrase naming the field),
 * or undefined when it may. See the module comment for the rules.
 */
export function bypassReason(request: ChatRequest): string | undefined {
  const { body } = request;
  for (const field of Object.keys(body)) {
    if (request.present.has(field) && Object.hasOwn(PASS_THROUGH_FIELDS, field)) return `${field}: ${PASS_THROUGH_FIELDS[field]}`;
  }
  if (typeof body.n === "number" && body.n > 1) return "n > 1: several choices";
  if (body.logprobs === true) return "logprobs: log probabilities";
  const format = body.response_format;
  if (isJsonObject(format) && format.type !== "text") return `response_format: ${String(format.type)}`;
  const modalities = body.modalities;
  if (Array.isArray(modalities) && modalities.some((modality) => modality !== "text")) return "modalities: audio output";
  const unknown = request.unknownFields[0];
  if (unknown !== undefined) return `${unknown}: not an OpenAI field`;
  for (const [i, message] of request.messages.entries()) {
    const reason = messageReason(message, i);
    if (reason !== undefined) return reason;
  }
  const last = request.messages[request.messages.length - 1];
  if (last !== undefined && last.role !== "user") return `messages[${request.messages.length - 1}]: the last turn is not the user's`;
  return undefined;
}
