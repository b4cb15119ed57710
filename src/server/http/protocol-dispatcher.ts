import { createServer as createTcpServer, type Server as TcpServer, type Socket } from "node:net";
import type { Server as Http1Server } from "node:http";
import type { Http2Server } from "node:http2";

// Every prior-knowledge HTTP/2 connection opens with this preface; no
// HTTP/1.1 request line can start with "PRI ".
const H2_PREFACE_START = Buffer.from("PRI ");
// A connection that never sends its first bytes is not worth a file descriptor.
const FIRST_BYTES_TIMEOUT_MS = 30_000;

/**
 * Creates a TCP server that serves HTTP/1.1 and cleartext HTTP/2 on one port.
 *
 * Node's `http2.createServer` without TLS only speaks prior-knowledge HTTP/2
 * (`allowHTTP1` needs ALPN, i.e. TLS), so this reads a connection's first
 * bytes, puts them back, and hands the socket to the server for its protocol.
 */
export function createProtocolDispatcher(http1: Http1Server, http2: Http2Server): TcpServer {
  return createTcpServer((socket: Socket) => {
    let head = Buffer.alloc(0);
    socket.setTimeout(FIRST_BYTES_TIMEOUT_MS, () => socket.destroy());
    const onData = (chunk: Buffer): void => {
      head = Buffer.concat([head, chunk]);
      const decided = head.length >= H2_PREFACE_START.length || !H2_PREFACE_START.subarray(0, head.length).equals(head);
      if (!decided) return;
      socket.off("data", onData);
      socket.setTimeout(0);
      socket.pause();
      socket.unshift(head);
      if (head.subarray(0, H2_PREFACE_START.length).equals(H2_PREFACE_START)) {
        // The HTTP/2 session drains the unshifted bytes itself while it attaches.
        http2.emit("connection", socket);
      } else {
        http1.emit("connection", socket);
        socket.resume();
      }
    };
    socket.on("data", onData);
    socket.on("error", () => socket.destroy());
  });
}
