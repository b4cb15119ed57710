import { ServerResponse } from "node:http";
import { constants as http2Constants } from "node:http2";
import type { JsonReadOptions, JsonWriteOptions } from "@bufbuild/protobuf";
import { Code, ConnectError, createConnectRouter, createContextValues, type ConnectRouter } from "@connectrpc/connect";
import {
  compressionBrotli,
  compressionGzip,
  universalRequestFromNodeRequest,
  universalResponseToNodeResponse,
  type connectNodeAdapter,
} from "@connectrpc/connect-node";
import type { UniversalHandlerFn } from "@connectrpc/connect/protocol";
import { BodyBudget } from "./body-budget.js";
import { withClearClientErrors } from "./connect-fixes/index.js";
import { corsAnswer, type CorsAdditions } from "./cors.js";
import type { Admit } from "./edge-options.js";
import { edgeRefusalKey, withEdgeRefusals, withoutBody } from "./edge-refusal.js";
import { protocolOf, rpcErrorResponse } from "./rpc-errors.js";

/** A request on either HTTP version. */
export type AnyRequest = Parameters<ReturnType<typeof connectNodeAdapter>>[0];
/** A response on either HTTP version (connect-node's own type, so it can be passed through). */
export type AnyResponse = Parameters<ReturnType<typeof connectNodeAdapter>>[1];
/** A handler for both HTTP/1.1 and HTTP/2 servers. */
export type AnyHandler = (req: AnyRequest, res: AnyResponse) => void;

/** What the HTTP layer needs besides the RPC routes. */
export interface RequestHandlerOptions {
  readonly routes: (router: ConnectRouter) => void;
  readonly corsOrigins: readonly string[];
  /** Headers of the extra routes (the OpenAI endpoint) that CORS must also allow and expose. */
  readonly corsAdditions?: CorsAdditions;
  readonly maxMessageBytes: number;
  /** Aborted once the drain time is over, so handlers still running can stop. */
  readonly shutdownSignal: AbortSignal;
  /** Whether the model and store are loaded. */
  readonly isReady: () => boolean;
  /** While not ready: the loading step in progress ("downloading model (…): 12.1 of 23.0 MB"), shown by /healthz. */
  readonly loadingStatus?: () => string | undefined;
  /** Extra plain-HTTP routes (metrics, dashboard), tried before the RPC routes. */
  readonly extraRoutes?: (req: AnyRequest, res: AnyResponse) => boolean;
  /** Deepest nesting in a JSON request message (SEMCACHE_MAX_JSON_DEPTH); default 64. */
  readonly maxJsonDepth?: number;
  /** Most bytes of request bodies received at once (SEMCACHE_MAX_PENDING_BODY_BYTES); default 256 MiB. */
  readonly maxPendingBodyBytes?: number;
  /** The budget itself, when plain routes that read bodies (/v1/chat/completions) must share it; default: one of maxPendingBodyBytes. */
  readonly bodyBudget?: BodyBudget;
  /**
   * Decides from the headers alone whether a request may go on (API key,
   * rate limit, Host), before its body is read; default: everything may.
   */
  readonly admit?: Admit;
}

const DEFAULT_MAX_JSON_DEPTH = 64;
const DEFAULT_MAX_PENDING_BODY_BYTES = 256 * 1024 * 1024;

// JSON must be UTF-8 (RFC 8259); the default decoder would turn bad bytes into U+FFFD and store them.
const strictUtf8 = new TextDecoder("utf-8", { fatal: true });
/** The router's JSON options; a method that sets its own `jsonOptions` must start from these (they replace, not merge). */
export const JSON_OPTIONS: Partial<JsonReadOptions & JsonWriteOptions> & { textDecoder: { decode(input?: Uint8Array): string } } = {
  textDecoder: {
    decode(input) {
      try {
        return strictUtf8.decode(input);
      } catch {
        throw new ConnectError("the JSON request body is not valid UTF-8", Code.InvalidArgument);
      }
    },
  },
};

/** Content types that mark a request as an RPC, so an unknown path gets an RPC error rather than a plain 404. */
const RPC_CONTENT_TYPE = /^application\/(?:json|proto|connect\+|grpc)/iu;

