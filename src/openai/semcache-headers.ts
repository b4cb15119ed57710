/**
 * semcache's per-request controls on the OpenAI endpoint, as HTTP headers
 * (an OpenAI SDK can send extra headers, not extra fields it does not know),
 * and the headers every answer carries. A bad value is a 400 whose `param`
 * is the header's name.
 */
import type { IncomingHttpHeaders } from "node:http";
import { checkThreshold } from "../cache/threshold.js";
import { NAMESPACE_PATTERN } from "../cache/scope.js";
import { invalidField } from "./field-readers.js";

/** The request headers semcache reads. */
export const REQUEST_HEADERS = {
  /** The namespace to cache in (without API keys; with keys, the key's default when unset). */
  namespace: "x-semcache-namespace",
  /** `true`: do not look the prompt up (the answer is still stored unless no-store). */
  noCache: "x-semcache-no-cache",
  /** `true`: do not store the answer. */
  noStore: "x-semcache-no-store",
  /** The similarity a semantic match needs, in (0, 1]. */
  minSimilarity: "x-semcache-min-similarity",
  /** How long a stored answer lives, in whole seconds; 0: forever. */
  ttlSeconds: "x-semcache-ttl-seconds",
  /** The error budget: the share of false hits the caller accepts, in [0, 1]. */
  maxErrorRate: "x-semcache-max-error-rate",
} as const;

/** The response headers semcache sets. */
export const RESPONSE_HEADERS = {
  /** Where the answer came from: cache, llm, coalesced (an identical call in flight) or bypass. */
  source: "x-semcache-source",
  /** Similarity of the prompt to the one answered (1 for an exact match); absent for llm and bypass. */
  similarity: "x-semcache-similarity",
  /** The cache entry the answer is (or was stored as); absent when nothing is stored. */
  entryId: "x-semcache-entry-id",
  /** Completion tokens this request did not spend (the cached or shared answer's). */
  tokensSaved: "x-semcache-tokens-saved",
  /** `true` when the cache failed and the answer came without it (fail-open). */
  cacheUnavailable: "x-semcache-cache-unavailable",
  /** Why a request was passed through (bypass only). */
  bypassReason: "x-semcache-bypass-reason",
  /** Under an error budget: the cached candidate this request's LLM answer was judged against (an exploration). */
  exploredEntryId: "x-semcache-explored-entry-id",
} as const;

/** Every semcache response header, for CORS `access-control-expose-headers`. */
export const EXPOSED_RESPONSE_HEADERS: readonly string[] = Object.values(RESPONSE_HEADERS);

/** The values of `x-semcache-source`. */
export type AnswerSource = "cache" | "llm" | "coalesced" | "bypass";

/** What the semcache response headers report about an answer. */
export interface AnswerFacts {
  readonly source: Exclude<AnswerSource, "bypass">;
  /** Similarity to the prompt answered; undefined for the caller's own LLM call. */
  readonly similarity: number | undefined;
  /** The entry the answer is or was stored as; "" when none (not stored, or not known yet). */
  readonly entryId: string;
  /** Completion tokens this request did not spend. */
  readonly tokensSaved: number;
  /** The cache failed and the answer came without it (fail-open). */
  readonly cacheUnavailable: boolean;
  /** The candidate this request's own LLM answer was judged against (an exploration); "" when none. */
  readonly exploredEntryId: string;
}

/** The per-request controls, validated. */
export interface SemcacheControls {
  /** Undefined when the header is absent or empty. */
  readonly namespace: string | undefined;
  readonly noCache: boolean;
  readonly noStore: boolean;
  readonly minSimilarity: number | undefined;
  readonly ttlSeconds: number | undefined;
  readonly maxErrorRate: number | undefined;
}

function single(headers: IncomingHttpHeaders, name: string): string | undefined {
  const value = headers[name];
  if (Array.isArray(value)) throw invalidField(name, "must be sent once");
  const trimmed = value?.trim();
  return trimmed === undefined || trimmed === "" ? undefined : trimmed;
}

