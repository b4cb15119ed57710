import type { DescMethod } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import {
  encodeEnvelope,
  type UniversalHandler,
  type UniversalHandlerFn,
  type UniversalServerRequest,
  type UniversalServerResponse,
} from "@connectrpc/connect/protocol";
import { codeToHttpStatus, endStreamFlag, endStreamFromJson, endStreamToJson, errorFromJsonBytes, errorToJsonBytes } from "@connectrpc/connect/protocol-connect";
import { findTrailerError, setTrailerStatus } from "@connectrpc/connect/protocol-grpc";
import { trailerFlag, trailerParse, trailerSerialize } from "@connectrpc/connect/protocol-grpc-web";
import { precheckRequestMessages, type MessagePrecheckOptions } from "./message-precheck.js";
import { protocolOf, rpcErrorResponse, type RpcProtocol } from "../rpc-errors.js";

/*
 * connect-es answers some client mistakes as if they were the server's:
 * undecodable protobuf is INTERNAL ("parse binary: premature EOF"), so is a
 * message flagged compressed without an encoding; an unsupported content
 * type or HTTP method is a bare 415 / 405 that gRPC clients read as UNKNOWN.
 * A client that sees INTERNAL retries or pages someone; one that sees
 * INVALID_ARGUMENT fixes its request. This module rewrites those answers,
 * in the request's own protocol, with a message that names the problem
 * (and has message-precheck.ts name the bad field of a binary message, or
 * refuse a JSON one nested too deeply, before connect-es decodes it).
 * It matches connect-es's own messages, so the wire tests
 * (test/server/bad-input-wire.test.ts) pin them: an upgrade that rewords
 * them fails there, not in production.
 */

const PARSE_BINARY = "parse binary: ";
const NO_DECOMPRESSOR = "received compressed envelope, but do not know how to decompress";
const INCOMPLETE_ENVELOPE = "protocol error: incomplete envelope";
const READ_LIMIT = /^message size (?:(\d+) )?is larger than configured readMaxBytes (\d+)$/u;
const READ_LIMIT_DECOMPRESSED = /^message is larger than configured readMaxBytes (\d+) after decompression$/u;
const ENVELOPE_HEADER_BYTES = 5;

/** What a rewrite needs to know about the call. */
interface CallFacts {
  readonly method: DescMethod;
  readonly protocol: RpcProtocol;
}

/** The clearer error for one connect-es answered with, or undefined to leave it alone. */
function clarifyError(error: ConnectError, call: CallFacts): ConnectError | undefined {
  const typeName = call.method.input.typeName;
  if (error.code === Code.Internal && error.rawMessage.startsWith(PARSE_BINARY)) {
    // Field-level problems were named by message-precheck.ts before decoding; what is left has only the decoder's words.
    const detail = error.rawMessage.slice(PARSE_BINARY.length);
    return new ConnectError(`the request is not a valid ${typeName} protobuf message: ${detail}`, Code.InvalidArgument);
  }
  if (error.code === Code.Internal && error.rawMessage === NO_DECOMPRESSOR) {
    const header = call.protocol === "connect" ? "connect-content-encoding" : "grpc-encoding";
    return new ConnectError(`a message has the compressed flag set, but the request has no ${header} header naming a compression`, Code.InvalidArgument);
  }
  if (error.code === Code.InvalidArgument && error.rawMessage === INCOMPLETE_ENVELOPE) {
    return new ConnectError(`${INCOMPLETE_ENVELOPE}: the body ended inside a message (its 5-byte prefix or the bytes its length announced)`, Code.InvalidArgument);
  }
  if (error.code === Code.ResourceExhausted) {
    const read = READ_LIMIT.exec(error.rawMessage);
    if (read !== null) {
      const message =
        read[1] === undefined
          ? `the request message is above the server's limit of ${read[2]} bytes`
          : `the request message is ${read[1]} bytes, above the server's limit of ${read[2]} bytes`;
      return new ConnectError(message, Code.ResourceExhausted);
    }
    const inflated = READ_LIMIT_DECOMPRESSED.exec(error.rawMessage);
    if (inflated !== null) {
      return new ConnectError(`the request message decompresses to more than the server's limit of ${inflated[1]} bytes`, Code.ResourceExhausted);
    }
  }
  return undefined;
}

