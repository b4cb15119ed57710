import type { DescMessage } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import type { UniversalServerRequest } from "@connectrpc/connect/protocol";
import { diagnoseProtobuf } from "./proto-diagnosis.js";

const ENVELOPE_HEADER_BYTES = 5;
const COMPRESSED_FLAG = 0b0000_0001;

/**
 * Checks every binary request message against its schema before connect-es
 * decodes it, and fails the call with INVALID_ARGUMENT naming the field.
 *
 * protobuf-es reads a known field whatever its wire type: `prompt` sent as a
 * varint followed by five bytes decodes as a five-letter prompt, so a
 * malformed request could be stored as something its sender never meant.
 * The check withholds the chunk that completes a message until that message
 * has passed, so a bad one never reaches the decoder or the method.
 * Compressed messages are left to the decoder (whose errors client-faults.ts
 * makes readable), as is anything above `maxMessageBytes`, which connect-es
 * refuses on its length alone.
 */
export function guardBinaryRequest(request: UniversalServerRequest, input: DescMessage, maxMessageBytes: number): UniversalServerRequest {
  const body = request.body;
  if (body === null || typeof body !== "object" || !(Symbol.asyncIterator in body)) return request;
  const contentType = (request.header.get("content-type") ?? "").toLowerCase();
  const check = (message: Uint8Array): void => {
    const problem = diagnoseProtobuf(input, message);
    if (problem !== undefined) throw new ConnectError(problem, Code.InvalidArgument);
  };
  const bytes = body as AsyncIterable<Uint8Array>;
  if (contentType === "application/proto") {
    const encoding = request.header.get("content-encoding");
    if (encoding !== null && encoding !== "identity") return request;
    return { ...request, body: checkWholeBody(bytes, check, maxMessageBytes) };
  }
  const enveloped = /^application\/(?:grpc(?:\+proto)?|grpc-web(?:\+proto)?|connect\+proto)$/u.test(contentType);
  return enveloped ? { ...request, body: checkEnvelopes(bytes, check, maxMessageBytes) } : request;
}

/** Connect unary: the body is the message; checked once it has all arrived, before the decoder hears it ended. */
async function* checkWholeBody(body: AsyncIterable<Uint8Array>, check: (message: Uint8Array) => void, maxBytes: number): AsyncIterable<Uint8Array> {
  let chunks: Uint8Array[] | undefined = [];
  let size = 0;
  for await (const chunk of body) {
    if (chunks !== undefined) {
      chunks.push(chunk);
      size += chunk.byteLength;
      // Too big: connect-es refuses it anyway, and keeping it would double what a huge body costs.
      if (size > maxBytes) chunks = undefined;
    }
    yield chunk;
  }
  if (chunks !== undefined) check(Buffer.concat(chunks));
}

/** gRPC, gRPC-Web, Connect streams: each length-prefixed message is checked as soon as it is whole. */
async function* checkEnvelopes(body: AsyncIterable<Uint8Array>, check: (message: Uint8Array) => void, maxBytes: number): AsyncIterable<Uint8Array> {
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
        if ((head.flags & COMPRESSED_FLAG) === 0) check(joined.subarray(ENVELOPE_HEADER_BYTES, ENVELOPE_HEADER_BYTES + head.length));
        const rest = joined.subarray(ENVELOPE_HEADER_BYTES + head.length);
        buffered = rest.byteLength > 0 ? [rest] : [];
        size = rest.byteLength;
        head = undefined;
      }
    }
    yield chunk;
  }
}
