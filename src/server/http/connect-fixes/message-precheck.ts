import type { DescMessage } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { compressionBrotli, compressionGzip } from "@connectrpc/connect-node";
import type { Compression, UniversalServerRequest } from "@connectrpc/connect/protocol";
import { JsonDepthScanner } from "./json-depth.js";
import { diagnoseProtobuf } from "./proto-diagnosis.js";

const ENVELOPE_HEADER_BYTES = 5;
const COMPRESSED_FLAG = 0b0000_0001;
/** The compressions the router accepts (request-handler.ts), by the name a request gives. */
const DECOMPRESSORS: ReadonlyMap<string, Compression> = new Map([compressionGzip, compressionBrotli].map((c) => [c.name, c]));

/** What the precheck holds every request message to. */
export interface MessagePrecheckOptions {
  /** Messages above it are left to connect-es, which refuses them on their length alone. */
  readonly maxMessageBytes: number;
  /** Deepest nesting of arrays and objects in a JSON message (SEMCACHE_MAX_JSON_DEPTH). */
  readonly maxJsonDepth: number;
}

/** The request's codec and framing, from its content type; undefined for types connect-es refuses anyway. */
function shapeOf(contentType: string): { codec: "proto" | "json"; enveloped: boolean; encodingHeader: string } | undefined {
  const type = (contentType.split(";", 1)[0] ?? "").trim().toLowerCase();
  if (type === "application/proto") return { codec: "proto", enveloped: false, encodingHeader: "content-encoding" };
  if (type === "application/json") return { codec: "json", enveloped: false, encodingHeader: "content-encoding" };
  const envelope = /^application\/(grpc|grpc-web|connect)(?:\+(proto|json))?$/u.exec(type);
  if (envelope === null) return undefined;
  const [, protocol, codec = "proto"] = envelope;
  if (protocol === "connect" && envelope[2] === undefined) return undefined;
  return { codec: codec as "proto" | "json", enveloped: true, encodingHeader: protocol === "connect" ? "connect-content-encoding" : "grpc-encoding" };
}

/**
 * Checks every request message before connect-es decodes it, and fails the
 * call with INVALID_ARGUMENT when one is malformed in a way the decoder
 * would let through or choke on:
 *
 * - binary (protobuf): protobuf-es reads a known field whatever its wire
 *   type (`prompt` sent as a varint followed by five bytes decodes as a
 *   five-letter prompt), so a malformed request could be stored as
 *   something its sender never meant. proto-diagnosis.ts walks the message
 *   and names the field whose wire type, length or UTF-8 is wrong.
 * - JSON: nesting deeper than `maxJsonDepth` is refused by a byte scan
 *   before the recursive parser sees it (json-depth.ts).
 *
 * Compressed messages (gzip, br) are decompressed first, within
 * `maxMessageBytes` as connect-es does, and checked the same way. The chunk
 * that completes a message is withheld until that message has passed, so a
 * bad one never reaches the decoder or the method. Anything connect-es
 * refuses on its own (a message above `maxMessageBytes`, an unknown
 * compression, a decompression bomb, an unsupported content type) is left to
 * it, and client-faults.ts makes its words readable.
 */
