/**
 * Maps a cacheable Chat Completions request onto the Ask input, exactly as a
 * gRPC Ask with `messages` is built: `model` is the scope's model, the turns
 * go to the Ask's conversation (the last user turn is matched; everything
 * before it becomes the conversation scope), and each sampling param becomes
 * the scope param of the same name, which the Ask path also sends upstream.
 * So a request with one user message and no sampling params is the same
 * cache entry as `Ask(prompt, scope{namespace, model})`.
 */
import type { AskInput } from "../ask/ask-plan.js";
import type { ChatTurn } from "../ask/conversation.js";
import type { ChatMessage } from "./chat-messages.js";
import type { ChatRequest } from "./chat-request.js";
import type { SemcacheControls } from "./semcache-headers.js";

/**
 * The text of a message that passed the bypass check (so its content is a
 * string or text parts). Text parts are joined with a newline, as vLLM and
 * other OpenAI-compatible servers do.
 */
export function messageText(message: ChatMessage): string {
  const { content } = message;
  if (content === null) return "";
  if (typeof content === "string") return content;
  return content.map((part) => part.text ?? "").join("\n");
}

/**
 * The Ask role of a message. `developer` is OpenAI's newer name for the
 * system prompt (OpenAI itself treats the two alike for models that know only
 * one of them), so both are cached as `system`.
 */
function askRole(message: ChatMessage): string {
  return message.role === "developer" ? "system" : message.role;
}

/** The turns of a cacheable request, as the Ask path takes them. */
export function askTurns(request: ChatRequest): ChatTurn[] {
  return request.messages.map((message) => ({ role: askRole(message), content: messageText(message) }));
}

/** The scope params of a cacheable request: its sampling params, as text. */
export function samplingScopeParams(request: ChatRequest): Record<string, string> {
  const params: Record<string, string> = {};
  for (const [name, value] of Object.entries(request.sampling)) params[name] = String(value);
  return params;
}

/**
 * The Ask input of a cacheable request in `namespace` (already resolved and
 * authorised by the caller). Validation of the turns (roles, blank or
 * oversized content, the last turn being the user's) is the Ask path's, with
 * fields named `messages[i].content` as here. `tenant`: who asks
 * (tenancy/tenant.ts); unset, the namespace.
 */
export function toAskInput(request: ChatRequest, controls: SemcacheControls, namespace: string, tenant?: string): AskInput {
  return {
    prompt: "",
    messages: askTurns(request),
    scope: { namespace, model: request.model, params: samplingScopeParams(request) },
    minSimilarity: controls.minSimilarity,
    maxErrorRate: controls.maxErrorRate,
    ttlSeconds: controls.ttlSeconds,
    noCache: controls.noCache,
    noStore: controls.noStore,
    tenant,
  };
}
