import { createServer as createHttp1Server, request as http1Request } from "node:http";
import { connect as http2Connect, constants as h2constants, createServer as createHttp2Server } from "node:http2";
import type { AddressInfo } from "node:net";
import { once } from "node:events";
import { brotliCompressSync, gzipSync } from "node:zlib";
import { create, toBinary, toJson, type JsonObject } from "@bufbuild/protobuf";
import { timestampMs } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError } from "@connectrpc/connect";
import { codeFromString, codeToHttpStatus } from "@connectrpc/connect/protocol-connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LookupRequestSchema, LookupResponseSchema } from "../../src/gen/semcache/v1/semantic_cache_pb.js";
import { createProtocolDispatcher } from "../../src/server/http/protocol-dispatcher.js";
import { clientFor, PROTOCOLS, type Protocol } from "../support/clients.js";
import { BinaryWriter, COMPRESSED_FLAG, envelope, float32Bits, INVALID_UTF8, mapEntry, utf8, WireType, bytesField } from "../support/grpc-frames.js";
import {
  H2_FRAME,
  H2_PREFACE,
  h1Request,
  h2Request,
  hpackLiterals,
  http2Frame,
  parseHttp2Frames,
  tcpExchange,
  type RawResponse,
} from "../support/raw-http.js";
import { rpcAnswerOf } from "../support/rpc-answer.js";
import { startTestServer, type TestServer } from "../support/test-server.js";

/**
 * Bad input on the wire, at every protocol the port speaks: bytes no
 * generated client would send (malformed protobuf, lying length prefixes,
 * wrong content types, oversized and endless bodies, broken HTTP). Every
 * case checks the exact status (HTTP status for Connect, grpc-status for
 * gRPC and gRPC-Web) and that the message names the problem, then that the
 * server is still up (/healthz, and exact Lookups over another protocol)
 * and that what was stored is exactly as it was. test/server/bad-input.test.ts
 * covers field validation through the generated clients.
 */

const SERVICE = "semcache.v1.SemanticCacheService";
const path = (method: string): string => `/${SERVICE}/${method}`;
const SMALL_LIMIT = 64 * 1024;
// Big enough for a 10 MB prompt in one message.
const ROOMY_LIMIT = 11 * 1024 * 1024;

/** What an answer must be. `http` defaults to what the protocol pairs with the code (200 for gRPC). */
interface Expected {
  readonly code: string;
  readonly message: RegExp;
  readonly http?: number;
}

const invalid = (message: RegExp): Expected => ({ code: "invalid_argument", message });
const unimplemented = (message: RegExp): Expected => ({ code: "unimplemented", message });
const exhausted = (message: RegExp): Expected => ({ code: "resource_exhausted", message });
const accepted: Expected = { code: "ok", message: /^$/u };

/** How a protocol answers: Connect unary errors pick an HTTP status; Connect streams, gRPC and gRPC-Web answer 200. */
type WireProtocol = "connect" | "connect-stream" | "grpc" | "grpc-web";

function expectAnswer(response: RawResponse, protocol: WireProtocol, expected: Expected): void {
  const http = expected.http ?? (protocol === "connect" && expected.code !== "ok" ? codeToHttpStatus(codeFromString(expected.code) ?? Code.Unknown) : 200);
  expect(rpcAnswerOf(response)).toEqual({ http, code: expected.code, message: expect.stringMatching(expected.message) });
}

// ---------------------------------------------------------------------------
// The stored data every case must leave alone.

const SEEDS = [
  { prompt: "What is the capital of France?", response: "Paris.", scope: { namespace: "wire-a", model: "m-1" }, metadata: { source: "seed" } },
  { prompt: "How many legs does a spider have?", response: "Eight.", scope: { namespace: "wire-a", params: { temperature: "0" } } },
  { prompt: "Name the largest planet of the solar system.", response: "Jupiter.", scope: { namespace: "wire-b" }, ttlSeconds: 86_400 },
] as const;

interface Snapshot {
  readonly entries: bigint;
  readonly lookups: readonly JsonObject[];
}

/** A server seeded with SEEDS, and the checks that it is up and unchanged. */
class SeededServer {
  private baseline: Snapshot | undefined;
  private constructor(readonly server: TestServer) {}

  static async start(maxMessageBytes: number): Promise<SeededServer> {
    const seeded = new SeededServer(await startTestServer({ env: { SEMCACHE_MAX_MESSAGE_BYTES: String(maxMessageBytes) } }));
    const client = clientFor("grpc", seeded.url);
    for (const seed of SEEDS) await client.store(seed);
    seeded.baseline = await seeded.snapshot("grpc");
    expect(seeded.baseline.entries).toBe(BigInt(SEEDS.length));
    return seeded;
  }

  get url(): string {
    return this.server.url;
  }

  get port(): number {
    return this.server.server.port;
  }

  /** Entry count and the exact Lookup of every seed (hit counts aside: every Lookup adds one). */
  async snapshot(protocol: Protocol): Promise<Snapshot> {
    const client = clientFor(protocol, this.url);
    const lookups: JsonObject[] = [];
    for (const seed of SEEDS) {
      const json = toJson(LookupResponseSchema, await client.lookup({ prompt: seed.prompt, scope: seed.scope })) as JsonObject;
      delete (json["entry"] as JsonObject | undefined)?.["hits"];
      lookups.push(json);
    }
    return { entries: (await client.stats({})).entries, lookups };
  }

  /** /healthz answers, and a protocol other than the one just abused still sees exactly what was stored. */
  async expectIntact(abused: Protocol): Promise<void> {
    const health = await fetch(`${this.url}/healthz`);
    expect(health.status).toBe(200);
    expect(await health.json()).toEqual({ status: "SERVING" });
    const other = PROTOCOLS[(PROTOCOLS.indexOf(abused) + 1) % PROTOCOLS.length] ?? "grpc";
    const now = await this.snapshot(other);
    expect(now.lookups.every((lookup) => lookup["hit"] === true)).toBe(true);
    expect(now).toEqual(this.baseline);
  }

  stop(): Promise<void> {
    return this.server.stop();
  }
}

let small: SeededServer;
let roomy: SeededServer;
beforeAll(async () => {
  small = await SeededServer.start(SMALL_LIMIT);
  roomy = await SeededServer.start(ROOMY_LIMIT);
});
afterAll(async () => {
  await small?.stop();
  await roomy?.stop();
});

// ---------------------------------------------------------------------------
// Carriers: one protobuf message (or raw envelope bytes), sent the way each protocol sends it.

const GRPC_HEADERS = { "content-type": "application/grpc", te: "trailers" };
const GRPC_WEB_HEADERS = { "content-type": "application/grpc-web+proto", "x-grpc-web": "1" };

/** Sends one binary message to a unary method. */
interface MessageCarrier {
  readonly name: string;
  readonly protocol: WireProtocol;
  /** The generated-client protocol this carrier abuses (the intact check uses another). */
  readonly as: Protocol;
  send(url: string, method: string, message: Uint8Array): Promise<RawResponse>;
}

