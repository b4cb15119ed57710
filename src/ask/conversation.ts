/**
 * Turns an Ask's input (a prompt, or a chat conversation) into what the cache
 * matches on and what the LLM is sent.
 *
 * Only the last user turn is embedded and looked up. Everything before it
 * (system prompts, earlier user and assistant turns) changes what the right
 * answer is, so it becomes part of the scope instead: a hash of it goes into
 * the scope params under CONVERSATION_PARAM. A follow-up such as "and in
 * French?" therefore only ever matches the same follow-up after the same
 * conversation, never one asked after a different one.
 */
import { createHash } from "node:crypto";
import { InvalidInputError } from "../cache/errors.js";
import { normalizePrompt } from "../cache/normalize.js";
import type { InputLimits } from "../cache/limits.js";
import type { LlmMessage } from "../llm/index.js";

/**
 * The scope param that holds the conversation hash. Reserved: Ask rejects a
 * request that sets it itself (Lookup and Store accept it, so an Ask's entry
 * can be inspected or pre-seeded with the scope it reports).
 */
export const CONVERSATION_PARAM = "__conversation";

/** Most turns in one conversation; far beyond any context window, it only bounds the work per request. */
export const MAX_MESSAGES = 1024;

const ROLES: ReadonlySet<string> = new Set(["system", "user", "assistant"]);

/** One turn as it arrives on the wire (the role is free text until validated). */
export interface ChatTurn {
  readonly role: string;
  readonly content: string;
}

/** What the cache and the LLM see of one Ask. */
export interface AskConversation {
  /** The text that is looked up and stored: the prompt, or the last user turn. */
  readonly prompt: string;
  /** The whole conversation, as sent to the LLM. */
  readonly messages: readonly LlmMessage[];
  /** The conversation hash, when there were turns before the last one. */
  readonly conversationKey: string | undefined;
}

/**
 * The hash of the turns before the last one: sha256 of the canonical JSON
 * `[[role, content], ...]`, content normalised like a prompt (normalizePrompt:
 * line breaks and indentation kept, since an earlier turn may hold code).
 */
export function conversationKey(earlier: readonly LlmMessage[]): string {
  const canonical = JSON.stringify(earlier.map((turn) => [turn.role, normalizePrompt(turn.content)]));
  return createHash("sha256").update(canonical).digest("hex");
}

/**
 * Validates the prompt-or-messages part of an Ask and splits a conversation
 * into its last user turn and its scope-forming history. Exactly one of
 * `prompt` and `messages` must be set; roles must be system, user or
 * assistant; the last turn must be the user's; no turn may be blank.
 * System and user turns are limited like prompts, assistant turns like
 * responses (they are earlier answers).
 */
export function readConversation(prompt: string, messages: readonly ChatTurn[], limits: InputLimits): AskConversation {
  if (prompt !== "" && messages.length > 0) {
    throw new InvalidInputError("prompt", "set either prompt or messages, not both");
  }
  if (messages.length === 0) {
    if (prompt === "") throw new InvalidInputError("prompt", "set either prompt or messages");
    // Blank and oversized prompts are the cache core's to reject, with its usual messages.
    return { prompt, messages: [{ role: "user", content: prompt }], conversationKey: undefined };
  }
  if (messages.length > MAX_MESSAGES) {
    throw new InvalidInputError("messages", `has ${messages.length} turns, above the limit of ${MAX_MESSAGES}`);
  }
  const turns: LlmMessage[] = messages.map((turn, i) => {
    if (!ROLES.has(turn.role)) {
      throw new InvalidInputError(`messages[${i}].role`, `must be system, user or assistant (got ${JSON.stringify(turn.role.slice(0, 40))})`);
    }
    if (turn.content.trim() === "") throw new InvalidInputError(`messages[${i}].content`, "must not be empty");
    const max = turn.role === "assistant" ? limits.maxResponseBytes : limits.maxPromptBytes;
    const bytes = Buffer.byteLength(turn.content);
    if (bytes > max) throw new InvalidInputError(`messages[${i}].content`, `is ${bytes} bytes, above the limit of ${max} bytes`);
    return { role: turn.role as LlmMessage["role"], content: turn.content };
  });
  const last = turns[turns.length - 1] as LlmMessage;
  if (last.role !== "user") {
    throw new InvalidInputError(`messages[${turns.length - 1}].role`, `the last turn must be the user's (got ${JSON.stringify(last.role)})`);
  }
  const earlier = turns.slice(0, -1);
  return { prompt: last.content, messages: turns, conversationKey: earlier.length === 0 ? undefined : conversationKey(earlier) };
}
