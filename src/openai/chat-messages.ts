/**
 * The `messages` of a Chat Completions request: validated for shape (what
 * OpenAI itself would refuse is a 400 here too), and kept as sent, so the
 * cacheability check can see everything a turn carries.
 */
import { MAX_MESSAGES } from "../ask/conversation.js";
import { invalidField, isJsonObject, type JsonObject } from "./field-readers.js";

/** The roles OpenAI's Chat Completions API accepts. */
export const CHAT_ROLES = ["developer", "system", "user", "assistant", "tool", "function"] as const;

/** A message's role. */
export type ChatRole = (typeof CHAT_ROLES)[number];

/** One part of an array `content`: `{type: "text", text}`, `{type: "image_url", ...}`, ... */
export interface ContentPart {
  readonly type: string;
  /** Set for text parts. */
  readonly text: string | undefined;
}

/** One validated message. */
export interface ChatMessage {
  readonly role: ChatRole;
  /** A string, content parts, or null (an assistant turn that only calls tools). */
  readonly content: string | readonly ContentPart[] | null;
  /** Fields the message sets besides `role` and `content` (name, tool_calls, ...), in the order sent. */
  readonly extras: readonly string[];
}

function readPart(value: unknown, path: string): ContentPart {
  if (!isJsonObject(value)) throw invalidField(path, "must be an object with a type");
  const { type, text } = value;
  if (typeof type !== "string" || type === "") throw invalidField(`${path}.type`, "must be a non-empty string");
  if (type === "text" && typeof text !== "string") throw invalidField(`${path}.text`, "must be a string");
  return { type, text: typeof text === "string" ? text : undefined };
}

function readContent(message: JsonObject, role: ChatRole, path: string): ChatMessage["content"] {
  const content = message.content;
  if (typeof content === "string") return content;
  if (Array.isArray(content)) {
    if (content.length === 0) throw invalidField(`${path}.content`, "must not be an empty array");
    return content.map((part, i) => readPart(part, `${path}.content[${i}]`));
  }
  // Only turns that may stand for a tool call (or its missing result) may leave content out.
  if ((content === undefined || content === null) && (role === "assistant" || role === "function")) return null;
  throw invalidField(`${path}.content`, role === "assistant" ? "must be a string, an array of content parts or null" : "must be a string or an array of content parts");
}

function readMessage(value: unknown, path: string): ChatMessage {
  if (!isJsonObject(value)) throw invalidField(path, "must be an object with a role and content");
  const role = value.role;
  if (typeof role !== "string" || !(CHAT_ROLES as readonly string[]).includes(role)) {
    throw invalidField(`${path}.role`, `must be one of ${CHAT_ROLES.join(", ")} (got ${JSON.stringify(typeof role === "string" ? role.slice(0, 40) : role ?? null)})`);
  }
  const chatRole = role as ChatRole;
  const content = readContent(value, chatRole, path);
  const extras = Object.keys(value).filter((key) => key !== "role" && key !== "content" && value[key] !== null && value[key] !== undefined);
  return { role: chatRole, content, extras };
}

/** Validates `body.messages`: a non-empty array of messages with known roles and well-formed content. */
export function readMessages(body: JsonObject): readonly ChatMessage[] {
  const messages = body.messages;
  if (messages === undefined || messages === null) throw invalidField("messages", "is required");
  if (!Array.isArray(messages)) throw invalidField("messages", "must be an array");
  if (messages.length === 0) throw invalidField("messages", "must contain at least one message");
  if (messages.length > MAX_MESSAGES) throw invalidField("messages", `has ${messages.length} messages, above the limit of ${MAX_MESSAGES}`);
  return messages.map((message, i) => readMessage(message, `messages[${i}]`));
}