function sendJson(res: AnyResponse, status: number, body: unknown, headers: Record<string, string | string[] | number> = {}): void {
  const text = JSON.stringify(body);
  (res as ServerResponse).writeHead(status, { ...headers, "content-type": "application/json", "content-length": Buffer.byteLength(text) });
  res.end(text);
}

/**
 * After a complete answer to a request whose body was not read to the end
 * (refused as too large, say), tells an HTTP/2 client to stop sending it:
 * RST_STREAM(NO_ERROR), as RFC 9113 §8.1 provides. Otherwise the stream stays
 * open for as long as the client cares to push, with a window of it buffered.
 * HTTP/1.1 needs nothing: Node sends such an answer with Connection: close
 * and closes the connection after it.
 */
function stopUnreadUploads(req: AnyRequest): void {
  if (!("stream" in req)) return;
  const stream = req.stream;
  // Node's compat response always ends with trailers (empty, or gRPC's status), sent from its own
  // "wantTrailers" listener. nghttp2 sends a reset before anything still queued, so it waits until the
  // trailers have been written out: one turn of the event loop after they were handed over.
  stream.once("wantTrailers", () => {
    setImmediate(() => {
      if (!stream.readableEnded && !stream.closed) stream.close(http2Constants.NGHTTP2_NO_ERROR);
    });
  });
}

/** The Host (HTTP/1.1) or :authority (HTTP/2) of a request, when it can be part of a URL. */
function validAuthority(req: AnyRequest): boolean {
  const authority = "authority" in req ? req.authority : req.headers.host;
  return typeof authority === "string" && authority !== "" && URL.canParse(`http://${authority}/`);
}

/** The RPCs of the router, as the edge serves them. */
interface RpcRoutes {
  /** Whether `path` is a method of a registered service. */
  serves(path: string): boolean;
  /** Serves an RPC request (or answers an unknown method of one); false when `path` is not an RPC. */
  handle(req: AnyRequest, res: AnyResponse, path: string): boolean;
}

/**
 * Serves the RPCs of the router the way connect-node's adapter does, plus
 * what it leaves out: a request is admitted (or refused, see edge-refusal.ts)
 * from its headers before its body is read; client mistakes are answered as
 * such (see connect-fixes/); the bodies being received share one memory
 * budget (body-budget.ts); a request without a usable Host gets an error
 * instead of an exception that would end the process; and an unknown method
 * of an RPC request gets UNIMPLEMENTED in the caller's protocol.
 */
