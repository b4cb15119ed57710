/**
 * What an RPC's request and response messages say that is worth a log field
 * or a metric label: scope, prompt, outcome of the match, ...
 */
import { isMessage } from "@bufbuild/protobuf";
import { DEFAULT_NAMESPACE, NAMESPACE_PATTERN } from "../cache/scope.js";
import {
  AskRequestSchema,
  AskResponseSchema,
  AskStreamRequestSchema,
  AskStreamResponseSchema,
  FeedbackRequestSchema,
  FlushRequestSchema,
  FlushResponseSchema,
  ListEntriesRequestSchema,
  ListEntriesResponseSchema,
  LookupRequestSchema,
  LookupResponseSchema,
  MatchKind,
  Source,
  StatsRequestSchema,
  StoreRequestSchema,
  StoreResponseSchema,
  type ChatMessage,
  type Scope,
} from "../gen/semcache/v1/semantic_cache_pb.js";

/** Facts about one RPC; every one optional. */
export interface RpcFacts {
  /** The namespace the call is about, as sent ("default" for an empty one). */
  namespace?: string;
  model?: string;
  /** Flush of every namespace. */
  all?: boolean;
  prompt?: string;
  /** Turns of a conversation (Ask with messages). */
  messages?: number;
  /** The answer served or stored. */
  response?: string;
  /** The stored prompt that answered, on a hit. */
  matchedPrompt?: string;
  hit?: boolean;
  kind?: "exact" | "semantic";
  similarity?: number;
  threshold?: number;
  source?: "cache" | "llm" | "coalesced";
  entryId?: string;
  replaced?: boolean;
  deleted?: number;
  entries?: number;
  cacheUnavailable?: boolean;
  finishReason?: string;
}

/** The namespace a metric may carry: a valid one, or "" (none, or not a valid namespace). */
export function metricNamespace(facts: RpcFacts): string {
  const namespace = facts.namespace;
  return namespace !== undefined && NAMESPACE_PATTERN.test(namespace) ? namespace : "";
}

function scopeFacts(scope: Scope | undefined, into: RpcFacts): void {
  into.namespace = scope?.namespace || DEFAULT_NAMESPACE;
  into.model = scope?.model ?? "";
}

function lastUserTurn(messages: readonly ChatMessage[]): string | undefined {
  for (let i = messages.length - 1; i >= 0; i--) if (messages[i]!.role === "user") return messages[i]!.content;
  return undefined;
}

function sourceName(source: Source): RpcFacts["source"] {
  switch (source) {
    case Source.CACHE:
      return "cache";
    case Source.LLM:
      return "llm";
    case Source.COALESCED:
      return "coalesced";
    default:
      return undefined;
  }
}

/** Reads a request message into `into`. */
export function requestFacts(message: unknown, into: RpcFacts): void {
  if (isMessage(message, LookupRequestSchema) || isMessage(message, FeedbackRequestSchema)) {
    scopeFacts(message.scope, into);
    into.prompt = message.prompt;
  } else if (isMessage(message, StoreRequestSchema)) {
    scopeFacts(message.scope, into);
    into.prompt = message.prompt;
    into.response = message.response;
  } else if (isMessage(message, AskRequestSchema) || isMessage(message, AskStreamRequestSchema)) {
    scopeFacts(message.scope, into);
    if (message.messages.length > 0) {
      into.messages = message.messages.length;
      const user = lastUserTurn(message.messages);
      if (user !== undefined) into.prompt = user;
    } else {
      into.prompt = message.prompt;
    }
  } else if (isMessage(message, StatsRequestSchema)) {
    if (message.namespace !== undefined) into.namespace = message.namespace || DEFAULT_NAMESPACE;
  } else if (isMessage(message, FlushRequestSchema)) {
    if (message.all) into.all = true;
    if (message.namespace !== "") into.namespace = message.namespace;
  } else if (isMessage(message, ListEntriesRequestSchema)) {
    into.namespace = message.namespace || DEFAULT_NAMESPACE;
  }
}

/** Reads a response message (or one message of a response stream) into `into`. */
export function responseFacts(message: unknown, into: RpcFacts): void {
  if (isMessage(message, LookupResponseSchema)) {
    into.hit = message.hit;
    into.similarity = message.similarity;
    into.threshold = message.threshold;
    if (message.hit) {
      into.kind = message.kind === MatchKind.EXACT ? "exact" : "semantic";
      if (message.entry !== undefined) {
        into.entryId = message.entry.id;
        into.response = message.entry.response;
        into.matchedPrompt = message.entry.prompt;
      }
    }
  } else if (isMessage(message, StoreResponseSchema)) {
    into.entryId = message.id;
    into.replaced = message.replaced;
  } else if (isMessage(message, AskResponseSchema)) {
    into.source = sourceName(message.source);
    into.hit = message.source === Source.CACHE;
    into.similarity = message.similarity;
    into.response = message.response;
    if (message.entryId !== "") into.entryId = message.entryId;
    if (message.matchedPrompt !== "") into.matchedPrompt = message.matchedPrompt;
    if (message.cacheUnavailable) into.cacheUnavailable = true;
    if (message.finishReason !== "") into.finishReason = message.finishReason;
  } else if (isMessage(message, AskStreamResponseSchema)) {
    const event = message.event;
    if (event.case === "start") {
      into.source = sourceName(event.value.source);
      into.hit = event.value.source === Source.CACHE;
      into.similarity = event.value.similarity;
      if (event.value.matchedPrompt !== "") into.matchedPrompt = event.value.matchedPrompt;
      if (event.value.cacheUnavailable) into.cacheUnavailable = true;
    } else if (event.case === "delta") {
      into.response = (into.response ?? "") + event.value;
    } else if (event.case === "end") {
      if (event.value.entryId !== "") into.entryId = event.value.entryId;
      if (event.value.finishReason !== "") into.finishReason = event.value.finishReason;
      if (event.value.cacheUnavailable) into.cacheUnavailable = true;
    }
  } else if (isMessage(message, FlushResponseSchema)) {
    into.deleted = Number(message.deleted);
  } else if (isMessage(message, ListEntriesResponseSchema)) {
    into.entries = message.entries.length;
  }
}
