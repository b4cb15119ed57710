/**
 * A Chat Completions request (POST /v1/chat/completions), validated the way
 * OpenAI validates it: every documented field is checked for type and range
 * (a wrong one is a 400 naming it), `null` counts as absent, and fields the
 * API does not document are tolerated and listed, so the cacheability check
 * can send such a request on to the upstream, which knows what they mean.
 */
import type { LlmSamplingParams } from "../llm/index.js";
import { readMessages, type ChatMessage } from "./chat-messages.js";
import {
  invalidField,
  isJsonObject,
  optionalArray,
  optionalBoolean,
  optionalEnum,
  optionalNumber,
  optionalObject,
  optionalString,
  optionalStringOrObject,
  type JsonObject,
  type NumberRule,
} from "./field-readers.js";

/** A sampling param that changes the answer and that the Ask path sends to the LLM. */
export type SamplingParam = keyof LlmSamplingParams;

/**
 * The sampling params a cached request may carry, with OpenAI's ranges (the
 * same the LLM client forwards: src/llm/params.ts). Each becomes a scope
 * param of the same name, so a request with `temperature: 0.2` shares
 * entries with an Ask whose scope.params has `temperature: "0.2"`.
 */
export const SAMPLING_PARAMS: Readonly<Record<SamplingParam, NumberRule>> = {
  temperature: { min: 0, max: 2 },
  top_p: { min: 0, max: 1 },
  max_tokens: { min: 1, integer: true },
  max_completion_tokens: { min: 1, integer: true },
  seed: { integer: true },
  presence_penalty: { min: -2, max: 2 },
  frequency_penalty: { min: -2, max: 2 },
};

/**
 * Every other top-level field OpenAI documents, with how its type is checked.
 * The cacheability rules (bypass.ts) decide what each one means for caching.
 */
const OTHER_FIELDS: Readonly<Record<string, (body: JsonObject, field: string) => unknown>> = {
  model: optionalString,
  messages: () => undefined,
  stream: optionalBoolean,
  stream_options: optionalObject,
  n: (body, field) => optionalNumber(body, field, { min: 1, max: 128, integer: true }),
  logprobs: optionalBoolean,
  top_logprobs: (body, field) => optionalNumber(body, field, { min: 0, max: 20, integer: true }),
  stop: readStop,
  logit_bias: readLogitBias,
  response_format: readResponseFormat,
  modalities: optionalArray,
  audio: optionalObject,
  tools: optionalArray,
  tool_choice: optionalStringOrObject,
  parallel_tool_calls: optionalBoolean,
  functions: optionalArray,
  function_call: optionalStringOrObject,
  prediction: optionalObject,
  web_search_options: optionalObject,
  reasoning_effort: optionalString,
  verbosity: optionalString,
  store: optionalBoolean,
  metadata: optionalObject,
  service_tier: optionalString,
  user: optionalString,
  safety_identifier: optionalString,
  prompt_cache_key: optionalString,
};

/** A validated Chat Completions request. */
export interface ChatRequest {
  /** The body as sent: what a pass-through forwards. */
  readonly body: JsonObject;
  readonly model: string;
  readonly messages: readonly ChatMessage[];
  /** Answer as server-sent events. */
  readonly stream: boolean;
  /** `stream_options.include_usage`: end the stream with a usage chunk. */
  readonly includeUsage: boolean;
  /** The sampling params that were set. */
  readonly sampling: Readonly<Partial<Record<SamplingParam, number>>>;
  /** Top-level documented fields set to something other than null. */
  readonly present: ReadonlySet<string>;
  /** Top-level fields OpenAI does not document (vendor extensions such as top_k), in the order sent. */
  readonly unknownFields: readonly string[];
}

function readStop(body: JsonObject, field: string): unknown {
  const value = body[field];
  if (value === undefined || value === null || typeof value === "string") return value;
  if (!Array.isArray(value)) throw invalidField(field, "must be a string or an array of strings");
  if (value.length > 4) throw invalidField(field, `has ${value.length} sequences, above the limit of 4`);
  value.forEach((entry, i) => {
    if (typeof entry !== "string") throw invalidField(`${field}[${i}]`, "must be a string");
  });
  return value;
}

function readLogitBias(body: JsonObject, field: string): unknown {
  const bias = optionalObject(body, field);
  for (const token of Object.keys(bias ?? {})) optionalNumber(bias ?? {}, token, { min: -100, max: 100 }, `${field}.${token}`);
  return bias;
}

function readResponseFormat(body: JsonObject, field: string): unknown {
  const format = optionalObject(body, field);
  if (format !== undefined) optionalEnum(format, "type", ["text", "json_object", "json_schema"], `${field}.type`);
  return format;
}

function readIncludeUsage(body: JsonObject): boolean {
  const options = optionalObject(body, "stream_options");
  return options === undefined ? false : (optionalBoolean(options, "include_usage", "stream_options.include_usage") ?? false);
}

/** Validates a parsed JSON body as a Chat Completions request; throws an INVALID_ARGUMENT SemcacheError naming the field. */
export function parseChatRequest(body: unknown): ChatRequest {
  if (!isJsonObject(body)) throw invalidField("body", "must be a JSON object");
  const model = optionalString(body, "model");
  if (model === undefined || model.trim() === "") throw invalidField("model", "is required (a model name such as \"gpt-4o-mini\")");
  const messages = readMessages(body);

  const sampling: Partial<Record<SamplingParam, number>> = {};
  for (const [name, rule] of Object.entries(SAMPLING_PARAMS) as [SamplingParam, NumberRule][]) {
    const value = optionalNumber(body, name, rule);
    if (value !== undefined) sampling[name] = value;
  }
  for (const [name, read] of Object.entries(OTHER_FIELDS)) read(body, name);

  const present = new Set<string>();
  const unknownFields: string[] = [];
  for (const [name, value] of Object.entries(body)) {
    if (value === null || value === undefined) continue;
    if (Object.hasOwn(SAMPLING_PARAMS, name) || Object.hasOwn(OTHER_FIELDS, name)) present.add(name);
    else unknownFields.push(name);
  }
  return {
    body,
    model,
    messages,
    stream: optionalBoolean(body, "stream") ?? false,
    includeUsage: readIncludeUsage(body),
    sampling,
    present,
    unknownFields,
  };
}