function createRpcRoutes(options: RequestHandlerOptions): RpcRoutes {
  const router = createConnectRouter({
    readMaxBytes: options.maxMessageBytes,
    shutdownSignal: options.shutdownSignal,
    acceptCompression: [compressionGzip, compressionBrotli],
    jsonOptions: JSON_OPTIONS,
  });
  options.routes(withEdgeRefusals(router));
  const messageLimits = { maxMessageBytes: options.maxMessageBytes, maxJsonDepth: options.maxJsonDepth ?? DEFAULT_MAX_JSON_DEPTH };
  const methods = new Map<string, UniversalHandlerFn>();
  // A refused call carries a well-formed stand-in message, so it has no client mistakes to clarify: it skips that work.
  const refusable = new Map<string, UniversalHandlerFn>();
  for (const handler of router.handlers) {
    methods.set(handler.requestPath, withClearClientErrors(handler, messageLimits));
    refusable.set(handler.requestPath, handler);
  }
  const services = new Set(router.handlers.map((handler) => handler.service.typeName));
  const budget = options.bodyBudget ?? new BodyBudget(options.maxPendingBodyBytes ?? DEFAULT_MAX_PENDING_BODY_BYTES);

  const handle = (req: AnyRequest, res: AnyResponse, path: string): boolean => {
    const handler = methods.get(path);
    const contentType = req.headers["content-type"] ?? "";
    const route = /^\/([^/]+)\/([^/]+)$/u.exec(path);
    const [, service = "", method = ""] = route ?? [];
    if (handler === undefined) {
      if (route === null || req.method !== "POST" || !RPC_CONTENT_TYPE.test(contentType)) return false;
      const message = services.has(service) ? `unknown method ${JSON.stringify(method)} of service ${service}` : `unknown service ${JSON.stringify(service.slice(0, 200))}`;
      sendRpcError(req, res, new ConnectError(message, Code.Unimplemented), 404);
      return true;
    }
    if (!validAuthority(req)) {
      if (res instanceof ServerResponse) res.shouldKeepAlive = false;
      sendRpcError(req, res, new ConnectError("the request has no usable Host header (HTTP/1.1) or :authority (HTTP/2)", Code.InvalidArgument), 400);
      return true;
    }
    const admission = options.admit?.(req, { service, method }) ?? {};
    let answer: ReturnType<typeof handler>;
    if (admission.refusal !== undefined) {
      // The body is never read: HTTP/2 resets the stream after the answer (stopUnreadUploads), HTTP/1.1 closes the connection.
      if (res instanceof ServerResponse) res.shouldKeepAlive = false;
      const refused = withoutBody(universalRequestFromNodeRequest(req, res, undefined, createContextValues().set(edgeRefusalKey, admission.refusal)));
      answer = (refusable.get(path) ?? handler)(refused);
    } else {
      answer = handler(budget.meter(universalRequestFromNodeRequest(req, res, undefined, admission.contextValues)));
    }
    answer
      .then((response) => universalResponseToNodeResponse(response, res))
      .catch((reason: unknown) => {
        // A client that went away mid-answer is not the server's failure.
        if (ConnectError.from(reason).code === Code.Aborted) return;
        console.error(`handler for rpc ${path} failed`, reason);
        res.destroy();
      });
    return true;
  };
  return { serves: (path) => methods.has(path), handle };
}

/** An error answer in the request's own protocol, without reading its body. */
function sendRpcError(req: AnyRequest, res: AnyResponse, error: ConnectError, httpStatus?: number): void {
  const contentType = req.headers["content-type"];
  const answer = rpcErrorResponse(protocolOf(contentType), contentType, error, httpStatus === undefined ? {} : { httpStatus });
  universalResponseToNodeResponse(answer, res).catch(() => res.destroy());
}

/**
 * Builds the one handler behind both servers: CORS, `/healthz`, admission of
 * plain routes, extra routes, then Connect / gRPC / gRPC-Web.
 */
export function createRequestHandler(options: RequestHandlerOptions): AnyHandler {
  const rpc = createRpcRoutes(options);
  const corsHeaders = corsAnswer(options.corsOrigins, options.corsAdditions);
  return (req, res) => {
    stopUnreadUploads(req);
    const cors = corsHeaders(req.headers);
    if (req.method === "OPTIONS") {
      res.writeHead(cors === undefined ? 403 : 204, cors ?? {});
      res.end();
      return;
    }
    if (cors !== undefined) {
      for (const [name, value] of Object.entries(cors)) if (value !== undefined) res.setHeader(name, value);
    }
    const path = (req.url ?? "/").split("?", 1)[0] ?? "/";
    if (path === "/healthz" && (req.method === "GET" || req.method === "HEAD")) {
      const ready = options.isReady();
      const loading = ready ? undefined : options.loadingStatus?.();
      sendJson(res, ready ? 200 : 503, { status: ready ? "SERVING" : "NOT_SERVING", ...(loading === undefined ? {} : { loading }) });
      return;
    }
    if (!rpc.serves(path)) {
      const refusal = options.admit?.(req, undefined).refusal;
      if (refusal !== undefined) {
        if (res instanceof ServerResponse) res.shouldKeepAlive = false;
        sendRpcError(req, res, refusal);
        return;
      }
    }
    if (options.extraRoutes?.(req, res) === true) return;
    try {
      if (rpc.handle(req, res, path)) return;
    } catch (error) {
      // Whatever a request can trigger here must end that request, never the process.
      console.error(`request ${path} failed before reaching its handler`, error);
      if (!res.headersSent) sendJson(res, 500, { code: "internal", message: "internal error" });
      else res.destroy();
      return;
    }
    sendJson(res, 404, { code: "not_found", message: "no such route" });
  };
}