const MESSAGE_CARRIERS: readonly MessageCarrier[] = [
  {
    name: "Connect proto, HTTP/1.1",
    protocol: "connect",
    as: "connect-h1",
    send: (url, method, message) => h1Request(url, { path: path(method), headers: { "content-type": "application/proto" }, body: message }),
  },
  {
    name: "Connect proto, HTTP/2",
    protocol: "connect",
    as: "connect-h2",
    send: (url, method, message) => h2Request(url, { path: path(method), headers: { "content-type": "application/proto" }, body: message }),
  },
  {
    name: "gRPC",
    protocol: "grpc",
    as: "grpc",
    send: (url, method, message) => h2Request(url, { path: path(method), headers: GRPC_HEADERS, body: envelope(message) }),
  },
  {
    name: "gRPC-Web, HTTP/1.1",
    protocol: "grpc-web",
    as: "grpc-web",
    send: (url, method, message) => h1Request(url, { path: path(method), headers: GRPC_WEB_HEADERS, body: envelope(message) }),
  },
  {
    name: "gRPC-Web, HTTP/2",
    protocol: "grpc-web",
    as: "grpc-web",
    send: (url, method, message) => h2Request(url, { path: path(method), headers: GRPC_WEB_HEADERS, body: envelope(message) }),
  },
];

/** Sends raw length-prefixed bytes (the frames themselves are the test). */
interface FrameCarrier {
  readonly name: string;
  readonly protocol: WireProtocol;
  readonly as: Protocol;
  /** The header naming the message compression in this protocol. */
  readonly encodingHeader: string;
  /** The header carrying a deadline in this protocol, and how it names itself in errors. */
  readonly timeout: { readonly header: string; readonly name: string };
  send(url: string, body: Uint8Array, headers?: Record<string, string>): Promise<RawResponse>;
}

const FRAME_CARRIERS: readonly FrameCarrier[] = [
  {
    name: "gRPC (Lookup)",
    protocol: "grpc",
    as: "grpc",
    encodingHeader: "grpc-encoding",
    timeout: { header: "grpc-timeout", name: "grpc" },
    send: (url, body, headers) => h2Request(url, { path: path("Lookup"), headers: { ...GRPC_HEADERS, ...headers }, body }),
  },
  {
    name: "gRPC-Web, HTTP/1.1 (Lookup)",
    protocol: "grpc-web",
    as: "grpc-web",
    encodingHeader: "grpc-encoding",
    timeout: { header: "grpc-timeout", name: "grpc" },
    send: (url, body, headers) => h1Request(url, { path: path("Lookup"), headers: { ...GRPC_WEB_HEADERS, ...headers }, body }),
  },
  {
    name: "gRPC-Web, HTTP/2 (Lookup)",
    protocol: "grpc-web",
    as: "grpc-web",
    encodingHeader: "grpc-encoding",
    timeout: { header: "grpc-timeout", name: "grpc" },
    send: (url, body, headers) => h2Request(url, { path: path("Lookup"), headers: { ...GRPC_WEB_HEADERS, ...headers }, body }),
  },
  {
    name: "Connect stream, HTTP/1.1 (AskStream)",
    protocol: "connect-stream",
    as: "connect-h1",
    encodingHeader: "connect-content-encoding",
    timeout: { header: "connect-timeout-ms", name: "connect" },
    send: (url, body, headers) => h1Request(url, { path: path("AskStream"), headers: { "content-type": "application/connect+proto", ...headers }, body }),
  },
];

// ---------------------------------------------------------------------------
// Protobuf messages no generated client would write.

const pb = (): BinaryWriter => new BinaryWriter();
const scopeBytes = (namespace: Uint8Array): Uint8Array => bytesField(pb(), 1, namespace).finish();
const lookupBytes = (prompt: string, namespace = "wire-scratch"): Uint8Array =>
  toBinary(LookupRequestSchema, create(LookupRequestSchema, { prompt, scope: { namespace } }));
// Starts with 0xff 0x48: a tag for field 1167 with wire type 7, which does not exist.
const GARBAGE = Uint8Array.from({ length: 64 }, (_, i) => (0xff + i * 73) & 0xff);
const nestedGroups = (depth: number): Uint8Array => {
  const writer = pb();
  for (let i = 0; i < depth; i++) writer.tag(99, WireType.StartGroup);
  for (let i = 0; i < depth; i++) writer.tag(99, WireType.EndGroup);
  return writer.finish();
};
const nestedUnknown = (depth: number): Uint8Array => {
  let inner = new Uint8Array(0);
  for (let i = 0; i < depth; i++) inner = bytesField(pb(), 50, inner).finish();
  return inner;
};
const withMinSimilarityBits = (bits: number): Uint8Array =>
  pb().tag(1, WireType.LengthDelimited).string("A prompt with an odd threshold").tag(3, WireType.Bit32).fixed32(bits).finish();

interface MessageCase {
  readonly name: string;
  readonly method: "Lookup" | "Store";
  readonly message: Uint8Array;
  readonly expect: Expected;
}

