/**
 * A real HTTP server speaking enough of the OpenAI chat-completions API for
 * the `openai` package, for tests and load tests of anything that calls an
 * LLM. It listens on 127.0.0.1 on a free port, answers deterministically and
 * records every chat request; each test can make it slow, failing, hanging
 * or rude (see `Behaviour`).
 *
 *   const llm = await startOpenAiServer();
 *   // SEMCACHE_LLM_BASE_URL=llm.url
 *   llm.setBehaviour({ error: { status: 503 }, failFirst: 1 });
 *   ...
 *   expect(llm.counts().total).toBe(2);
 *   await llm.close();
 *
 * Endpoints: POST /v1/chat/completions (JSON, or SSE with `stream: true`)
 * and GET /v1/models. The default answer to a chat request is
 * "ANSWER: <content of the last user message>".
 */
import { EventEmitter } from "node:events";
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

/** The part of a chat-completions request body the server looks at; the rest is kept as sent. */
export interface ChatRequestBody {
  readonly model?: string;
  readonly messages?: readonly { readonly role?: string; readonly content?: unknown }[];
  readonly stream?: boolean;
  readonly stream_options?: { readonly include_usage?: boolean } | null;
  readonly [param: string]: unknown;
}

/** An HTTP error answer, with an OpenAI-style `{"error": {...}}` body. */
export interface UpstreamError {
  readonly status: number;
  /** `error.message`; a typical text for the status when unset. */
  readonly message?: string;
  /** `error.type`; a typical type for the status when unset. */
  readonly type?: string;
  /** `error.code`, such as "model_not_found". */
  readonly code?: string | null;
  /** `retry-after` header (seconds, or an HTTP date). */
  readonly retryAfter?: string;
  /** `retry-after-ms` header (OpenAI's). */
  readonly retryAfterMs?: string;
  /** Any other headers. */
  readonly headers?: Readonly<Record<string, string>>;
}

/**
 * When a hang or disconnect happens: before the status line, or after the
 * first content chunk of a stream ("mid-stream" does nothing to a
 * non-streaming request, which then succeeds).
 */
export type Stage = "before-headers" | "mid-stream";

/**
 * How the server treats chat requests. Everything is optional; `{}` is a
 * prompt, correct answer. The failure modes (`error`, `hang`, `disconnect`,
 * `streamError`) apply to every request, or only to the first `failFirst`
 * requests after `setBehaviour`.
 */
export interface Behaviour {
  /** The answer text, or a function of the request; default "ANSWER: <last user message>". */
  readonly answer?: string | ((body: ChatRequestBody) => string);
  /** Finish reason of the answer; default "stop". */
  readonly finishReason?: string;
  /** Wait before sending the status line (applies to every request, failing or not). */
  readonly delayMs?: number;
  /** Wait between stream chunks. */
  readonly chunkDelayMs?: number;
  /** Answer with this HTTP error instead. */
  readonly error?: UpstreamError;
  /** Never answer (before headers), or stop sending after the first content chunk; the client must give up. */
  readonly hang?: Stage;
  /** Destroy the socket (before headers, or after the first content chunk). */
  readonly disconnect?: Stage;
  /** In a stream, after the first content chunk send `data: {"error": ...}` and end the stream. */
  readonly streamError?: { readonly message: string; readonly type?: string; readonly code?: string | number | null };
  /** Apply the failure modes to the first N requests after `setBehaviour` only; later ones succeed. */
  readonly failFirst?: number;
  /** Never report token usage, as some servers do not. */
  readonly omitUsage?: boolean;
}

/** What happened to a request's connection. */
export type Outcome = "pending" | "completed" | "client-closed" | "server-closed";

/** One chat-completions request as received. */
export interface RecordedRequest {
  /** 0-based arrival order since start or `reset`. */
  readonly index: number;
  readonly headers: IncomingHttpHeaders;
  /** Parsed JSON body; undefined when it was not JSON. */
  readonly body: ChatRequestBody | undefined;
  /** `body.model`, "" when absent. */
  readonly model: string;
  readonly stream: boolean;
  /** Status sent; undefined while none was. */
  status: number | undefined;
  /** "client-closed": the client went away before the answer was complete (an abort or a timeout). */
  outcome: Outcome;
}

