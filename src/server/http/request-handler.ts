import type { ServerResponse } from "node:http";
import { constants as http2Constants } from "node:http2";
import type { JsonReadOptions, JsonWriteOptions } from "@bufbuild/protobuf";
import { Code, ConnectError, createConnectRouter, type ConnectRouter } from "@connectrpc/connect";
import {
  compressionBrotli,
  compressionGzip,
  universalRequestFromNodeRequest,
  universalResponseToNodeResponse,
  type connectNodeAdapter,
} from "@connectrpc/connect-node";
import type { UniversalHandlerFn } from "@connectrpc/connect/protocol";
import { withClearClientErrors } from "./client-faults.js";
import { corsHeaders } from "./cors.js";
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
  readonly maxMessageBytes: number;
  /** Aborted once the drain time is over, so handlers still running can stop. */
  readonly shutdownSignal: AbortSignal;
  /** Whether the model and store are loaded. */
  readonly isReady: () => boolean;
  /** While not ready: the loading step in progress ("downloading model (…): 12.1 of 23.0 MB"), shown by /healthz. */
  readonly loadingStatus?: () => string | undefined;
  /** Extra plain-HTTP routes (metrics, dashboard), tried before the RPC routes. */
  readonly extraRoutes?: (req: AnyRequest, res: AnyResponse) => boolean;
}

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

/**
 * Serves the RPCs of the router the way connect-node's adapter does, plus
 * what it leaves out: client mistakes are answered as such (see
 * client-faults.ts), a request without a usable Host gets an error instead
 * of an exception that would end the process, and an unknown method of an
 * RPC request gets UNIMPLEMENTED in the caller's protocol.
 */
function createRpcHandler(options: RequestHandlerOptions): (req: AnyRequest, res: AnyResponse, path: string) => boolean {
  const router = createConnectRouter({
    readMaxBytes: options.maxMessageBytes,
    shutdownSignal: options.shutdownSignal,
    acceptCompression: [compressionGzip, compressionBrotli],
    jsonOptions: JSON_OPTIONS,
  });
  options.routes(router);
  const methods = new Map<string, UniversalHandlerFn>();
  for (const handler of router.handlers) methods.set(handler.requestPath, withClearClientErrors(handler, options.maxMessageBytes));
  const services = new Set(router.handlers.map((handler) => handler.service.typeName));

  const fail = (req: AnyRequest, res: AnyResponse, error: ConnectError, httpStatus: number): void => {
    const contentType = req.headers["content-type"];
    universalResponseToNodeResponse(rpcErrorResponse(protocolOf(contentType), contentType, error, { httpStatus }), res).catch(() => res.destroy());
  };

  return (req, res, path) => {
    const handler = methods.get(path);
    const contentType = req.headers["content-type"] ?? "";
    if (handler === undefined) {
      const route = /^\/([^/]+)\/([^/]+)$/u.exec(path);
      if (route === null || req.method !== "POST" || !RPC_CONTENT_TYPE.test(contentType)) return false;
      const [, service = "", method = ""] = route;
      const message = services.has(service) ? `unknown method ${JSON.stringify(method)} of service ${service}` : `unknown service ${JSON.stringify(service.slice(0, 200))}`;
      fail(req, res, new ConnectError(message, Code.Unimplemented), 404);
      return true;
    }
    if (!validAuthority(req)) {
      fail(req, res, new ConnectError("the request has no usable Host header (HTTP/1.1) or :authority (HTTP/2)", Code.InvalidArgument), 400);
      return true;
    }
    handler(universalRequestFromNodeRequest(req, res, undefined, undefined))
      .then((response) => universalResponseToNodeResponse(response, res))
      .catch((reason: unknown) => {
        // A client that went away mid-answer is not the server's failure.
        if (ConnectError.from(reason).code === Code.Aborted) return;
        console.error(`handler for rpc ${path} failed`, reason);
        res.destroy();
      });
    return true;
  };
}

/**
 * Builds the one handler behind both servers: CORS, `/healthz`, extra routes,
 * then Connect / gRPC / gRPC-Web.
 */
export function createRequestHandler(options: RequestHandlerOptions): AnyHandler {
  const rpc = createRpcHandler(options);
  return (req, res) => {
    stopUnreadUploads(req);
    const cors = corsHeaders(options.corsOrigins, req.headers);
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
    if (options.extraRoutes?.(req, res) === true) return;
    try {
      if (rpc(req, res, path)) return;
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