const MALFORMED_MESSAGES: readonly MessageCase[] = [
  { name: "garbage bytes", method: "Lookup", message: GARBAGE, expect: invalid(/^the request is not a valid semcache\.v1\.LookupRequest protobuf message: illegal tag: field no \d+ wire type 7$/u) },
  {
    name: "a valid message cut in half",
    method: "Lookup",
    message: lookupBytes("What is the capital of France?").subarray(0, 20),
    expect: invalid(/^prompt: its length of 30 bytes runs past the end of the message \(18 bytes left\)$/u),
  },
  { name: "invalid UTF-8 in prompt", method: "Lookup", message: bytesField(pb(), 1, INVALID_UTF8).finish(), expect: invalid(/^prompt: is not valid UTF-8 \(protobuf strings must be UTF-8\)$/u) },
  {
    name: "invalid UTF-8 in scope.namespace",
    method: "Lookup",
    message: bytesField(pb().tag(1, WireType.LengthDelimited).string("hi"), 2, scopeBytes(INVALID_UTF8)).finish(),
    expect: invalid(/^scope\.namespace: is not valid UTF-8/u),
  },
  {
    name: "invalid UTF-8 in a scope.params key",
    method: "Store",
    message: bytesField(pb().tag(1, WireType.LengthDelimited).string("hi").tag(2, WireType.LengthDelimited).string("x"), 3, mapEntry(pb(), 3, INVALID_UTF8, utf8("v")).finish()).finish(),
    expect: invalid(/^scope\.params key: is not valid UTF-8/u),
  },
  {
    name: "invalid UTF-8 in response",
    method: "Store",
    message: bytesField(pb().tag(1, WireType.LengthDelimited).string("hi"), 2, INVALID_UTF8).finish(),
    expect: invalid(/^response: is not valid UTF-8/u),
  },
  {
    name: "invalid UTF-8 in a metadata key",
    method: "Store",
    message: mapEntry(pb().tag(1, WireType.LengthDelimited).string("hi").tag(2, WireType.LengthDelimited).string("x"), 5, INVALID_UTF8, utf8("v")).finish(),
    expect: invalid(/^metadata key: is not valid UTF-8/u),
  },
  {
    name: "invalid UTF-8 in a metadata value",
    method: "Store",
    message: mapEntry(pb().tag(1, WireType.LengthDelimited).string("hi").tag(2, WireType.LengthDelimited).string("x"), 5, utf8("k"), INVALID_UTF8).finish(),
    expect: invalid(/^metadata value: is not valid UTF-8/u),
  },
  {
    // protobuf-es would read this as the prompt "hello": the wire type must be checked, not trusted.
    name: "prompt with the wrong wire type (varint), followed by what looks like its text",
    method: "Lookup",
    message: pb().tag(1, WireType.Varint).uint32(5).raw(utf8("hello")).finish(),
    expect: invalid(/^prompt: has wire type 0 \(varint\), but the schema says 2 \(length-delimited\)$/u),
  },
  {
    name: "scope with the wrong wire type (32-bit)",
    method: "Lookup",
    message: pb().tag(1, WireType.LengthDelimited).string("hi").tag(2, WireType.Bit32).fixed32(7).finish(),
    expect: invalid(/^scope: has wire type 5 \(32-bit\), but the schema says 2 \(length-delimited\)$/u),
  },
  {
    name: "min_similarity with the wrong wire type (varint)",
    method: "Lookup",
    message: pb().tag(1, WireType.LengthDelimited).string("hi").tag(3, WireType.Varint).uint32(1).finish(),
    expect: invalid(/^min_similarity: has wire type 0 \(varint\), but the schema says 5 \(32-bit\)$/u),
  },
  {
    name: "ttl_seconds with the wrong wire type (length-delimited)",
    method: "Store",
    message: pb().tag(1, WireType.LengthDelimited).string("hi").tag(2, WireType.LengthDelimited).string("x").tag(4, WireType.LengthDelimited).string("forever").finish(),
    expect: invalid(/^ttl_seconds: has wire type 2 \(length-delimited\), but the schema says 0 \(varint\)$/u),
  },
  {
    name: "a negative length (varint -1) for prompt",
    method: "Lookup",
    message: pb().tag(1, WireType.LengthDelimited).int32(-1).raw(utf8("abc")).finish(),
    expect: invalid(/^prompt: its length of 4294967295 bytes runs past the end of the message \(3 bytes left\)$/u),
  },
  {
    name: "a negative length (varint -2) for scope",
    method: "Lookup",
    message: pb().tag(1, WireType.LengthDelimited).string("hi").tag(2, WireType.LengthDelimited).int32(-2).finish(),
    expect: invalid(/^scope: its length of 4294967294 bytes runs past the end of the message/u),
  },
  { name: "field number 0", method: "Lookup", message: Uint8Array.from([0x00, 0x01]), expect: invalid(/protobuf message: illegal tag: field no 0 wire type 0$/u) },
  {
    name: "a varint of 11 bytes for ttl_seconds",
    method: "Store",
    message: Uint8Array.from([0x20, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]),
    expect: invalid(/protobuf message: invalid varint$/u),
  },
  { name: "an end-group with no start", method: "Lookup", message: pb().tag(5, WireType.EndGroup).finish(), expect: invalid(/protobuf message: cant skip wire type 4$/u) },
  { name: "unknown groups nested 5,000 deep", method: "Lookup", message: nestedGroups(5000), expect: invalid(/protobuf message: maximum recursion depth reached$/u) },
];

const ODD_BUT_VALID_MESSAGES: readonly MessageCase[] = [
  {
    name: "unknown fields, one nested 2,000 deep",
    method: "Lookup",
    message: bytesField(pb().tag(1, WireType.LengthDelimited).string("hi").tag(1000, WireType.Varint).uint64(123n), 99, nestedUnknown(2000)).finish(),
    expect: accepted,
  },
  { name: "min_similarity = the smallest subnormal float", method: "Lookup", message: withMinSimilarityBits(1), expect: accepted },
  ...(
    [
      ["NaN", 0x7fc0_0000, "NaN"],
      ["a signalling NaN", 0x7f80_0001, "NaN"],
      ["+Infinity", 0x7f80_0000, "Infinity"],
      ["-Infinity", 0xff80_0000, "-Infinity"],
      ["-0.5", float32Bits(-0.5), "-0.5"],
      ["-0", 0x8000_0000, "0"],
      ["1.5", float32Bits(1.5), "1.5"],
    ] as const
  ).map(
    ([label, bits, shown]): MessageCase => ({
      name: `min_similarity = ${label} (raw float bits)`,
      method: "Lookup",
      message: withMinSimilarityBits(bits),
      expect: invalid(new RegExp(`^min_similarity: must be a number in \\(0, 1\\] \\(got ${shown.replace("+", "\\+")}\\)$`, "u")),
    }),
  ),
];

describe.each(MESSAGE_CARRIERS)("protobuf messages over $name", (carrier) => {
  it.each([...MALFORMED_MESSAGES, ...ODD_BUT_VALID_MESSAGES])("$name", async ({ method, message, expect: expected }) => {
    expectAnswer(await carrier.send(small.url, method, message), carrier.protocol, expected);
    await small.expectIntact(carrier.as);
  });
});

// ---------------------------------------------------------------------------
// Length-prefixed frames that lie, and the headers that describe them.

const FRAMED_MESSAGE = lookupBytes("Is this frame well formed?");
/** A prompt sent as a varint followed by what looks like its text. */
const WRONG_WIRE_PROMPT = pb().tag(1, WireType.Varint).uint32(5).raw(utf8("hello")).finish();
const GZIP_BOMB = gzipSync(Buffer.alloc(1024 * 1024));
// Exactly the limit: a prompt plus an unknown field padded to fill the rest.
const AT_LIMIT = (() => {
  const head = pb().tag(1, WireType.LengthDelimited).string("A message of exactly the limit").finish();
  const pad = (size: number): Uint8Array => bytesField(pb(), 99, new Uint8Array(size)).finish();
  const overhead = pad(SMALL_LIMIT).byteLength - SMALL_LIMIT;
  return Buffer.concat([head, pad(SMALL_LIMIT - head.byteLength - overhead)]);
})();

interface FrameCase {
  readonly name: string;
  readonly body: Uint8Array;
  readonly headers?: (carrier: FrameCarrier) => Record<string, string>;
  readonly expect: (carrier: FrameCarrier) => Expected;
}

