import { createServer as createHttp1Server, type Server as Http1Server } from "node:http";
import { createServer as createHttp2Server, type Http2Server, type ServerHttp2Session } from "node:http2";
import type { Server as TcpServer, Socket, AddressInfo } from "node:net";
import { once } from "node:events";
import { createProtocolDispatcher } from "./protocol-dispatcher.js";
import type { AnyHandler } from "./request-handler.js";

/** An HTTP/1.1 + h2c listener on one port that can drain before it closes. */
export interface OnePortHttpServer {
  /** The port it listens on. */
  readonly port: number;
  /** Requests being served right now. */
  inFlight(): number;
  /**
   * Stops accepting connections, lets in-flight requests finish for up to
   * `timeoutMs`, then closes whatever is left.
   */
  drainAndClose(timeoutMs: number): Promise<void>;
}

/** Listens on host:port with one handler for HTTP/1.1 and cleartext HTTP/2. */
export async function listenOnePort(handler: AnyHandler, host: string, port: number): Promise<OnePortHttpServer> {
  let inFlight = 0;
  let drained: (() => void) | undefined;
  const counted: AnyHandler = (req, res) => {
    inFlight++;
    res.once("close", () => {
      inFlight--;
      if (inFlight === 0) drained?.();
    });
    handler(req, res);
  };
  const http1: Http1Server = createHttp1Server(counted);
  // Large gRPC messages would otherwise trip the default 16 KiB frame window on slow readers.
  const http2: Http2Server = createHttp2Server({ settings: { initialWindowSize: 1024 * 1024 } }, counted);
  const sessions = new Set<ServerHttp2Session>();
  http2.on("session", (session) => {
    sessions.add(session);
    session.once("close", () => sessions.delete(session));
  });
  const sockets = new Set<Socket>();
  const tcp: TcpServer = createProtocolDispatcher(http1, http2);
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
    async drainAndClose(timeoutMs) {
      const closed = new Promise<void>((resolve) => tcp.close(() => resolve()));
      // Tell keep-alive peers to go away; streams already open may finish.
      for (const session of sessions) session.close();
      http1.closeIdleConnections();
      if (inFlight > 0) {
        await new Promise<void>((resolve) => {
          drained = resolve;
          setTimeout(resolve, timeoutMs).unref();
        });
      }
      http1.closeAllConnections();
      for (const socket of sockets) socket.destroy();
      await closed;
    },
  };
}
