import { request as http1Request, type IncomingHttpHeaders, type OutgoingHttpHeaders } from "node:http";
import { connect as http2Connect, constants as h2, type IncomingHttpHeaders as Http2Headers } from "node:http2";
import { connect as tcpConnect } from "node:net";

/**
 * Plain HTTP clients that send exactly the bytes a test gives them: no
 * content-type fixing, no framing, no retries. For throwing malformed
 * requests at the server, which a generated client refuses to produce.
 */

/** What came back for one request. */
export interface RawResponse {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  /** HTTP trailers (gRPC puts grpc-status here); empty when there were none. */
  readonly trailers: Readonly<Record<string, string>>;
  readonly body: Buffer;
}

/** One request's method, path, headers and body. */
export interface RawRequest {
  readonly path: string;
  readonly method?: string;
  readonly headers?: OutgoingHttpHeaders;
  /** Sent as one piece, or as these pieces in order. */
  readonly body?: Uint8Array | readonly Uint8Array[];
  /** Give up (and fail) after this long. */
  readonly timeoutMs?: number;
}

const DEFAULT_TIMEOUT_MS = 30_000;

function flatten(headers: IncomingHttpHeaders | Http2Headers): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value !== undefined) out[name.toLowerCase()] = Array.isArray(value) ? value.join(", ") : String(value);
  }
  return out;
}

function pieces(body: RawRequest["body"]): readonly Uint8Array[] {
  if (body === undefined) return [];
  return body instanceof Uint8Array ? [body] : body;
}

/**
 * One request over a fresh cleartext HTTP/2 connection (prior knowledge, as
 * gRPC clients do). Resolves with whatever the server answered, even when it
 * answered before reading the whole body.
 */
export function h2Request(baseUrl: string, req: RawRequest): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const session = http2Connect(baseUrl);
    const timer = setTimeout(() => {
      session.destroy();
      reject(new Error(`no answer to ${req.path} within ${req.timeoutMs ?? DEFAULT_TIMEOUT_MS} ms`));
    }, req.timeoutMs ?? DEFAULT_TIMEOUT_MS);
    session.on("error", (error) => {
      clearTimeout(timer);
      reject(error);
    });
    const stream = session.request({
      [h2.HTTP2_HEADER_METHOD]: req.method ?? "POST",
      [h2.HTTP2_HEADER_PATH]: req.path,
      ...req.headers,
    });
    let status = 0;
    let headers: Record<string, string> = {};
    let trailers: Record<string, string> = {};
    const chunks: Buffer[] = [];
    stream.on("response", (h) => {
      status = Number(h[h2.HTTP2_HEADER_STATUS]);
      headers = flatten(h);
    });
    stream.on("trailers", (t) => {
      trailers = flatten(t);
    });
    stream.on("data", (chunk: Buffer) => chunks.push(chunk));
    // A server that answers early resets the rest of the request: that is an answer, not a failure.
    stream.on("error", () => undefined);
    stream.on("close", () => {
      clearTimeout(timer);
      session.close();
      if (status === 0) reject(new Error(`stream closed without a response (RST code ${stream.rstCode})`));
      else resolve({ status, headers, trailers, body: Buffer.concat(chunks) });
    });
    const parts = pieces(req.body);
    for (const [i, part] of parts.entries()) {
      if (i === parts.length - 1) stream.end(part);
      else stream.write(part);
    }
    if (parts.length === 0) stream.end();
  });
}

/** One request over a fresh HTTP/1.1 connection. A body given in pieces is sent chunked unless headers say otherwise. */
export function h1Request(baseUrl: string, req: RawRequest): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const url = new URL(req.path, baseUrl);
    const outgoing = http1Request(url, { method: req.method ?? "POST", headers: req.headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (chunk: Buffer) => chunks.push(chunk));
      res.on("end", () => {
        clearTimeout(timer);
        resolve({ status: res.statusCode ?? 0, headers: flatten(res.headers), trailers: flatten(res.trailers), body: Buffer.concat(chunks) });
      });
      res.on("error", reject);
    });
    const timer = setTimeout(() => {
      outgoing.destroy();
      reject(new Error(`no answer to ${req.path} within ${req.timeoutMs ?? DEFAULT_TIMEOUT_MS} ms`));
    }, req.timeoutMs ?? DEFAULT_TIMEOUT_MS);
    // The server may answer and close before the whole body went out; the answer still counts.
    outgoing.on("error", (error) => {
      if (!outgoing.writableFinished) return;
      clearTimeout(timer);
      reject(error);
    });
    for (const part of pieces(req.body)) outgoing.write(part);
    outgoing.end();
  });
}