export function precheckRequestMessages(request: UniversalServerRequest, input: DescMessage, options: MessagePrecheckOptions): UniversalServerRequest {
  const body = request.body;
  if (body === null || typeof body !== "object" || !(Symbol.asyncIterator in body)) return request;
  const shape = shapeOf(request.header.get("content-type") ?? "");
  if (shape === undefined) return request;
  const encoding = request.header.get(shape.encodingHeader);
  const compression = encoding === null || encoding === "identity" ? null : DECOMPRESSORS.get(encoding.toLowerCase());
  // An unknown compression: connect-es refuses the call with its own message.
  if (compression === undefined) return request;
  const jsonTooDeep = (): ConnectError =>
    new ConnectError(
      `the JSON request message nests arrays and objects deeper than the server's limit of ${options.maxJsonDepth} levels (SEMCACHE_MAX_JSON_DEPTH)`,
      Code.InvalidArgument,
    );
  const check = async (message: Uint8Array, compressed: boolean): Promise<void> => {
    let plain = message;
    if (compressed) {
      // A compressed flag without a compression named is connect-es's to refuse (client-faults.ts words it).
      if (compression === null) return;
      try {
        plain = await compression.decompress(message, options.maxMessageBytes);
      } catch {
        // Corrupt or too large once inflated: connect-es fails the call itself, in the words client-faults.ts expects.
        return;
      }
    }
    if (shape.codec === "json") {
      if (new JsonDepthScanner(options.maxJsonDepth).tooDeep(plain)) throw jsonTooDeep();
      return;
    }
    const problem = diagnoseProtobuf(input, plain);
    if (problem !== undefined) throw new ConnectError(problem, Code.InvalidArgument);
  };
  const bytes = body as AsyncIterable<Uint8Array>;
  if (shape.enveloped) return { ...request, body: checkEnvelopes(bytes, check, options.maxMessageBytes) };
  // Plain JSON is scanned as it arrives, so a deep body is refused without being read to its end.
  const scanner = shape.codec === "json" && compression === null ? new JsonDepthScanner(options.maxJsonDepth) : undefined;
  const onChunk = scanner === undefined ? undefined : (chunk: Uint8Array): void => {
    if (scanner.tooDeep(chunk)) throw jsonTooDeep();
  };
  const whole = scanner === undefined ? (message: Uint8Array) => check(message, compression !== null) : async (): Promise<void> => undefined;
  return { ...request, body: checkWholeBody(bytes, whole, options.maxMessageBytes, onChunk) };
}

/** Connect unary: the body is the message; checked once it has all arrived, before the decoder hears it ended. */
async function* checkWholeBody(
  body: AsyncIterable<Uint8Array>,
  check: (message: Uint8Array) => Promise<void>,
  maxBytes: number,
  onChunk?: (chunk: Uint8Array) => void,
): AsyncIterable<Uint8Array> {
  let chunks: Uint8Array[] | undefined = [];
  let size = 0;
  for await (const chunk of body) {
    onChunk?.(chunk);
    if (chunks !== undefined) {
      chunks.push(chunk);
      size += chunk.byteLength;
      // Too big: connect-es refuses it anyway, and keeping it would double what a huge body costs.
      if (size > maxBytes) chunks = undefined;
    }
    yield chunk;
  }
  if (chunks !== undefined) await check(Buffer.concat(chunks));
}

/** gRPC, gRPC-Web, Connect streams: each length-prefixed message is checked as soon as it is whole. */
async function* checkEnvelopes(
  body: AsyncIterable<Uint8Array>,
  check: (message: Uint8Array, compressed: boolean) => Promise<void>,
  maxBytes: number,
): AsyncIterable<Uint8Array> {
  let buffered: Buffer[] = [];
  let size = 0;
  let head: { flags: number; length: number } | undefined;
  let passThrough = false;
  for await (const chunk of body) {
    if (!passThrough) {
      buffered.push(Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength));
      size += chunk.byteLength;
      for (;;) {
        if (head === undefined) {
          if (size < ENVELOPE_HEADER_BYTES) break;
          const joined = Buffer.concat(buffered);
          buffered = [joined];
          head = { flags: joined.readUInt8(0), length: joined.readUInt32BE(1) };
          if (head.length > maxBytes) {
            passThrough = true;
            buffered = [];
            break;
          }
        }
        if (size < ENVELOPE_HEADER_BYTES + head.length) break;
        const joined = buffered.length === 1 && buffered[0] !== undefined ? buffered[0] : Buffer.concat(buffered);
        const message = joined.subarray(ENVELOPE_HEADER_BYTES, ENVELOPE_HEADER_BYTES + head.length);
        await check(message, (head.flags & COMPRESSED_FLAG) !== 0);
        const rest = joined.subarray(ENVELOPE_HEADER_BYTES + head.length);
        buffered = rest.byteLength > 0 ? [rest] : [];
        size = rest.byteLength;
        head = undefined;
      }
    }
    yield chunk;
  }
}
