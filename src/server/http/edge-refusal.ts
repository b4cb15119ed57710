import { createContextKey, type ConnectError, type ConnectRouter, type Interceptor } from "@connectrpc/connect";
import type { UniversalHandlerOptions, UniversalServerRequest } from "@connectrpc/connect/protocol";

/**
 * A refusal decided at the HTTP edge from the headers alone (no key, an
 * unknown key, over the rate limit, a foreign Host). The call still goes
 * through the interceptors, with an empty message instead of its body, so it
 * is logged and counted like any other; the first interceptor that knows of
 * this key (or, at the latest, {@link withEdgeRefusals}'s own) throws it.
 */
export const edgeRefusalKey = createContextKey<ConnectError | undefined>(undefined, { description: "semcache refusal at the HTTP edge" });

/** Throws the edge's refusal, if there is one, before the method can run. */
const throwEdgeRefusal: Interceptor = (next) => (req) => {
  const refusal = req.contextValues.get(edgeRefusalKey);
  if (refusal !== undefined) throw refusal;
  return next(req);
};

/**
 * A router that puts the refusal check innermost on every service and method
 * registered through it, so no method ever runs on the stand-in message of a
 * refused call, whatever interceptors the server was given.
 */
export function withEdgeRefusals(router: ConnectRouter): ConnectRouter {
  const merge = (options: Partial<UniversalHandlerOptions> | undefined): Partial<UniversalHandlerOptions> => ({
    ...options,
    interceptors: [...(options?.interceptors ?? []), throwEdgeRefusal],
  });
  const wrapped: ConnectRouter = {
    handlers: router.handlers,
    service(service, implementation, options) {
      router.service(service, implementation, merge(options));
      return wrapped;
    },
    rpc(method, impl, options) {
      router.rpc(method, impl, merge(options));
      return wrapped;
    },
  };
  return wrapped;
}

const ENVELOPE_HEADER_BYTES = 5;
/** Headers that would make the stand-in message unreadable (it is neither compressed nor of the announced length). */
const BODY_HEADERS = ["content-length", "content-encoding", "connect-content-encoding", "grpc-encoding"];

/**
 * The request with its body replaced by one empty message of its protocol
 * and codec (`{}` for JSON, no bytes for protobuf; length-prefixed for gRPC,
 * gRPC-Web and Connect streams), so connect-es decodes something without
 * reading a byte of what the client sends.
 */
export function withoutBody(request: UniversalServerRequest): UniversalServerRequest {
  const contentType = (request.header.get("content-type") ?? "").toLowerCase();
  const json = /[/+]json\b/u.test(contentType);
  const message = json ? Buffer.from("{}") : Buffer.alloc(0);
  const enveloped = /^application\/(?:grpc|connect\+)/u.test(contentType);
  let body: Uint8Array = message;
  if (enveloped) {
    const head = Buffer.alloc(ENVELOPE_HEADER_BYTES);
    head.writeUInt32BE(message.byteLength, 1);
    body = Buffer.concat([head, message]);
  }
  const header = new Headers(request.header);
  for (const name of BODY_HEADERS) header.delete(name);
  return { ...request, header, body: once(body) };
}

async function* once(bytes: Uint8Array): AsyncIterable<Uint8Array> {
  yield bytes;
}