/** What a raw TCP exchange produced. */
export interface RawExchange {
  /** Every byte the server sent. */
  readonly received: Buffer;
  /** Whether the server closed the connection (rather than the wait running out). */
  readonly closedByServer: boolean;
}

/**
 * Writes `bytes` on a fresh TCP connection and collects what comes back
 * until the server closes the connection or `waitMs` passes.
 */
export function tcpExchange(port: number, bytes: Uint8Array | string, waitMs: number): Promise<RawExchange> {
  return new Promise((resolve) => {
    const socket = tcpConnect(port, "127.0.0.1");
    const chunks: Buffer[] = [];
    let done = false;
    const finish = (closedByServer: boolean): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.destroy();
      resolve({ received: Buffer.concat(chunks), closedByServer });
    };
    const timer = setTimeout(() => finish(false), waitMs);
    socket.on("data", (chunk: Buffer) => chunks.push(chunk));
    socket.on("error", () => finish(true));
    socket.on("end", () => finish(true));
    socket.on("close", () => finish(true));
    socket.write(bytes);
  });
}

/** The frames of a server's HTTP/2 byte stream, as far as they arrived whole. */
export interface Http2Frame {
  readonly type: number;
  readonly flags: number;
  readonly streamId: number;
  readonly payload: Buffer;
}

/** HTTP/2 frame types a test looks for. */
export const H2_FRAME = { DATA: 0x0, HEADERS: 0x1, RST_STREAM: 0x3, SETTINGS: 0x4, GOAWAY: 0x7 } as const;

/** Splits raw HTTP/2 bytes (after any preface) into frames. */
export function parseHttp2Frames(bytes: Buffer): Http2Frame[] {
  const frames: Http2Frame[] = [];
  let offset = 0;
  while (offset + 9 <= bytes.length) {
    const length = bytes.readUIntBE(offset, 3);
    if (offset + 9 + length > bytes.length) break;
    frames.push({
      type: bytes.readUInt8(offset + 3),
      flags: bytes.readUInt8(offset + 4),
      streamId: bytes.readUInt32BE(offset + 5) & 0x7fffffff,
      payload: bytes.subarray(offset + 9, offset + 9 + length),
    });
    offset += 9 + length;
  }
  return frames;
}

/** The HTTP/2 connection preface every prior-knowledge client sends first. */
export const H2_PREFACE = Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", "latin1");

/** One HTTP/2 frame's bytes. */
export function http2Frame(type: number, flags: number, streamId: number, payload: Uint8Array): Buffer {
  const head = Buffer.alloc(9);
  head.writeUIntBE(payload.byteLength, 0, 3);
  head.writeUInt8(type, 3);
  head.writeUInt8(flags, 4);
  head.writeUInt32BE(streamId & 0x7fffffff, 5);
  return Buffer.concat([head, payload]);
}

/**
 * An HPACK header block of literal, never-indexed, non-Huffman fields: what a
 * client that omits headers Node's own client always adds (`:authority`)
 * needs. Names and values must each be under 127 bytes.
 */
export function hpackLiterals(fields: readonly (readonly [string, string])[]): Buffer {
  const parts: Buffer[] = [];
  for (const [name, value] of fields) {
    const n = Buffer.from(name, "latin1");
    const v = Buffer.from(value, "latin1");
    if (n.length > 126 || v.length > 126) throw new Error("hpackLiterals only encodes short fields");
    parts.push(Buffer.from([0x10, n.length]), n, Buffer.from([v.length]), v);
  }
  return Buffer.concat(parts);
}