function flag(headers: IncomingHttpHeaders, name: string): boolean {
  const value = single(headers, name)?.toLowerCase();
  if (value === undefined || value === "false" || value === "0") return false;
  if (value === "true" || value === "1") return true;
  throw invalidField(name, `must be true or false (got ${JSON.stringify(value.slice(0, 40))})`);
}

function decimal(headers: IncomingHttpHeaders, name: string): number | undefined {
  const value = single(headers, name);
  if (value === undefined) return undefined;
  // Number() would also take "0x10", "1e3" and "Infinity"; a header is plain decimal.
  if (!/^[0-9]*\.?[0-9]+$/u.test(value)) throw invalidField(name, `must be a decimal number (got ${JSON.stringify(value.slice(0, 40))})`);
  return Number(value);
}

/** Reads and validates the `x-semcache-*` request headers. */
export function readControls(headers: IncomingHttpHeaders): SemcacheControls {
  const namespace = single(headers, REQUEST_HEADERS.namespace);
  if (namespace !== undefined && !NAMESPACE_PATTERN.test(namespace)) {
    throw invalidField(REQUEST_HEADERS.namespace, `must be 1 to 128 characters from letters, digits and "_ - . : / @" (got ${JSON.stringify(namespace.slice(0, 40))})`);
  }
  const minSimilarity = decimal(headers, REQUEST_HEADERS.minSimilarity);
  if (minSimilarity !== undefined) {
    try {
      checkThreshold(REQUEST_HEADERS.minSimilarity, minSimilarity);
    } catch {
      throw invalidField(REQUEST_HEADERS.minSimilarity, `must be a number in (0, 1] (got ${minSimilarity})`);
    }
  }
  const ttlSeconds = decimal(headers, REQUEST_HEADERS.ttlSeconds);
  if (ttlSeconds !== undefined && !Number.isSafeInteger(ttlSeconds)) {
    throw invalidField(REQUEST_HEADERS.ttlSeconds, `must be a whole number of seconds, 0 or more (got ${ttlSeconds})`);
  }
  const maxErrorRate = decimal(headers, REQUEST_HEADERS.maxErrorRate);
  if (maxErrorRate !== undefined && !(maxErrorRate > 0 && maxErrorRate < 1)) {
    throw invalidField(REQUEST_HEADERS.maxErrorRate, `must be a number strictly between 0 and 1, such as 0.02 (got ${maxErrorRate})`);
  }
  return {
    namespace,
    noCache: flag(headers, REQUEST_HEADERS.noCache),
    noStore: flag(headers, REQUEST_HEADERS.noStore),
    minSimilarity,
    ttlSeconds,
    maxErrorRate,
  };
}

/** Header values must be visible ASCII: anything else a caller sent (field names in a bypass reason) is replaced. */
function headerSafe(text: string): string {
  return text.replace(/[^\x20-\x7e]/gu, "?").slice(0, 200);
}

/** The semcache headers of an answer from the Ask path. */
export function answerHeaders(facts: AnswerFacts): Record<string, string> {
  const headers: Record<string, string> = { [RESPONSE_HEADERS.source]: facts.source, [RESPONSE_HEADERS.tokensSaved]: String(facts.tokensSaved) };
  if (facts.similarity !== undefined) headers[RESPONSE_HEADERS.similarity] = String(Math.round(facts.similarity * 1e6) / 1e6);
  if (facts.entryId !== "") headers[RESPONSE_HEADERS.entryId] = facts.entryId;
  if (facts.cacheUnavailable) headers[RESPONSE_HEADERS.cacheUnavailable] = "true";
  if (facts.exploredEntryId !== "") headers[RESPONSE_HEADERS.exploredEntryId] = facts.exploredEntryId;
  return headers;
}

/** The semcache headers of a passed-through answer. */
export function bypassHeaders(reason: string): Record<string, string> {
  return { [RESPONSE_HEADERS.source]: "bypass", [RESPONSE_HEADERS.bypassReason]: headerSafe(reason) };
}