/** Counters over the recorded chat requests. */
export interface RequestCounts {
  readonly total: number;
  readonly byModel: Readonly<Record<string, number>>;
  /** Requests whose answer completed. */
  readonly completed: number;
  /** Requests the client closed before their answer was complete. */
  readonly closedEarly: number;
  /** Requests whose connection the server destroyed on purpose (`disconnect`). */
  readonly serverClosed: number;
}

/** Options of `startOpenAiServer`. */
export interface OpenAiServerOptions {
  /** Models served; a request for another gets 404 model_not_found. Unset: any model is served. */
  readonly models?: readonly string[];
  /** When set, requests without `Authorization: Bearer <apiKey>` get 401. */
  readonly apiKey?: string;
}

/** A running fake OpenAI-compatible server. */
export interface OpenAiTestServer {
  /** Base URL including `/v1`, e.g. http://127.0.0.1:41234/v1 (what SEMCACHE_LLM_BASE_URL takes). */
  readonly url: string;
  /** Chat-completions requests in arrival order (GET /v1/models is not recorded). */
  readonly requests: readonly RecordedRequest[];
  /** Counts over `requests`. */
  counts(): RequestCounts;
  /** Replaces the behaviour, and restarts the `failFirst` count. A function is asked per request. */
  setBehaviour(behaviour: Behaviour | ((request: RecordedRequest) => Behaviour)): void;
  /** Back to the default behaviour, and forgets the recorded requests. */
  reset(): void;
  /** Resolves once `predicate` holds (checked on every request event); rejects after `timeoutMs` (default 5000). */
  waitFor(predicate: (server: OpenAiTestServer) => boolean, timeoutMs?: number): Promise<void>;
  /** Stops listening and destroys every open connection, including hanging ones. */
  close(): Promise<void>;
}

const DEFAULT_ERRORS: Record<number, { message: string; type: string; code: string | null }> = {
  400: { message: "Invalid request.", type: "invalid_request_error", code: null },
  401: { message: "Incorrect API key provided.", type: "invalid_request_error", code: "invalid_api_key" },
  404: { message: "The model does not exist or you do not have access to it.", type: "invalid_request_error", code: "model_not_found" },
  429: { message: "Rate limit reached. Please try again later.", type: "requests", code: "rate_limit_exceeded" },
  500: { message: "The server had an error while processing your request.", type: "server_error", code: null },
  503: { message: "The engine is currently overloaded, please try again later.", type: "server_error", code: null },
};

/** The default answer: "ANSWER: " and the last user message. */
export function defaultAnswer(body: ChatRequestBody): string {
  const user = [...(body.messages ?? [])].reverse().find((message) => message.role === "user");
  return `ANSWER: ${typeof user?.content === "string" ? user.content : ""}`;
}

// Deterministic stand-ins for token counts: words in, chunks out.
function countWords(text: string): number {
  return text.split(/\s+/).filter((word) => word !== "").length;
}

/** Splits an answer into stream deltas: one word with its trailing space each. */
export function splitIntoDeltas(answer: string): string[] {
  return answer.match(/\S+\s*|\s+/g) ?? [];
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    req.on("data", (part: Buffer) => parts.push(part));
    req.on("end", () => resolve(Buffer.concat(parts).toString("utf8")));
    req.on("error", reject);
  });
}

function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  if (res.destroyed) return;
  res.writeHead(status, { "content-type": "application/json", ...headers });
  res.end(JSON.stringify(body));
}

function errorBody(error: UpstreamError): unknown {
  const fallback = DEFAULT_ERRORS[error.status] ?? { message: `Error ${error.status}.`, type: "server_error", code: null };
  return {
    error: {
      message: error.message ?? fallback.message,
      type: error.type ?? fallback.type,
      param: null,
      code: error.code === undefined ? fallback.code : error.code,
    },
  };
}

