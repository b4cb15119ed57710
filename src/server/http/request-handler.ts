import type { ServerResponse } from "node:http";
import { connectNodeAdapter } from "@connectrpc/connect-node";
import type { ConnectRouter } from "@connectrpc/connect";
import { corsHeaders } from "./cors.js";

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
  /** Extra plain-HTTP routes (metrics, dashboard), tried before the RPC routes. */
  readonly extraRoutes?: (req: AnyRequest, res: AnyResponse) => boolean;
}

function sendJson(res: AnyResponse, status: number, body: unknown, headers: Record<string, string | string[] | number> = {}): void {
  const text = JSON.stringify(body);
  (res as ServerResponse).writeHead(status, { ...headers, "content-type": "application/json", "content-length": Buffer.byteLength(text) });
  res.end(text);
}

/**
 * Builds the one handler behind both servers: CORS, `/healthz`, extra routes,
 * then Connect / gRPC / gRPC-Web through connect-node.
 */
export function createRequestHandler(options: RequestHandlerOptions): AnyHandler {
  const rpc = connectNodeAdapter({
    routes: options.routes,
    readMaxBytes: options.maxMessageBytes,
    shutdownSignal: options.shutdownSignal,
    fallback: (_req, res) => sendJson(res, 404, { code: "not_found", message: "no such route" }),
  });
  return (req, res) => {
    const cors = corsHeaders(options.corsOrigins, req.headers);
    if (req.method === "OPTIONS") {
      res.writeHead(cors === undefined ? 403 : 204, cors ?? {});
      res.end();
      return;
    }
    if (cors !== undefined) {
      for (const [name, value] of Object.entries(cors)) if (value !== undefined) res.setHeader(name, value);
    }
    const path = (req.url ?? "/").split("?", 1)[0];
    if (path === "/healthz" && (req.method === "GET" || req.method === "HEAD")) {
      const ready = options.isReady();
      sendJson(res, ready ? 200 : 503, { status: ready ? "SERVING" : "NOT_SERVING" });
      return;
    }
    if (options.extraRoutes?.(req, res) === true) return;
    rpc(req, res);
  };
}
