import { createServer as createHttp1Server, ServerResponse, type Server as Http1Server } from "node:http";
import { constants as http2Constants, createServer as createHttp2Server, type Http2Server, type ServerHttp2Session } from "node:http2";
import type { Server as TcpServer, Socket, AddressInfo } from "node:net";
import { once } from "node:events";
import { Code, ConnectError } from "@connectrpc/connect";
import { universalResponseToNodeResponse } from "@connectrpc/connect-node";
import { DEFAULT_CONNECTION_LIMITS, type ConnectionLimits } from "./edge-options.js";
import { createProtocolDispatcher } from "./protocol-dispatcher.js";
import type { AnyHandler, AnyRequest, AnyResponse } from "./request-handler.js";
import { protocolOf, rpcErrorResponse } from "./rpc-errors.js";

/** How long calls cut at the drain timeout have to write their error before their connections close. */
const CUT_CALL_GRACE_MS = 500;
/** How long an idle HTTP/2 session told to go away (GOAWAY) may take to close before it is cut. */
const GOAWAY_GRACE_MS = 1_000;
/** Initial HTTP/2 stream window: large gRPC messages would otherwise trip the default 64 KiB on slow readers. */
const H2_STREAM_WINDOW_BYTES = 1024 * 1024;

/** What a request that arrives while the server drains is answered (UNAVAILABLE: safe to retry elsewhere). */
export const SHUTTING_DOWN_MESSAGE = "semcache is shutting down and takes no new calls; retry (another instance, or this one once it is back)";

/** An HTTP/1.1 + h2c listener on one port that can drain before it closes. */
export interface OnePortHttpServer {
  /** The port it listens on. */
  readonly port: number;
  /** Requests being served right now. */
  inFlight(): number;
  /**
   * Stops accepting connections and calls, lets in-flight requests finish for
   * up to `timeoutMs`, then closes whatever is left.
   *
   * From the moment it is called, no new call is served: a new connection
   * finds nothing listening, an HTTP/2 client is told to go away (GOAWAY),
   * idle HTTP/1.1 connections are closed, responses not yet begun say
   * `Connection: close`, and a request that still arrives on an open
   * HTTP/1.1 keep-alive connection is answered UNAVAILABLE in its own
   * protocol (with `Connection: close`) instead of being run.
   *
   * When `timeoutMs` passes with calls still running, `onTimeout` is called
   * (so they can end with a status of their own) and they get a short grace
   * to write it before their connections are closed.
   */
  drainAndClose(timeoutMs: number, onTimeout?: () => void): Promise<void>;
}

/** Answers a request with UNAVAILABLE (shutting down) in its own protocol, without running any handler. */
function refuse(req: AnyRequest, res: AnyResponse): void {
  // Tell an HTTP/1.1 client not to send anything more on this connection.
  if (res instanceof ServerResponse) res.shouldKeepAlive = false;
  const contentType = req.headers["content-type"];
  const answer = rpcErrorResponse(protocolOf(contentType), contentType, new ConnectError(SHUTTING_DOWN_MESSAGE, Code.Unavailable));
  // The request body is not wanted; reading it to the end keeps the connection's parser sane until it closes.
  req.resume();
  universalResponseToNodeResponse(answer, res).catch(() => undefined);
}

/**
 * Closes an HTTP/2 session that has had no stream open for `idleMs`. Counted
 * by streams, not by frames: PINGs or SETTINGS alone do not keep a
 * connection alive that carries no call.
 */
function closeWhenIdle(session: ServerHttp2Session, idleMs: number): void {
  let open = 0;
  let timer: NodeJS.Timeout | undefined;
  const arm = (): void => {
    timer = setTimeout(() => {
      session.close();
      setTimeout(() => session.destroy(), GOAWAY_GRACE_MS).unref();
    }, idleMs);
    timer.unref();
  };
  arm();
  session.on("stream", (stream) => {
    open++;
    clearTimeout(timer);
    stream.once("close", () => {
      open--;
      if (open === 0 && !session.closed && !session.destroyed) arm();
    });
  });
  session.once("close", () => clearTimeout(timer));
}

/**
 * Cancels (RST_STREAM CANCEL) an HTTP/2 request whose body has not all been
 * received within `ms`, so a stream that stops sending cannot hold its slot
 * and buffers forever. Only the request is timed: once its body has ended, a
 * response may stream for as long as it needs. (HTTP/1.1 gets the same from
 * Node's `requestTimeout`.)
 */