/** Starts a server on 127.0.0.1 with a free port. */
export async function startOpenAiServer(options: OpenAiServerOptions = {}): Promise<OpenAiTestServer> {
  const events = new EventEmitter();
  events.setMaxListeners(0);
  let requests: RecordedRequest[] = [];
  // Kept incrementally so that waitFor predicates stay cheap under load tests.
  const freshTally = () => ({ total: 0, byModel: new Map<string, number>(), outcomes: new Map<Outcome, number>() });
  let tally = freshTally();
  let behaviourOf: (request: RecordedRequest) => Behaviour = () => ({});
  // Requests seen since setBehaviour, for failFirst.
  let sinceBehaviour = 0;
  let closed = false;
  const changed = () => events.emit("change");

  const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

  async function handleChat(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const raw = await readBody(req);
    let body: ChatRequestBody | undefined;
    try {
      const parsed: unknown = JSON.parse(raw);
      if (typeof parsed === "object" && parsed !== null && !Array.isArray(parsed)) body = parsed as ChatRequestBody;
    } catch {
      body = undefined;
    }
    const record: RecordedRequest = {
      index: requests.length,
      headers: req.headers,
      body,
      model: typeof body?.model === "string" ? body.model : "",
      stream: body?.stream === true,
      status: undefined,
      outcome: "pending",
    };
    requests.push(record);
    const counted = tally;
    counted.total++;
    counted.byModel.set(record.model, (counted.byModel.get(record.model) ?? 0) + 1);
    // After a reset the record is no longer listed, and its outcome no longer counted.
    const settle = (outcome: Outcome) => {
      if (record.outcome !== "pending") return;
      record.outcome = outcome;
      counted.outcomes.set(outcome, (counted.outcomes.get(outcome) ?? 0) + 1);
      changed();
    };
    res.on("close", () => settle(res.writableFinished ? "completed" : "client-closed"));
    const position = sinceBehaviour++;
    changed();

    const json = (status: number, payload: unknown, headers?: Record<string, string>) => {
      record.status = status;
      sendJson(res, status, payload, headers);
    };

    if (body === undefined || !Array.isArray(body.messages) || typeof body.model !== "string") {
      return json(400, errorBody({ status: 400, message: "Expected a JSON body with `model` and `messages`." }));
    }
    if (options.apiKey !== undefined && req.headers.authorization !== `Bearer ${options.apiKey}`) {
      return json(401, errorBody({ status: 401 }));
    }
    if (options.models !== undefined && !options.models.includes(body.model)) {
      return json(
        404,
        errorBody({ status: 404, message: `The model \`${body.model}\` does not exist or you do not have access to it.` }),
      );
    }

    const behaviour = behaviourOf(record);
    const failing = behaviour.failFirst === undefined || position < behaviour.failFirst;
    const gone = () => closed || res.destroyed || record.outcome !== "pending";
    const destroy = () => {
      settle("server-closed");
      res.socket?.destroy();
    };

    if (behaviour.delayMs) await sleep(behaviour.delayMs);
    if (gone()) return;
    if (failing && behaviour.hang === "before-headers") return;
    if (failing && behaviour.disconnect === "before-headers") return destroy();
    if (failing && behaviour.error !== undefined) {
      const { error } = behaviour;
      const headers: Record<string, string> = { ...error.headers };
      if (error.retryAfter !== undefined) headers["retry-after"] = error.retryAfter;
      if (error.retryAfterMs !== undefined) headers["retry-after-ms"] = error.retryAfterMs;
      return json(error.status, errorBody(error), headers);
    }

    const answer =
      typeof behaviour.answer === "function" ? behaviour.answer(body) : (behaviour.answer ?? defaultAnswer(body));
    const finishReason = behaviour.finishReason ?? "stop";
    const deltas = splitIntoDeltas(answer);
    const promptTokens = body.messages.reduce((sum, m) => sum + (typeof m.content === "string" ? countWords(m.content) : 0), 0);
    const usage = { prompt_tokens: promptTokens, completion_tokens: deltas.length, total_tokens: promptTokens + deltas.length };
    const id = `chatcmpl-test-${record.index}`;
    const created = 1_700_000_000;

    if (!record.stream) {
      return json(200, {
        id,
        object: "chat.completion",
        created,
        model: body.model,
        choices: [{ index: 0, message: { role: "assistant", content: answer, refusal: null }, logprobs: null, finish_reason: finishReason }],
        ...(behaviour.omitUsage ? {} : { usage }),
      });
    }

    record.status = 200;
    res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache", connection: "keep-alive" });
    // Resolves once the data is handed to the kernel, so a following destroy cannot discard it.
    const send = (data: unknown) =>
      new Promise<void>((resolve) => {
        res.write(`data: ${typeof data === "string" ? data : JSON.stringify(data)}\n\n`, () => resolve());
      });
    const chunk = (delta: Record<string, unknown>, finish: string | null) => ({
      id,
      object: "chat.completion.chunk",
      created,
      model: body.model,
      choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }],
    });
    await send(chunk({ role: "assistant", content: "" }, null));
    for (const [i, text] of deltas.entries()) {
      if (behaviour.chunkDelayMs) await sleep(behaviour.chunkDelayMs);
      if (gone()) return;
      await send(chunk({ content: text }, null));
      if (i === 0 && failing) {
        if (behaviour.hang === "mid-stream") return;
        if (behaviour.disconnect === "mid-stream") return destroy();
        if (behaviour.streamError !== undefined) {
          await send({ error: { type: "server_error", param: null, code: null, ...behaviour.streamError } });
          res.end();
          return;
        }
      }
    }
    if (behaviour.chunkDelayMs) await sleep(behaviour.chunkDelayMs);
    if (gone()) return;
    await send(chunk({}, finishReason));
    if (body.stream_options?.include_usage && !behaviour.omitUsage) {
      await send({ id, object: "chat.completion.chunk", created, model: body.model, choices: [], usage });
    }
    await send("[DONE]");
    res.end();
  }

  const server = createServer((req, res) => {
    const path = new URL(req.url ?? "/", "http://localhost").pathname;
    if (req.method === "POST" && path === "/v1/chat/completions") {
      handleChat(req, res).catch((error: unknown) => {
        if (!res.headersSent) sendJson(res, 500, errorBody({ status: 500, message: String(error) }));
        else res.destroy();
      });
    } else if (req.method === "GET" && path === "/v1/models") {
      const ids = options.models ?? ["test-model"];
      sendJson(res, 200, { object: "list", data: ids.map((id) => ({ id, object: "model", created: 0, owned_by: "semcache-test" })) });
    } else {
      sendJson(res, 404, errorBody({ status: 404, message: `Unknown request URL: ${req.method} ${path}`, code: "unknown_url" }));
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  const { port } = server.address() as AddressInfo;

  const api: OpenAiTestServer = {
    url: `http://127.0.0.1:${port}/v1`,
    get requests() {
      return requests;
    },
    counts() {
      const count = (outcome: Outcome) => tally.outcomes.get(outcome) ?? 0;
      return {
        total: tally.total,
        byModel: Object.fromEntries(tally.byModel),
        completed: count("completed"),
        closedEarly: count("client-closed"),
        serverClosed: count("server-closed"),
      };
    },
    setBehaviour(behaviour) {
      behaviourOf = typeof behaviour === "function" ? behaviour : () => behaviour;
      sinceBehaviour = 0;
    },
    reset() {
      behaviourOf = () => ({});
      sinceBehaviour = 0;
      requests = [];
      tally = freshTally();
      changed();
    },
    waitFor(predicate, timeoutMs = 5_000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          if (!predicate(api)) return;
          cleanup();
          resolve();
        };
        const timer = setTimeout(() => {
          cleanup();
          reject(new Error(`openai test server: condition not met within ${timeoutMs} ms (counts: ${JSON.stringify(api.counts())})`));
        }, timeoutMs);
        const cleanup = () => {
          clearTimeout(timer);
          events.off("change", check);
        };
        events.on("change", check);
        check();
      });
    },
    async close() {
      if (closed) return;
      closed = true;
      const stopped = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await stopped;
    },
  };
  return api;
}