/**
 * Wraps one method's connect-es handler so that client mistakes get the
 * status and message they deserve (see the comment at the top).
 */
export function withClearClientErrors(handler: UniversalHandler, limits: MessagePrecheckOptions): UniversalHandlerFn {
  return async (request) => {
    const contentType = request.header.get("content-type");
    const protocol = protocolOf(contentType);
    const response = await handler(precheckRequestMessages(request, handler.method.input, limits));
    if (response.body === undefined && (response.status === 405 || response.status === 415)) {
      return explainRefusal(handler.method, protocol, request, response.status);
    }
    const call: CallFacts = { method: handler.method, protocol };
    if (protocol === "grpc") return fixGrpcTrailer(response, call);
    if (protocol === "grpc-web") return fixEnvelopes(response, trailerFlag, (data) => fixGrpcWebTrailer(data, call));
    if (response.header?.get("content-type")?.startsWith("application/connect+") === true) {
      return fixEnvelopes(response, endStreamFlag, (data) => fixConnectEndStream(data, call));
    }
    return fixConnectUnary(response, call);
  };
}

/** A 405 or 415 that says what to send instead, in the request's protocol. */
function explainRefusal(method: DescMethod, protocol: RpcProtocol, request: UniversalServerRequest, status: number): UniversalServerResponse {
  const contentType = request.header.get("content-type");
  const name = `${method.parent.typeName}/${method.name}`;
  if (status === 405) {
    const why =
      request.method === "GET" && protocol === "connect"
        ? "Connect GET is only offered for side-effect-free methods, and this service has none"
        : "RPCs are POST requests";
    return rpcErrorResponse(protocol, contentType, new ConnectError(`${name} does not accept ${request.method}: ${why}`, Code.Unimplemented), {
      httpStatus: 405,
      headers: { allow: "POST" },
    });
  }
  if (protocol === "grpc-web") {
    const error = new ConnectError("gRPC-Web text (application/grpc-web-text) is not supported: send application/grpc-web+proto", Code.Unimplemented);
    return rpcErrorResponse(protocol, contentType, error);
  }
  const streaming = method.methodKind === "server_streaming";
  const connectTypes = streaming ? "application/connect+proto or application/connect+json" : "application/proto or application/json";
  const got = contentType === null || contentType === "" ? "no content-type" : `content-type ${JSON.stringify(contentType.slice(0, 100))}`;
  const kind = streaming ? "a server-streaming" : "a unary";
  const message = `${name} is ${kind} method: send ${connectTypes} (Connect), application/grpc (gRPC) or application/grpc-web+proto (gRPC-Web), not ${got}`;
  const accepted = [...connectTypes.split(" or "), "application/grpc", "application/grpc+proto", "application/grpc-web", "application/grpc-web+proto"];
  return rpcErrorResponse("connect", contentType, new ConnectError(message, Code.InvalidArgument), {
    httpStatus: 415,
    headers: { "accept-post": accepted.join(", ") },
  });
}

/** gRPC: the status is in the HTTP trailers, written once the body is done. */
function fixGrpcTrailer(response: UniversalServerResponse, call: CallFacts): UniversalServerResponse {
  const { body, trailer } = response;
  if (body === undefined || trailer === undefined) return response;
  const fix = (): void => {
    const error = findTrailerError(trailer);
    const clearer = error === undefined ? undefined : clarifyError(error, call);
    if (clearer !== undefined) setTrailerStatus(trailer, clearer);
  };
  return { ...response, body: mapBody(body, (chunk) => chunk, fix) };
}

