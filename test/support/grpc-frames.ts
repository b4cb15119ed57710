import { BinaryWriter, WireType } from "@bufbuild/protobuf/wire";

/**
 * Builders for the bytes a well-behaved client would never send: gRPC /
 * gRPC-Web / Connect-streaming envelopes with lying length prefixes, and
 * protobuf messages with invalid UTF-8, raw float bits or wrong wire types.
 * The generated clients cannot produce any of these, which is the point.
 */

/** The envelope flag of a compressed message (all three protocols). */
export const COMPRESSED_FLAG = 0x01;
/** The envelope flag of a gRPC-Web trailer frame. */
export const GRPC_WEB_TRAILER_FLAG = 0x80;

/**
 * One length-prefixed message: flags byte, 4-byte big-endian length, payload.
 * `claimedLength` overrides the length prefix, so it can promise more (or
 * less) than the payload holds.
 */
export function envelope(payload: Uint8Array, options: { flags?: number; claimedLength?: number } = {}): Buffer {
  const head = Buffer.alloc(5);
  head.writeUInt8(options.flags ?? 0, 0);
  head.writeUInt32BE(options.claimedLength ?? payload.byteLength, 1);
  return Buffer.concat([head, payload]);
}

/** A gRPC-Web response body split into its messages and its trailer frame. */
export interface GrpcWebBody {
  readonly messages: readonly Buffer[];
  /** The trailer frame's fields (lower-case names); empty when there was none. */
  readonly trailers: Readonly<Record<string, string>>;
}

/** One 5-byte-prefixed envelope of a response body (gRPC, gRPC-Web, Connect streams). */
export interface Envelope {
  readonly flags: number;
  readonly data: Buffer;
}

/** Splits a body into its envelopes; a truncated last one is cut to the bytes there are. */
export function splitEnvelopes(body: Buffer): Envelope[] {
  const envelopes: Envelope[] = [];
  let offset = 0;
  while (offset + 5 <= body.length) {
    const flags = body.readUInt8(offset);
    const length = body.readUInt32BE(offset + 1);
    envelopes.push({ flags, data: body.subarray(offset + 5, offset + 5 + length) });
    offset += 5 + length;
  }
  return envelopes;
}

/** Splits a gRPC-Web (binary) response body into messages and trailers. */
export function parseGrpcWebBody(body: Buffer): GrpcWebBody {
  const messages: Buffer[] = [];
  const trailers: Record<string, string> = {};
  for (const { flags, data } of splitEnvelopes(body)) {
    if ((flags & GRPC_WEB_TRAILER_FLAG) === 0) {
      messages.push(data);
      continue;
    }
    for (const line of data.toString("utf8").split("\r\n")) {
      const colon = line.indexOf(":");
      if (colon > 0) trailers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
    }
  }
  return { messages, trailers };
}

/** The raw IEEE-754 bits of a float32, as an unsigned 32-bit integer. */
export function float32Bits(value: number): number {
  const view = new DataView(new ArrayBuffer(4));
  view.setFloat32(0, value, true);
  return view.getUint32(0, true);
}

/** A length-delimited field holding `bytes` as they are (a string field with any bytes, valid UTF-8 or not). */
export function bytesField(writer: BinaryWriter, fieldNo: number, bytes: Uint8Array): BinaryWriter {
  return writer.tag(fieldNo, WireType.LengthDelimited).bytes(bytes);
}

/** A map<string, string> entry whose key and value are raw bytes. */
export function mapEntry(writer: BinaryWriter, fieldNo: number, key: Uint8Array, value: Uint8Array): BinaryWriter {
  const entry = new BinaryWriter();
  bytesField(entry, 1, key);
  bytesField(entry, 2, value);
  return bytesField(writer, fieldNo, entry.finish());
}

/** UTF-8 bytes of a text. */
export function utf8(text: string): Uint8Array {
  return new TextEncoder().encode(text);
}

/** Bytes that are not UTF-8: a lone continuation byte, an overlong "/" and a truncated sequence. */
export const INVALID_UTF8 = Uint8Array.from([0x68, 0x69, 0x80, 0xc0, 0xaf, 0xe2, 0x82]);

export { BinaryWriter, WireType };
