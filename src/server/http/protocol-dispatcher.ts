import { createServer as createTcpServer, type Server as TcpServer, type Socket } from "node:net";
import type { Server as Http1Server } from "node:http";
import type { Http2Server } from "node:http2";

// Every prior-knowledge HTTP/2 connection opens with this preface; no
// HTTP/1.1 request line can start with "PRI ".
const H2_PREFACE = Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", "latin1");
const H2_PREFACE_START = H2_PREFACE.subarray(0, 4);
// A connection that never sends its first bytes (or, for HTTP/2, its whole
// preface) is not worth a file descriptor: Node's HTTP/2 server would wait for
// the rest of a preface forever.
const PREFACE_TIMEOUT_MS = 30_000;
// How long a refused connection may go on sending before it is cut.
const LINGER_MS = 2_000;

/**
 * What a wrong HTTP/2 preface is answered with (RFC 9113 §3.4: a connection
 * error of type PROTOCOL_ERROR): the server's empty SETTINGS, then GOAWAY
 * with the reason as debug data. Node's own answer says INTERNAL_ERROR.
 */
const BAD_PREFACE_ANSWER = ((): Buffer => {
  const frame = (type: number, payload: Buffer): Buffer => {
    const head = Buffer.alloc(9);
    head.writeUIntBE(payload.length, 0, 3);
    head.writeUInt8(type, 3);
    return Buffer.concat([head, payload]);
  };
  const SETTINGS = 0x4;
  const GOAWAY = 0x7;
  const PROTOCOL_ERROR = 0x1;
  const goaway = Buffer.alloc(8);
  goaway.writeUInt32BE(0, 0); // last stream id: none was processed
  goaway.writeUInt32BE(PROTOCOL_ERROR, 4);
  return Buffer.concat([frame(SETTINGS, Buffer.alloc(0)), frame(GOAWAY, Buffer.concat([goaway, Buffer.from("invalid HTTP/2 connection preface")]))]);
})();

/** How the dispatcher treats connections before they have said which protocol they speak. */
export interface ProtocolDispatcherOptions {
  /** How long a connection may take to send its first bytes, and an HTTP/2 one its whole preface; default 30 s. */
  readonly prefaceTimeoutMs?: number;
}

/** Whether `head` is a strict prefix of `whole`: more bytes are needed to tell. */
function undecided(head: Buffer, whole: Buffer): boolean {
  return head.length < whole.length && whole.subarray(0, head.length).equals(head);
}

/**
 * Creates a TCP server that serves HTTP/1.1 and cleartext HTTP/2 on one port.
 *
 * Node's `http2.createServer` without TLS only speaks prior-knowledge HTTP/2
 * (`allowHTTP1` needs ALPN, i.e. TLS), so this reads a connection's first
 * bytes, puts them back, and hands the socket to the server for its protocol.
 */
export function createProtocolDispatcher(http1: Http1Server, http2: Http2Server, options: ProtocolDispatcherOptions = {}): TcpServer {
  const timeoutMs = options.prefaceTimeoutMs ?? PREFACE_TIMEOUT_MS;
  return createTcpServer((socket: Socket) => {
    let head = Buffer.alloc(0);
    socket.setTimeout(timeoutMs, () => socket.destroy());
    const onData = (chunk: Buffer): void => {
      head = Buffer.concat([head, chunk]);
      if (undecided(head, H2_PREFACE_START)) return;
      const isHttp2 = head.subarray(0, H2_PREFACE_START.length).equals(H2_PREFACE_START);
      // Half a preface: wait for the rest (the timeout still runs).
      if (isHttp2 && undecided(head, H2_PREFACE)) return;
      socket.off("data", onData);
      if (isHttp2 && !head.subarray(0, H2_PREFACE.length).equals(H2_PREFACE)) {
        // Read and drop what else comes for a moment, so the answer is not lost to a reset.
        socket.setTimeout(0);
        socket.resume();
        socket.end(BAD_PREFACE_ANSWER);
        setTimeout(() => socket.destroy(), LINGER_MS).unref();
        return;
      }
      socket.setTimeout(0);
      socket.pause();
      socket.unshift(head);
      if (isHttp2) {
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