/** gRPC-Web and Connect streams: the status is in the last envelope of the body, with `flag` set. */
function fixEnvelopes(response: UniversalServerResponse, flag: number, fix: (data: Uint8Array) => Uint8Array | undefined): UniversalServerResponse {
  if (response.body === undefined) return response;
  return {
    ...response,
    body: mapBody(response.body, (chunk) => {
      // connect-es writes one whole envelope per chunk; anything else (or a compressed one) passes as it is.
      if (chunk.byteLength < ENVELOPE_HEADER_BYTES || chunk[0] !== flag) return chunk;
      const length = Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength).readUInt32BE(1);
      if (length !== chunk.byteLength - ENVELOPE_HEADER_BYTES) return chunk;
      const fixed = fix(chunk.subarray(ENVELOPE_HEADER_BYTES));
      return fixed === undefined ? chunk : encodeEnvelope(flag, fixed);
    }),
  };
}

function fixGrpcWebTrailer(data: Uint8Array, call: CallFacts): Uint8Array | undefined {
  const trailer = trailerParse(data);
  const error = findTrailerError(trailer);
  const clearer = error === undefined ? undefined : clarifyError(error, call);
  if (clearer === undefined) return undefined;
  setTrailerStatus(trailer, clearer);
  return trailerSerialize(trailer);
}

function fixConnectEndStream(data: Uint8Array, call: CallFacts): Uint8Array | undefined {
  const end = endStreamFromJson(data);
  const clearer = end.error === undefined ? undefined : clarifyError(end.error, call);
  if (clearer === undefined) return undefined;
  return new TextEncoder().encode(JSON.stringify(endStreamToJson(end.metadata, clearer, undefined)));
}

/** Connect unary: an error is a JSON body with an HTTP status. */
async function fixConnectUnary(response: UniversalServerResponse, call: CallFacts): Promise<UniversalServerResponse> {
  const { body, header } = response;
  const isJsonError = response.status !== 200 && header?.get("content-type") === "application/json" && !header.has("content-encoding");
  if (!isJsonError || body === undefined || header === undefined) return response;
  const chunks: Uint8Array[] = [];
  for await (const chunk of body) chunks.push(chunk);
  const bytes = Buffer.concat(chunks);
  const error = errorFromJsonBytes(bytes, undefined, new ConnectError("unreadable error", Code.Unknown));
  const clearer = clarifyError(error, call);
  if (clearer === undefined) return { ...response, body: once(bytes) };
  const fixed = errorToJsonBytes(clearer, {});
  header.set("content-length", String(fixed.byteLength));
  return { ...response, status: codeToHttpStatus(clearer.code), body: once(fixed) };
}

async function* once(bytes: Uint8Array): AsyncIterable<Uint8Array> {
  yield bytes;
}

/**
 * A body whose chunks pass through `map`, with `onEnd` called once the last
 * one is read. next/throw/return reach the original iterator, so a write
 * error still reaches the method that produced the body.
 */
function mapBody(body: AsyncIterable<Uint8Array>, map: (chunk: Uint8Array) => Uint8Array, onEnd?: () => void): AsyncIterable<Uint8Array> {
  return {
    [Symbol.asyncIterator](): AsyncIterator<Uint8Array> {
      const it = body[Symbol.asyncIterator]();
      const step = (result: IteratorResult<Uint8Array>): IteratorResult<Uint8Array> => {
        if (result.done === true) {
          onEnd?.();
          return result;
        }
        return { done: false, value: map(result.value) };
      };
      return {
        next: () => it.next().then(step),
        throw: (e: unknown) => (it.throw === undefined ? Promise.reject(e) : it.throw(e).then(step)),
        return: (value?: unknown) => (it.return === undefined ? Promise.resolve({ done: true, value }) : it.return(value)),
      };
    },
  };
}