const FRAME_CASES: readonly FrameCase[] = [
  {
    name: "a length prefix of 100 with 10 bytes after it",
    body: envelope(new Uint8Array(10), { claimedLength: 100 }),
    expect: () => invalid(/^protocol error: incomplete envelope: the body ended inside a message/u),
  },
  { name: "a 3-byte frame", body: Uint8Array.from([0, 0, 0]), expect: () => invalid(/^protocol error: incomplete envelope/u) },
  { name: "no frame at all", body: new Uint8Array(0), expect: () => unimplemented(/^protocol error: missing input message for (unary|server-streaming) method$/u) },
  {
    name: "two frames for a method that takes one message",
    body: Buffer.concat([envelope(FRAMED_MESSAGE), envelope(FRAMED_MESSAGE)]),
    expect: () => unimplemented(/^protocol error: received extra input message for (unary|server-streaming) method$/u),
  },
  {
    name: "the compressed flag without an encoding header",
    body: envelope(FRAMED_MESSAGE, { flags: COMPRESSED_FLAG }),
    expect: (c) => invalid(new RegExp(`^a message has the compressed flag set, but the request has no ${c.encodingHeader} header naming a compression$`, "u")),
  },
  {
    name: "an unknown encoding (snappy)",
    body: envelope(FRAMED_MESSAGE, { flags: COMPRESSED_FLAG }),
    headers: (c) => ({ [c.encodingHeader]: "snappy" }),
    expect: () => unimplemented(/^unknown compression "snappy": supported encodings are gzip,br$/u),
  },
  {
    name: "gzip named, bytes that are not gzip",
    body: envelope(FRAMED_MESSAGE, { flags: COMPRESSED_FLAG }),
    headers: (c) => ({ [c.encodingHeader]: "gzip" }),
    expect: () => invalid(/^decompression failed$/u),
  },
  {
    // Decompressed and checked like an uncompressed one: protobuf-es would read it as the prompt "hello".
    name: "a gzipped message whose prompt has the wrong wire type",
    body: envelope(gzipSync(WRONG_WIRE_PROMPT), { flags: COMPRESSED_FLAG }),
    headers: (c) => ({ [c.encodingHeader]: "gzip" }),
    expect: () => invalid(/^prompt: has wire type 0 \(varint\), but the schema says 2 \(length-delimited\)$/u),
  },
  {
    name: "a brotli-compressed message whose prompt has the wrong wire type",
    body: envelope(brotliCompressSync(WRONG_WIRE_PROMPT), { flags: COMPRESSED_FLAG }),
    headers: (c) => ({ [c.encodingHeader]: "br" }),
    expect: () => invalid(/^prompt: has wire type 0 \(varint\), but the schema says 2 \(length-delimited\)$/u),
  },
  {
    name: "a length prefix claiming 2 GiB",
    body: envelope(FRAMED_MESSAGE, { claimedLength: 2 ** 31 }),
    expect: () => exhausted(/^the request message is 2147483648 bytes, above the server's limit of 65536 bytes$/u),
  },
  {
    name: "one frame a byte over the limit",
    body: envelope(new Uint8Array(SMALL_LIMIT + 1)),
    expect: () => exhausted(/^the request message is 65537 bytes, above the server's limit of 65536 bytes$/u),
  },
  {
    name: "a gzip bomb (1 KiB that inflates to 1 MiB)",
    body: envelope(GZIP_BOMB, { flags: COMPRESSED_FLAG }),
    headers: (c) => ({ [c.encodingHeader]: "gzip" }),
    expect: () => exhausted(/^the request message decompresses to more than the server's limit of 65536 bytes$/u),
  },
  {
    name: "a malformed deadline header",
    body: envelope(FRAMED_MESSAGE),
    headers: (c) => ({ [c.timeout.header]: "soon" }),
    expect: (c) => invalid(new RegExp(`^protocol error: invalid ${c.timeout.name} timeout value: soon$`, "u")),
  },
];

describe.each(FRAME_CARRIERS)("frames over $name", (carrier) => {
  it.each(FRAME_CASES)("$name", async ({ body, headers, expect: expected }) => {
    expectAnswer(await carrier.send(small.url, body, headers?.(carrier)), carrier.protocol, expected(carrier));
    await small.expectIntact(carrier.as);
  });
});

describe.each(FRAME_CARRIERS.filter((carrier) => carrier.protocol !== "connect-stream"))("the limit itself over $name", (carrier) => {
  it("accepts a frame of exactly the limit", async () => {
    expectAnswer(await carrier.send(small.url, envelope(AT_LIMIT)), carrier.protocol, accepted);
    await small.expectIntact(carrier.as);
  });
});

// ---------------------------------------------------------------------------
// Content types, methods and paths.

interface RequestCase {
  readonly name: string;
  readonly protocol: WireProtocol;
  readonly as: Protocol;
  send(url: string): Promise<RawResponse>;
  readonly expect: Expected;
  /** Headers the answer must carry. */
  readonly answerHeaders?: Readonly<Record<string, RegExp>>;
}

const JSON_LOOKUP = utf8(JSON.stringify({ prompt: "What is the capital of France?", scope: { namespace: "wire-scratch" } }));
const UNARY_TYPES = /^application\/proto, application\/json, application\/grpc, application\/grpc\+proto, application\/grpc-web, application\/grpc-web\+proto$/u;

const REQUEST_CASES: readonly RequestCase[] = [
  {
    name: "a gRPC frame sent as application/json",
    protocol: "connect",
    as: "grpc",
    send: (url) => h2Request(url, { path: path("Lookup"), headers: { "content-type": "application/json", te: "trailers" }, body: envelope(FRAMED_MESSAGE) }),
    expect: invalid(/^cannot decode message semcache\.v1\.LookupRequest from JSON: /u),
  },
  {
    name: "a gRPC frame with no content type",
    protocol: "connect",
    as: "grpc",
    send: (url) => h2Request(url, { path: path("Lookup"), headers: { te: "trailers" }, body: envelope(FRAMED_MESSAGE) }),
    expect: { ...invalid(/^semcache\.v1\.SemanticCacheService\/Lookup is a unary method: send application\/proto or application\/json \(Connect\), .* not no content-type$/u), http: 415 },
    answerHeaders: { "accept-post": UNARY_TYPES },
  },
  {
    name: "Connect JSON sent as text/plain",
    protocol: "connect",
    as: "connect-h1",
    send: (url) => h1Request(url, { path: path("Lookup"), headers: { "content-type": "text/plain" }, body: JSON_LOOKUP }),
    expect: { ...invalid(/is a unary method: .* not content-type "text\/plain"$/u), http: 415 },
    answerHeaders: { "accept-post": UNARY_TYPES },
  },
  {
    name: "Connect JSON in a charset other than UTF-8",
    protocol: "connect",
    as: "connect-h1",
    send: (url) => h1Request(url, { path: path("Lookup"), headers: { "content-type": "application/json; charset=iso-8859-1" }, body: JSON_LOOKUP }),
    expect: { ...invalid(/not content-type "application\/json; charset=iso-8859-1"$/u), http: 415 },
  },
  {
    name: "Connect JSON sent as application/grpc-web",
    protocol: "grpc-web",
    as: "connect-h1",
    send: (url) => h1Request(url, { path: path("Lookup"), headers: { "content-type": "application/grpc-web" }, body: utf8("{}") }),
    expect: invalid(/^protocol error: incomplete envelope/u),
  },
  {
    name: "Connect JSON sent as application/grpc",
    protocol: "grpc",
    as: "connect-h2",
    send: (url) => h2Request(url, { path: path("Lookup"), headers: { "content-type": "application/grpc" }, body: utf8("{}") }),
    expect: invalid(/^protocol error: incomplete envelope/u),
  },
  {
    name: "gRPC-Web text",
    protocol: "grpc-web",
    as: "grpc-web",
    send: (url) => h1Request(url, { path: path("Lookup"), headers: { "content-type": "application/grpc-web-text" }, body: utf8(envelope(FRAMED_MESSAGE).toString("base64")) }),
    expect: unimplemented(/^gRPC-Web text \(application\/grpc-web-text\) is not supported: send application\/grpc-web\+proto$/u),
  },
  {
    name: "the unary Lookup called as a Connect stream",
    protocol: "connect",
    as: "connect-h1",
    send: (url) => h1Request(url, { path: path("Lookup"), headers: { "content-type": "application/connect+json" }, body: envelope(JSON_LOOKUP) }),
    expect: { ...invalid(/^semcache\.v1\.SemanticCacheService\/Lookup is a unary method: .* not content-type "application\/connect\+json"$/u), http: 415 },
  },
  {
    name: "the streaming AskStream called as Connect unary (JSON)",
    protocol: "connect",
    as: "connect-h1",
    send: (url) => h1Request(url, { path: path("AskStream"), headers: { "content-type": "application/json" }, body: JSON_LOOKUP }),
    expect: { ...invalid(/^semcache\.v1\.SemanticCacheService\/AskStream is a server-streaming method: send application\/connect\+proto or application\/connect\+json \(Connect\)/u), http: 415 },
    answerHeaders: { "accept-post": /^application\/connect\+proto, application\/connect\+json, application\/grpc/u },
  },
  {
    name: "the streaming AskStream called as Connect unary (proto), HTTP/2",
    protocol: "connect",
    as: "connect-h2",
    send: (url) => h2Request(url, { path: path("AskStream"), headers: { "content-type": "application/proto" }, body: FRAMED_MESSAGE }),
    expect: { ...invalid(/AskStream is a server-streaming method/u), http: 415 },
  },
  {
    name: "AskStream over gRPC with two request messages",
    protocol: "grpc",
    as: "grpc",
    send: (url) => h2Request(url, { path: path("AskStream"), headers: GRPC_HEADERS, body: Buffer.concat([envelope(FRAMED_MESSAGE), envelope(FRAMED_MESSAGE)]) }),
    expect: unimplemented(/^protocol error: received extra input message for server-streaming method$/u),
  },
  {
    name: "an unknown method over Connect",
    protocol: "connect",
    as: "connect-h1",
    send: (url) => h1Request(url, { path: path("Nope"), headers: { "content-type": "application/json" }, body: utf8("{}") }),
    expect: { ...unimplemented(/^unknown method "Nope" of service semcache\.v1\.SemanticCacheService$/u), http: 404 },
  },
  {
    name: "an unknown service over gRPC",
    protocol: "grpc",
    as: "grpc",
    send: (url) => h2Request(url, { path: "/nope.v1.Nothing/Lookup", headers: GRPC_HEADERS, body: envelope(FRAMED_MESSAGE) }),
    expect: unimplemented(/^unknown service "nope\.v1\.Nothing"$/u),
  },
  {
    name: "an unknown method over gRPC-Web",
    protocol: "grpc-web",
    as: "grpc-web",
    send: (url) => h1Request(url, { path: path("Nope"), headers: GRPC_WEB_HEADERS, body: envelope(FRAMED_MESSAGE) }),
    expect: unimplemented(/^unknown method "Nope" of service semcache\.v1\.SemanticCacheService$/u),
  },
  {
    name: "a path that is no route at all",
    protocol: "connect",
    as: "connect-h1",
    send: (url) => h1Request(url, { path: "/no/such/thing/here", method: "GET" }),
    expect: { code: "not_found", message: /^no such route$/u, http: 404 },
  },
  {
    name: "a Connect GET with a malformed message= query",
    protocol: "connect",
    as: "connect-h1",
    send: (url) => h1Request(url, { path: `${path("Stats")}?encoding=json&message=%7Bnope`, method: "GET" }),
    expect: { ...unimplemented(/^semcache\.v1\.SemanticCacheService\/Stats does not accept GET: Connect GET is only offered for side-effect-free methods, and this service has none$/u), http: 405 },
    answerHeaders: { allow: /^POST$/u },
  },
  {
    name: "a Connect GET with a well-formed message= query",
    protocol: "connect",
    as: "connect-h2",
    send: (url) => h2Request(url, { path: `${path("Lookup")}?encoding=json&message=${encodeURIComponent('{"prompt":"hi"}')}`, method: "GET" }),
    expect: { ...unimplemented(/^semcache\.v1\.SemanticCacheService\/Lookup does not accept GET/u), http: 405 },
  },
  {
    // Node refuses a request line and headers above 16 KiB before any route runs, whatever the message limit.
    name: "a Connect GET whose message= query is 70 KB",
    protocol: "connect",
    as: "connect-h1",
    send: (url) => h1Request(url, { path: `${path("Stats")}?encoding=json&message=${"a".repeat(70_000)}`, method: "GET" }),
    expect: { code: "", message: /^$/u, http: 431 },
  },
  {
    name: "a PUT",
    protocol: "connect",
    as: "connect-h1",
    send: (url) => h1Request(url, { path: path("Lookup"), method: "PUT", headers: { "content-type": "application/json" }, body: JSON_LOOKUP }),
    expect: { ...unimplemented(/^semcache\.v1\.SemanticCacheService\/Lookup does not accept PUT: RPCs are POST requests$/u), http: 405 },
  },
  {
    name: "a gRPC GET",
    protocol: "grpc",
    as: "grpc",
    send: (url) => h2Request(url, { path: path("Lookup"), method: "GET", headers: GRPC_HEADERS }),
    expect: unimplemented(/^semcache\.v1\.SemanticCacheService\/Lookup does not accept GET: RPCs are POST requests$/u),
  },
  {
    name: "garbage JSON over HTTP/2",
    protocol: "connect",
    as: "connect-h2",
    send: (url) => h2Request(url, { path: path("Lookup"), headers: { "content-type": "application/json" }, body: utf8('{"prompt": "unterminated') }),
    expect: invalid(/^cannot decode message semcache\.v1\.LookupRequest from JSON: /u),
  },
  {
    name: "a JSON array instead of an object",
    protocol: "connect",
    as: "connect-h1",
    send: (url) => h1Request(url, { path: path("Lookup"), headers: { "content-type": "application/json" }, body: utf8("[1, 2, 3]") }),
    expect: invalid(/^cannot decode message semcache\.v1\.LookupRequest from JSON: /u),
  },
  ...(["h1", "h2"] as const).map(
    (version): RequestCase => ({
      name: `invalid UTF-8 inside a JSON string (${version === "h1" ? "HTTP/1.1" : "HTTP/2"})`,
      protocol: "connect",
      as: version === "h1" ? "connect-h1" : "connect-h2",
      send: (url) =>
        (version === "h1" ? h1Request : h2Request)(url, {
          path: path("Store"),
          headers: { "content-type": "application/json" },
          body: Buffer.concat([utf8('{"prompt":"bad '), INVALID_UTF8, utf8('","response":"x","scope":{"namespace":"wire-scratch"}}')]),
        }),
      expect: invalid(/^the JSON request body is not valid UTF-8$/u),
    }),
  ),
  {
    name: "a JSON unknown field nested 60 deep (within SEMCACHE_MAX_JSON_DEPTH, ignored)",
    protocol: "connect",
    as: "connect-h1",
    send: (url) => h1Request(url, { path: path("Lookup"), headers: { "content-type": "application/json" }, body: utf8(`{"prompt":"deep","extra":${"[".repeat(60)}${"]".repeat(60)}}`) }),
    expect: accepted,
  },
  {
    name: "a JSON unknown field nested 10,000 deep (refused before parsing)",
    protocol: "connect",
    as: "connect-h1",
    send: (url) => h1Request(url, { path: path("Lookup"), headers: { "content-type": "application/json" }, body: utf8(`{"prompt":"deep","extra":${"[".repeat(10_000)}${"]".repeat(10_000)}}`) }),
    expect: invalid(/^the JSON request message nests arrays and objects deeper than the server's limit of 64 levels \(SEMCACHE_MAX_JSON_DEPTH\)$/u),
  },
  {
    name: "brackets inside JSON strings (not nesting)",
    protocol: "connect",
    as: "connect-h1",
    send: (url) => h1Request(url, { path: path("Lookup"), headers: { "content-type": "application/json" }, body: utf8(JSON.stringify({ prompt: `[{\"${"[".repeat(200)}` })) }),
    expect: accepted,
  },
  {
    name: "a malformed connect-timeout-ms",
    protocol: "connect",
    as: "connect-h1",
    send: (url) => h1Request(url, { path: path("Lookup"), headers: { "content-type": "application/json", "connect-timeout-ms": "soon" }, body: JSON_LOOKUP }),
    expect: invalid(/^protocol error: invalid connect timeout value: soon$/u),
  },
  {
    name: "an unknown Content-Encoding on Connect unary",
    protocol: "connect",
    as: "connect-h1",
    send: (url) => h1Request(url, { path: path("Lookup"), headers: { "content-type": "application/json", "content-encoding": "snappy" }, body: JSON_LOOKUP }),
    expect: unimplemented(/^unknown compression "snappy": supported encodings are gzip,br$/u),
  },
  {
    name: "a gzipped Connect unary message whose prompt has the wrong wire type",
    protocol: "connect",
    as: "connect-h1",
    send: (url) => h1Request(url, { path: path("Lookup"), headers: { "content-type": "application/proto", "content-encoding": "gzip" }, body: gzipSync(WRONG_WIRE_PROMPT) }),
    expect: invalid(/^prompt: has wire type 0 \(varint\), but the schema says 2 \(length-delimited\)$/u),
  },
  {
    name: "gzipped deep JSON (decompressed, then refused before parsing)",
    protocol: "connect",
    as: "connect-h1",
    send: (url) => h1Request(url, { path: path("Lookup"), headers: { "content-type": "application/json", "content-encoding": "gzip" }, body: gzipSync(`{"prompt":"x","extra":${"[".repeat(5_000)}${"]".repeat(5_000)}}`) }),
    expect: invalid(/^the JSON request message nests arrays and objects deeper than the server's limit of 64 levels/u),
  },
  {
    name: "Content-Encoding gzip on a body that is not gzip",
    protocol: "connect",
    as: "connect-h1",
    send: (url) => h1Request(url, { path: path("Lookup"), headers: { "content-type": "application/json", "content-encoding": "gzip" }, body: JSON_LOOKUP }),
    expect: invalid(/^decompression failed$/u),
  },
];

describe("content types, methods and paths", () => {
  it.each(REQUEST_CASES)("$name", async ({ protocol, as, send, expect: expected, answerHeaders }) => {
    const response = await send(small.url);
    expectAnswer(response, protocol, expected);
    for (const [name, value] of Object.entries(answerHeaders ?? {})) expect(response.headers[name]).toMatch(value);
    await small.expectIntact(as);
  });
});

// ---------------------------------------------------------------------------
// Bodies over the message limit (64 KiB on this server).

const OVERSIZED_JSON = utf8(JSON.stringify({ prompt: "a".repeat(SMALL_LIMIT + 10), scope: { namespace: "wire-scratch" } }));
const OVERSIZED_PROTO = lookupBytes("a".repeat(SMALL_LIMIT + 10));
const IN_PIECES = (bytes: Uint8Array): Uint8Array[] => [bytes.subarray(0, 1000), bytes.subarray(1000)];

const OVERSIZED_CASES: readonly RequestCase[] = [
  {
    name: "Connect JSON with Content-Length, HTTP/1.1",
    protocol: "connect",
    as: "connect-h1",
    send: (url) => h1Request(url, { path: path("Lookup"), headers: { "content-type": "application/json", "content-length": String(OVERSIZED_JSON.byteLength) }, body: OVERSIZED_JSON }),
    expect: exhausted(new RegExp(`^the request message is ${OVERSIZED_JSON.byteLength} bytes, above the server's limit of 65536 bytes$`, "u")),
  },
  {
    name: "Connect JSON chunked (no Content-Length), HTTP/1.1",
    protocol: "connect",
    as: "connect-h1",
    send: (url) => h1Request(url, { path: path("Lookup"), headers: { "content-type": "application/json" }, body: IN_PIECES(OVERSIZED_JSON) }),
    expect: exhausted(/^the request message is above the server's limit of 65536 bytes$/u),
  },
  {
    name: "Connect JSON with Content-Length, HTTP/2",
    protocol: "connect",
    as: "connect-h2",
    send: (url) => h2Request(url, { path: path("Lookup"), headers: { "content-type": "application/json", "content-length": String(OVERSIZED_JSON.byteLength) }, body: OVERSIZED_JSON }),
    expect: exhausted(/^the request message is \d+ bytes, above the server's limit of 65536 bytes$/u),
  },
  {
    name: "Connect JSON without Content-Length, HTTP/2",
    protocol: "connect",
    as: "connect-h2",
    send: (url) => h2Request(url, { path: path("Lookup"), headers: { "content-type": "application/json" }, body: IN_PIECES(OVERSIZED_JSON) }),
    expect: exhausted(/^the request message is above the server's limit of 65536 bytes$/u),
  },
  {
    name: "Connect proto, HTTP/1.1",
    protocol: "connect",
    as: "connect-h1",
    send: (url) => h1Request(url, { path: path("Lookup"), headers: { "content-type": "application/proto" }, body: IN_PIECES(OVERSIZED_PROTO) }),
    expect: exhausted(/above the server's limit of 65536 bytes$/u),
  },
  {
    name: "a Content-Length of 5 GB on a 2-byte body",
    protocol: "connect",
    as: "connect-h1",
    send: (url) => h1Request(url, { path: path("Lookup"), headers: { "content-type": "application/json", "content-length": "5000000000" }, body: utf8("{}") }),
    expect: exhausted(/^the request message is 5000000000 bytes, above the server's limit of 65536 bytes$/u),
  },
  {
    name: "a gzip bomb as Connect unary",
    protocol: "connect",
    as: "connect-h1",
    send: (url) => h1Request(url, { path: path("Lookup"), headers: { "content-type": "application/json", "content-encoding": "gzip" }, body: GZIP_BOMB }),
    expect: exhausted(/^the request message decompresses to more than the server's limit of 65536 bytes$/u),
  },
  {
    name: "gRPC, in a frame that says so",
    protocol: "grpc",
    as: "grpc",
    send: (url) => h2Request(url, { path: path("Lookup"), headers: GRPC_HEADERS, body: envelope(OVERSIZED_PROTO) }),
    expect: exhausted(new RegExp(`^the request message is ${OVERSIZED_PROTO.byteLength} bytes, above the server's limit of 65536 bytes$`, "u")),
  },
  {
    name: "gRPC-Web, in a frame that says so",
    protocol: "grpc-web",
    as: "grpc-web",
    send: (url) => h1Request(url, { path: path("Lookup"), headers: GRPC_WEB_HEADERS, body: envelope(OVERSIZED_PROTO) }),
    expect: exhausted(new RegExp(`^the request message is ${OVERSIZED_PROTO.byteLength} bytes, above the server's limit of 65536 bytes$`, "u")),
  },
];

describe("messages over the limit", () => {
  it.each(OVERSIZED_CASES)("$name", async ({ protocol, as, send, expect: expected }) => {
    expectAnswer(await send(small.url), protocol, expected);
    await small.expectIntact(as);
  });

  it("answers an HTTP/1.1 chunked body that never ends, then closes the connection", async () => {
    const chunk = Buffer.alloc(16 * 1024, 0x61);
    const outcome = await new Promise<{ status: number; body: string; sent: number }>((resolve, reject) => {
      const req = http1Request(`${small.url}${path("Lookup")}`, { method: "POST", headers: { "content-type": "application/json", "transfer-encoding": "chunked" }, agent: false });
      let status = 0;
      let body = "";
      let sent = 0;
      const timer = setTimeout(() => {
        req.destroy();
        reject(new Error(`the server was still reading after ${sent} bytes`));
      }, 45_000);
      const pump = (): void => {
        while (!req.destroyed && req.write(chunk)) sent += chunk.byteLength;
        if (!req.destroyed) req.once("drain", pump);
      };
      req.on("response", (res) => {
        status = res.statusCode ?? 0;
        res.on("data", (data: Buffer) => (body += data.toString("utf8")));
      });
      // The server hangs up on a body it will not read: for this client that is the end, not a failure.
      req.on("error", () => undefined);
      req.on("close", () => {
        clearTimeout(timer);
        resolve({ status, body, sent });
      });
      req.write('{"prompt":"');
      pump();
    });
    expect(outcome.status).toBe(429);
    expect(JSON.parse(outcome.body)).toEqual({ code: "resource_exhausted", message: "the request message is above the server's limit of 65536 bytes" });
    await small.expectIntact("connect-h1");
  });

  it("answers an HTTP/2 body that never ends, then resets the stream with NO_ERROR", async () => {
    const chunk = Buffer.alloc(16 * 1024, 0x61);
    const session = http2Connect(small.url);
    try {
      const outcome = await new Promise<{ status: number; body: string; rstCode: number | undefined }>((resolve, reject) => {
        const stream = session.request({ ":method": "POST", ":path": path("Lookup"), "content-type": "application/json" });
        let status = 0;
        let body = "";
        const pump = (): void => {
          while (!stream.closed && stream.write(chunk));
          if (!stream.closed) stream.once("drain", pump);
        };
        stream.on("response", (headers) => (status = Number(headers[":status"])));
        stream.on("data", (data: Buffer) => (body += data.toString("utf8")));
        stream.on("error", () => undefined);
        // The client's own "close" waits for writes the server will never take; RST_STREAM marks the stream closed at once.
        const watch = setInterval(() => {
          if (!stream.closed) return;
          clearInterval(watch);
          clearTimeout(timer);
          resolve({ status, body, rstCode: stream.rstCode });
        }, 20);
        const timer = setTimeout(() => {
          clearInterval(watch);
          reject(new Error("the server kept the endless stream open"));
        }, 45_000);
        stream.write('{"prompt":"');
        pump();
      });
      expect(outcome.status).toBe(429);
      expect(JSON.parse(outcome.body)).toEqual({ code: "resource_exhausted", message: "the request message is above the server's limit of 65536 bytes" });
      expect(outcome.rstCode).toBe(h2constants.NGHTTP2_NO_ERROR);
    } finally {
      session.destroy();
    }
    await small.expectIntact("connect-h2");
  });
});

// ---------------------------------------------------------------------------
// Absurd field values in well-formed messages (11 MiB message limit, so they reach validation).

async function rejection(call: Promise<unknown>): Promise<{ code: string; message: string }> {
  const error = await call.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error, "the call should have failed").toBeInstanceOf(ConnectError);
  const connectError = error as ConnectError;
  return { code: Code[connectError.code], message: connectError.rawMessage };
}

describe.each(PROTOCOLS)("absurd field values through the generated client over %s", (protocol) => {
  const scratch = { namespace: `wire-absurd-${protocol}` };

  it("rejects 100,000 metadata entries, naming the limit", async () => {
    const metadata = Object.fromEntries(Array.from({ length: 100_000 }, (_, i) => [`key-${i}`, "v"]));
    const outcome = await rejection(clientFor(protocol, roomy.url).store({ prompt: "Too much metadata", response: "x", scope: scratch, metadata }));
    expect(outcome).toEqual({ code: "InvalidArgument", message: "metadata: has 100000 entries, above the limit of 64" });
    await roomy.expectIntact(protocol);
  });

  it("rejects 10,000 scope params, naming the limit", async () => {
    const params = Object.fromEntries(Array.from({ length: 10_000 }, (_, i) => [`param-${i}`, "v"]));
    const outcome = await rejection(clientFor(protocol, roomy.url).lookup({ prompt: "Too many params", scope: { ...scratch, params } }));
    expect(outcome).toEqual({ code: "InvalidArgument", message: "scope.params: at most 64 entries are allowed" });
    await roomy.expectIntact(protocol);
  });

  it("rejects a 10 MB prompt inside the message limit, naming the prompt limit", async () => {
    const prompt = "a".repeat(10 * 1024 * 1024);
    const outcome = await rejection(clientFor(protocol, roomy.url).store({ prompt, response: "x", scope: scratch }));
    expect(outcome).toEqual({ code: "InvalidArgument", message: "prompt: is 10485760 bytes, above the limit of 65536 bytes" });
    await roomy.expectIntact(protocol);
  });

  it("stores with ttl_seconds = 2^32 - 1, expiring in 136 years", async () => {
    const client = clientFor(protocol, roomy.url);
    const before = Date.now();
    const stored = await client.store({ prompt: "Keep this for a very long time", response: "ok", scope: scratch, ttlSeconds: 4_294_967_295 });
    const expiresMs = stored.expiresAt === undefined ? 0 : timestampMs(stored.expiresAt);
    expect(expiresMs - before).toBeGreaterThanOrEqual(4_294_967_295 * 1000);
    const found = await client.lookup({ prompt: "Keep this for a very long time", scope: scratch });
    expect(found.entry?.id).toBe(stored.id);
    expect((await client.flush({ namespace: scratch.namespace })).deleted).toBe(1n);
    await roomy.expectIntact(protocol);
  });
});

describe("absurd field values in raw JSON", () => {
  const store = (fields: Record<string, unknown>): Promise<RawResponse> =>
    h1Request(roomy.url, {
      path: path("Store"),
      headers: { "content-type": "application/json" },
      body: utf8(JSON.stringify({ prompt: "An absurd store", response: "x", scope: { namespace: "wire-scratch" }, ...fields })),
    });
  const lookup = (fields: Record<string, unknown>): Promise<RawResponse> =>
    h1Request(roomy.url, {
      path: path("Lookup"),
      headers: { "content-type": "application/json" },
      body: utf8(JSON.stringify({ prompt: "An absurd lookup", scope: { namespace: "wire-scratch" }, ...fields })),
    });

  it.each([
    { name: "ttlSeconds = 2^32", send: () => store({ ttlSeconds: 4_294_967_296 }), message: /^cannot decode field semcache\.v1\.StoreRequest\.ttl_seconds from JSON: expected number \(uint32\): 4294967296 out of range$/u },
    { name: "ttlSeconds = -1", send: () => store({ ttlSeconds: -1 }), message: /ttl_seconds from JSON: expected number \(uint32\): -1 out of range$/u },
    { name: "ttlSeconds = 1.5", send: () => store({ ttlSeconds: 1.5 }), message: /ttl_seconds from JSON: expected number \(uint32\), got 1\.5$/u },
    { name: 'minSimilarity = "NaN"', send: () => lookup({ minSimilarity: "NaN" }), message: /^min_similarity: must be a number in \(0, 1\] \(got NaN\)$/u },
    { name: 'minSimilarity = "-Infinity"', send: () => lookup({ minSimilarity: "-Infinity" }), message: /^min_similarity: must be a number in \(0, 1\] \(got -Infinity\)$/u },
    { name: "minSimilarity = 1e39 (beyond float32)", send: () => lookup({ minSimilarity: 1e39 }), message: /min_similarity from JSON: expected number \(float32\): 1e\+39 out of range$/u },
    { name: "an empty scope.params key", send: () => lookup({ scope: { namespace: "wire-scratch", params: { "": "v" } } }), message: /^scope\.params: key "" must be 1 to 128 printable characters$/u },
  ])("rejects $name", async ({ send, message }) => {
    expectAnswer(await send(), "connect", invalid(message));
    await roomy.expectIntact("connect-h1");
  });
});

// ---------------------------------------------------------------------------
// Broken HTTP below the RPC layer.

describe("broken HTTP", () => {
  const LOOKUP_PATH = path("Lookup");
  const JSON_BODY = '{"prompt":"hi"}';
  const httpRequest = (head: string): string => `POST ${LOOKUP_PATH} ${head}\r\ncontent-type: application/json\r\ncontent-length: ${JSON_BODY.length}\r\n\r\n${JSON_BODY}`;

  it.each([
    { name: "garbage before the request line", bytes: `\u0000\u0001\u0002garbage\r\n${httpRequest("HTTP/1.1\r\nhost: x")}`, status: /^HTTP\/1\.1 400 Bad Request\r\n/u, body: /^$/u },
    { name: "an HTTP/1.0 request with no Host", bytes: httpRequest("HTTP/1.0"), status: /^HTTP\/1\.1 400 /u, body: /"message":"the request has no usable Host header \(HTTP\/1\.1\) or :authority \(HTTP\/2\)"/u },
    { name: "a Host that cannot be part of a URL", bytes: httpRequest("HTTP/1.1\r\nhost: [::1"), status: /^HTTP\/1\.1 400 /u, body: /"code":"invalid_argument","message":"the request has no usable Host/u },
    { name: "an empty Host", bytes: httpRequest("HTTP/1.1\r\nhost:"), status: /^HTTP\/1\.1 400 /u, body: /no usable Host/u },
    {
      name: "a chunk size that is not hex",
      bytes: `POST ${LOOKUP_PATH} HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n`,
      status: /^HTTP\/1\.1 400 Bad Request\r\n/u,
      body: /^$/u,
    },
  ])("answers $name with 400 and closes", async ({ bytes, status, body }) => {
    const exchange = await tcpExchange(small.port, bytes, 10_000);
    expect(exchange.closedByServer).toBe(true);
    const text = exchange.received.toString("latin1");
    expect(text).toMatch(status);
    expect(text.slice(text.indexOf("\r\n\r\n") + 4)).toMatch(body);
    await small.expectIntact("connect-h1");
  });

  it("answers an HTTP/2 request whose :authority cannot be part of a URL with 400, on that stream only", async () => {
    const headers = hpackLiterals([
      [":method", "POST"],
      [":scheme", "http"],
      [":authority", "[::1"],
      [":path", LOOKUP_PATH],
      ["content-type", "application/json"],
    ]);
    const bytes = Buffer.concat([
      H2_PREFACE,
      http2Frame(H2_FRAME.SETTINGS, 0, 0, new Uint8Array(0)),
      http2Frame(H2_FRAME.HEADERS, 0x4 /* END_HEADERS */, 1, headers),
      http2Frame(H2_FRAME.DATA, 0x1 /* END_STREAM */, 1, utf8(JSON_BODY)),
    ]);
    const frames = parseHttp2Frames((await tcpExchange(small.port, bytes, 3_000)).received);
    expect(frames.some((f) => f.type === H2_FRAME.HEADERS && f.streamId === 1)).toBe(true);
    const data = Buffer.concat(frames.filter((f) => f.type === H2_FRAME.DATA && f.streamId === 1).map((f) => f.payload)).toString("utf8");
    expect(JSON.parse(data)).toEqual({ code: "invalid_argument", message: "the request has no usable Host header (HTTP/1.1) or :authority (HTTP/2)" });
    expect(frames.some((f) => f.type === H2_FRAME.GOAWAY)).toBe(false);
    await small.expectIntact("connect-h2");
  });

  it("answers a garbage HTTP/2 connection preface with GOAWAY(PROTOCOL_ERROR) and closes", async () => {
    const exchange = await tcpExchange(small.port, "PRI * HTTP/2.0\r\n\r\nXX\r\n\r\ngarbage-garbage-garbage", 10_000);
    expect(exchange.closedByServer).toBe(true);
    const goaway = parseHttp2Frames(exchange.received).find((f) => f.type === H2_FRAME.GOAWAY);
    expect(goaway, "a GOAWAY frame").toBeDefined();
    const PROTOCOL_ERROR = 0x1;
    expect(goaway?.payload.readUInt32BE(4)).toBe(PROTOCOL_ERROR);
    expect(goaway?.payload.subarray(8).toString("utf8")).toBe("invalid HTTP/2 connection preface");
    await small.expectIntact("connect-h2");
  });

  it("keeps serving while a connection sits on half an HTTP/2 preface", async () => {
    const stalled = tcpExchange(small.port, H2_PREFACE.subarray(0, 12), 2_000);
    await small.expectIntact("grpc");
    await small.expectIntact("connect-h2");
    const exchange = await stalled;
    // Nothing is sent until the whole preface is in: the server never mistook it for a request.
    expect(exchange.received.byteLength).toBe(0);
  });
});

describe("the protocol dispatcher's preface timeout", () => {
  it("closes a connection that sends half an HTTP/2 preface, or nothing, and serves whole ones", async () => {
    const ok = (_req: unknown, res: { end(text: string): void }): void => res.end("ok");
    const http1 = createHttp1Server(ok);
    const http2 = createHttp2Server(ok);
    const tcp = createProtocolDispatcher(http1, http2, { prefaceTimeoutMs: 300 });
    tcp.listen(0, "127.0.0.1");
    await once(tcp, "listening");
    const { port } = tcp.address() as AddressInfo;
    try {
      const half = await tcpExchange(port, H2_PREFACE.subarray(0, 12), 20_000);
      expect(half).toEqual({ received: Buffer.alloc(0), closedByServer: true });
      const silent = await tcpExchange(port, "", 20_000);
      expect(silent.closedByServer).toBe(true);
      expect((await h2Request(`http://127.0.0.1:${port}`, { path: "/", method: "GET" })).body.toString()).toBe("ok");
      expect((await h1Request(`http://127.0.0.1:${port}`, { path: "/", method: "GET" })).body.toString()).toBe("ok");
    } finally {
      await new Promise<void>((resolve) => tcp.close(() => resolve()));
      http1.closeAllConnections();
      http2.close();
    }
  });
});
