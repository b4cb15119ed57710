/**
 * POST /v1/chat/completions: checks the caller, reads the semcache headers
 * and the body, then either answers through the Ask engine (whole, or as
 * server-sent events) or passes the request through to the upstream.
 */
import type { ServerResponse } from "node:http";
import type { SlotPool } from "../llm/index.js";
import type { AnyRequest, AnyResponse } from "../server/http/request-handler.js";
import { asSemcacheError } from "./as-semcache-error.js";
import type { OpenAiCallRecord } from "./call-record.js";
import { askStreaming, askWhole, type AskBridgeOptions } from "./ask-bridge.js";
import { toAskInput } from "./ask-input.js";
import { bypassReason } from "./bypass.js";
import { callerOf, type CallerAccess } from "./caller-namespace.js";
import { parseChatRequest, type ChatRequest } from "./chat-request.js";
import { completionBody, completionId, createdNow } from "./completion-body.js";
import { CompletionChunks, SSE_HEADERS, sseEvent } from "./completion-chunks.js";
import { openAiErrorResponse } from "./error-response.js";
import { readJsonBody, sendingEvents, type BodyLimits, writeError, writeHead, writeJson } from "./http-io.js";
import { answerHeaders, bypassHeaders, readControls, type AnswerSource, type SemcacheControls } from "./semcache-headers.js";
import type { Upstream } from "./upstream.js";

/** Whom a call answers: its namespace, and the tenant its queued work counts for (tenancy/tenant.ts). */
interface Caller {
  readonly namespace: string;
  readonly tenant: string;
}

/** What the endpoint is built from. */
export interface OpenAiRouteOptions extends AskBridgeOptions {
  readonly upstream: Upstream;
  /** The LLM call slots Ask's calls take (SEMCACHE_LLM_MAX_CONCURRENCY / _MAX_QUEUE): a pass-through takes one too. */
  readonly slots: SlotPool;
  /** The API keys in force and their rate limits; undefined when keys are off. */
  readonly access: CallerAccess | undefined;
  /** Size and nesting limits of a request body. */
  readonly body: BodyLimits;
  /** Logs an unexpected error (its text never reaches the caller). */
  readonly logError: (error: unknown) => void;
  /** Hears of every finished call. */
  readonly onCall?: (record: OpenAiCallRecord) => void;
}

/** An AbortSignal that fires when the client goes away before its answer is complete. */
export function clientGone(res: AnyResponse): AbortSignal {
  const controller = new AbortController();
  res.once("close", () => {
    if (!res.writableFinished) controller.abort();
  });
  return controller.signal;
}

/** Writes `chunk`, waiting for the client to take it when the buffer is full. */
function write(res: AnyResponse, chunk: string | Uint8Array, signal: AbortSignal): Promise<void> {
  if ((res as ServerResponse).write(chunk) || signal.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      res.off("drain", done);
      signal.removeEventListener("abort", done);
      resolve();
    };
    res.once("drain", done);
    signal.addEventListener("abort", done, { once: true });
  });
}

async function passThrough(options: OpenAiRouteOptions, request: ChatRequest, reason: string, res: AnyResponse, signal: AbortSignal, tenant: string): Promise<void> {
  // Held until the relay ends: a streamed answer occupies the upstream as long as it streams.
  const release = await options.slots.acquire(signal, tenant);
  try {
    const relayed = await options.upstream.chat(request.body, request.model, signal);
    writeHead(res, relayed.status, { ...relayed.headers, ...bypassHeaders(reason) });
    if (relayed.body !== null) {
      for await (const chunk of relayed.body) await write(res, chunk, signal);
    }
    res.end();
  } finally {
    release();
  }
}

async function answerWhole(options: OpenAiRouteOptions, request: ChatRequest, controls: SemcacheControls, caller: Caller, res: AnyResponse, signal: AbortSignal): Promise<AnswerSource> {
  const { answer, facts } = await askWhole(options, toAskInput(request, controls, caller.namespace, caller.tenant), signal);
  writeJson(res, 200, completionBody(answer), answerHeaders(facts));
  return facts.source;
}

async function answerStream(options: OpenAiRouteOptions, request: ChatRequest, controls: SemcacheControls, caller: Caller, res: AnyResponse, signal: AbortSignal): Promise<AnswerSource> {
  const chunks = new CompletionChunks(completionId(), createdNow(), request.includeUsage);
  const response = res as ServerResponse;
  const { reply, streamed } = await askStreaming(options, toAskInput(request, controls, caller.namespace, caller.tenant), signal, {
    started(facts) {
      writeHead(res, 200, { ...SSE_HEADERS, ...answerHeaders(facts) });
      // Flush the headers now: a client waits for them before it reads any token.
      response.write(chunks.opening(request.model));
    },
    delta(text) {
      response.write(chunks.delta(request.model, text));
    },
  });
  if (streamed) {
    res.end(chunks.ending(reply.answer));
    return reply.facts.source;
  }
  writeHead(res, 200, { ...SSE_HEADERS, ...answerHeaders(reply.facts) });
  for (const event of chunks.replay(reply.answer)) await write(res, event, signal);
  res.end();
  return reply.facts.source;
}

/** Serves one POST /v1/chat/completions; never throws. */
export async function handleChatCompletions(options: OpenAiRouteOptions, req: AnyRequest, res: AnyResponse): Promise<void> {
  const started = performance.now();
  const signal = clientGone(res);
  let bodyRead = false;
  let facts: Omit<OpenAiCallRecord, "method" | "code" | "ms"> = { stream: false };
  try {
    const controls = readControls(req.headers);
    const caller = callerOf(options.access, req, controls.namespace);
    facts = { ...facts, admitted: true, namespace: caller.namespace, ...(caller.principal === undefined ? {} : { keyId: caller.principal.keyId }) };
    // Shared queues (LLM slots, the embedder's batches) are fair between tenants: this call is its key's, else its namespace's, as an RPC is.
    const who: Caller = { namespace: caller.namespace, tenant: caller.principal?.keyId ?? caller.namespace };
    const request = parseChatRequest(await readJsonBody(req, options.body, signal));
    bodyRead = true;
    facts = { ...facts, model: request.model, stream: request.stream };
    const reason = bypassReason(request);
    let source: AnswerSource = "bypass";
    if (reason === undefined) source = await (request.stream ? answerStream : answerWhole)(options, request, controls, who, res, signal);
    else await passThrough(options, request, reason, res, signal, who.tenant);
    options.onCall?.({ method: "ChatCompletions", code: "ok", ms: performance.now() - started, ...facts, source });
  } catch (error) {
    const failure = asSemcacheError(error, options.logError);
    options.onCall?.({ method: "ChatCompletions", code: failure.code, error: failure.message, ms: performance.now() - started, ...facts });
    if (signal.aborted || res.writableEnded) return;
    if (!res.headersSent) {
      writeError(res, failure, !bodyRead);
    } else if (!sendingEvents(res)) {
      // Half a JSON body cannot be mended: cut the connection so the client sees the failure.
      res.destroy();
    } else {
      // Mid-stream, as OpenAI does: an error event, and no [DONE]. An OpenAI SDK raises it as an APIError.
      res.end(sseEvent(openAiErrorResponse(failure).body));
    }
  }
}