function limitUploadTime(req: AnyRequest, ms: number): void {
  if (!("stream" in req)) return;
  const stream = req.stream;
  const timer = setTimeout(() => {
    if (!stream.closed && !stream.destroyed) stream.close(http2Constants.NGHTTP2_CANCEL);
  }, ms);
  timer.unref();
  const done = (): void => clearTimeout(timer);
  req.once("end", done);
  stream.once("close", done);
}

/**
 * Listens on host:port with one handler for HTTP/1.1 and cleartext HTTP/2,
 * within `limits` (connections, streams per connection, idle, header and
 * request timeouts).
 */
export async function listenOnePort(
  handler: AnyHandler,
  host: string,
  port: number,
  limits: ConnectionLimits = DEFAULT_CONNECTION_LIMITS,
): Promise<OnePortHttpServer> {
  let inFlight = 0;
  let draining = false;
  let drained: (() => void) | undefined;
  // HTTP/1.1 responses in progress: those not begun when the drain starts must not promise keep-alive.
  const openH1 = new Set<ServerResponse>();
  const counted: AnyHandler = (req, res) => {
    if (draining) {
      refuse(req, res);
      return;
    }
    inFlight++;
    res.once("close", () => {
      inFlight--;
      if (inFlight === 0) drained?.();
    });
    if (res instanceof ServerResponse) {
      openH1.add(res);
      res.once("close", () => openH1.delete(res));
    }
    limitUploadTime(req, limits.requestTimeoutMs);
    handler(req, res);
  };
  // Node refuses a header timeout longer than the request timeout.
  const headersTimeout = Math.min(limits.headersTimeoutMs, limits.requestTimeoutMs);
  const http1: Http1Server = createHttp1Server(
    {
      headersTimeout,
      requestTimeout: limits.requestTimeoutMs,
      keepAliveTimeout: limits.idleTimeoutMs,
      // Node checks both timeouts on this period (default 30 s, which would let a half-sent request outlive its timeout).
      connectionsCheckingInterval: Math.max(10, Math.min(1_000, Math.floor(headersTimeout / 4))),
    },
    counted,
  );
  // Node tracks HTTP/1.1 connections (for the header and request timeouts, and closeIdleConnections) from
  // the server's "listening" event on; this server never listens itself: the dispatcher hands it sockets.
  http1.emit("listening");
  const http2: Http2Server = createHttp2Server(
    { settings: { initialWindowSize: H2_STREAM_WINDOW_BYTES, maxConcurrentStreams: limits.maxStreamsPerConnection } },
    counted,
  );
  const sessions = new Set<ServerHttp2Session>();
  http2.on("session", (session) => {
    sessions.add(session);
    session.once("close", () => sessions.delete(session));
    closeWhenIdle(session, limits.idleTimeoutMs);
  });
  const sockets = new Set<Socket>();
  const tcp: TcpServer = createProtocolDispatcher(http1, http2, { prefaceTimeoutMs: limits.headersTimeoutMs });
  // Over the cap, Node closes a new connection at once: descriptors stay for the connections already served.
  tcp.maxConnections = limits.maxConnections;
  tcp.on("connection", (socket: Socket) => {
    sockets.add(socket);
    socket.once("close", () => sockets.delete(socket));
  });
  tcp.listen(port, host);
  await once(tcp, "listening");
  const address = tcp.address() as AddressInfo;

  return {
    port: address.port,
    inFlight: () => inFlight,
    async drainAndClose(timeoutMs, onTimeout) {
      draining = true;
      const closed = new Promise<void>((resolve) => tcp.close(() => resolve()));
      // Tell keep-alive peers to go away; streams already open may finish.
      for (const session of sessions) session.close();
      // Responses not begun yet say `Connection: close`. A connection whose response already promised
      // keep-alive stays open until the end: a call sent on it is refused with UNAVAILABLE (see `counted`),
      // which a client can act on, rather than cut by a close racing its request ("socket hang up").
      for (const res of openH1) if (!res.headersSent) res.shouldKeepAlive = false;
      http1.closeIdleConnections();
      const waitForDrain = (ms: number) =>
        new Promise<void>((resolve) => {
          drained = resolve;
          setTimeout(resolve, ms).unref();
        });
      if (inFlight > 0) await waitForDrain(timeoutMs);
      if (inFlight > 0 && onTimeout !== undefined) {
        onTimeout();
        await waitForDrain(CUT_CALL_GRACE_MS);
      }
      http1.closeAllConnections();
      // Stops Node's connection checks (started by the "listening" event above).
      http1.close();
      for (const socket of sockets) socket.destroy();
      await closed;
    },
  };
}
