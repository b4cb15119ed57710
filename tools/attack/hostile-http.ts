/**
 * What the HTTP-edge attacks share: a raw HTTP/2 client that sends frames no
 * polite client would (streams past the server's limit, headers without a
 * body, silence after the preface), and probing a target while an attack runs.
 */
import { connect, type Socket } from "node:net";
import { H2_FRAME, H2_PREFACE, hpackLiterals, http2Frame, parseHttp2Frames, type Http2Frame } from "../../test/support/raw-http.js";
import type { AttackTarget, ProbeTimes } from "./target.js";

const END_STREAM = 0x1;
const END_HEADERS = 0x4;

/** An HTTP/2 connection driven frame by frame. */
export interface RawH2Connection {
  /** Sends a HEADERS frame (END_HEADERS; END_STREAM when `endStream`). */
  headers(streamId: number, fields: readonly (readonly [string, string])[], endStream?: boolean): void;
  /** Sends a DATA frame. */
  data(streamId: number, payload: Uint8Array, endStream?: boolean): void;
  /** The frames the server sent so far. */
  frames(): Http2Frame[];
  /** Whether the server closed (or reset) the connection. */
  closedByServer(): boolean;
  /** Resolves when the connection is closed, by either side. */
  readonly closed: Promise<void>;
  /** Closes it from this side. */
  destroy(): void;
}

/** Opens a connection, sends the preface and an empty SETTINGS frame; nothing else unless asked. */
export async function rawH2(port: number): Promise<RawH2Connection> {
  const socket: Socket = connect(port, "127.0.0.1");
  await new Promise<void>((resolve, reject) => {
    socket.once("connect", resolve);
    socket.once("error", reject);
  });
  let received = Buffer.alloc(0);
  let byServer = false;
  let byUs = false;
  socket.on("data", (chunk: Buffer) => {
    // Keep only what is needed to read frames; a long attack must not grow the attacker.
    received = received.length > 4 * 1024 * 1024 ? received : Buffer.concat([received, chunk]);
  });
  socket.on("error", () => undefined);
  const closed = new Promise<void>((resolve) =>
    socket.once("close", () => {
      if (!byUs) byServer = true;
      resolve();
    }),
  );
  socket.write(Buffer.concat([H2_PREFACE, http2Frame(H2_FRAME.SETTINGS, 0, 0, Buffer.alloc(0))]));
  const write = (bytes: Buffer): void => {
    if (!socket.destroyed) socket.write(bytes);
  };
  return {
    headers: (streamId, fields, endStream = false) => write(http2Frame(H2_FRAME.HEADERS, END_HEADERS | (endStream ? END_STREAM : 0), streamId, hpackLiterals(fields))),
    data: (streamId, payload, endStream = false) => write(http2Frame(H2_FRAME.DATA, endStream ? END_STREAM : 0, streamId, payload)),
    frames: () => parseHttp2Frames(received.subarray(0)),
    closedByServer: () => byServer,
    closed,
    destroy() {
      byUs = true;
      socket.destroy();
    },
  };
}

/** The request headers of an RPC over raw HTTP/2. */
export function rpcHeaders(port: number, method: string, contentType: string, extra: readonly (readonly [string, string])[] = []): (readonly [string, string])[] {
  return [
    [":method", "POST"],
    [":scheme", "http"],
    [":authority", `127.0.0.1:${port}`],
    [":path", `/semcache.v1.SemanticCacheService/${method}`],
    ["content-type", contentType],
    ...extra,
  ];
}

/** The worst of several probes. */
export function worst(probes: readonly ProbeTimes[]): ProbeTimes {
  return {
    lookupMs: Math.max(0, ...probes.map((p) => p.lookupMs)),
    healthzMs: Math.max(0, ...probes.map((p) => p.healthzMs)),
  };
}

/** Probes `target` every `everyMs` until `during` settles; returns its result and the worst probe. */
export async function probeWhile<T>(target: AttackTarget, during: Promise<T>, everyMs = 500): Promise<{ result: T; worst: ProbeTimes }> {
  const probes: ProbeTimes[] = [];
  let done = false;
  const settled = during.finally(() => (done = true));
  const probing = (async () => {
    do {
      probes.push(await target.probe(5_000));
      await new Promise((resolve) => setTimeout(resolve, everyMs));
    } while (!done);
  })();
  const result = await settled;
  await probing;
  return { result, worst: worst(probes) };
}

/** Milliseconds, rounded, or "no answer". */
export function ms(value: number): string {
  return Number.isFinite(value) ? `${Math.round(value)} ms` : "no answer";
}

/** Bytes as MiB, one decimal. */
export function mib(bytes: number): string {
  return `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
}

/** Resolves after `ms` milliseconds. */
export function sleep(delayMs: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, delayMs));
}
