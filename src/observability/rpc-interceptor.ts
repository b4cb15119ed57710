/**
 * A Connect interceptor that turns every RPC, on any protocol (Connect, gRPC,
 * gRPC-Web), unary or streaming, into one {@link RpcRecord} when it ends: for
 * the log line and the RPC metrics.
 *
 * Requests the protocol layer rejects before the handler runs (a body that
 * does not parse, a wrong content type) never reach interceptors, so they
 * have neither.
 */
import { Code, ConnectError, type Interceptor, type StreamResponse } from "@connectrpc/connect";
import { principalKey } from "../auth/principal.js";
import { admittedKey } from "../auth/tenant-interceptor.js";
import { requestFacts, responseFacts, type RpcFacts } from "./rpc-facts.js";

/** The wire protocol of a call ("http": a plain-HTTP endpoint such as /v1/chat/completions). */
export type WireProtocol = "connect" | "grpc" | "grpc-web" | "http";

/** One finished RPC. */
export interface RpcRecord {
  /** Fully qualified service, e.g. semcache.v1.SemanticCacheService. */
  readonly service: string;
  /** Method name, e.g. Lookup. */
  readonly method: string;
  readonly protocol: WireProtocol;
  readonly stream: boolean;
  /** "ok", or the status code in snake case ("invalid_argument", "unavailable", ...). */
  readonly code: string;
  /** The error's message, when the call failed. */
  readonly error?: string;
  /** Wall time until the response (a stream: until its end), in milliseconds. */
  readonly ms: number;
  /** Id of the API key that made the call, when keys are on and it was known. */
  readonly keyId?: string;
  /** Whether the call got past access control (see auth/tenant-interceptor.ts); a refused call's namespace is only a claim. */
  readonly admitted: boolean;
  readonly facts: RpcFacts;
}

/** The protocol a request came in on, from its content type. */
export function protocolOf(headers: Headers): WireProtocol {
  const type = headers.get("content-type") ?? "";
  if (type.startsWith("application/grpc-web")) return "grpc-web";
  if (type.startsWith("application/grpc")) return "grpc";
  return "connect";
}

/** A status code as a label: Code.InvalidArgument → "invalid_argument". */
export function codeName(code: Code): string {
  return (Code[code] ?? "unknown").replace(/([a-z])([A-Z])/g, "$1_$2").toLowerCase();
}

/** Calls `sink` once per RPC, when it has ended (successfully or not). A throwing sink is ignored. */
export function rpcRecordInterceptor(sink: (record: RpcRecord) => void): Interceptor {
  return (next) => async (req) => {
    const started = performance.now();
    const facts: RpcFacts = {};
    // Read when the call ends, not when it starts: the access check fills in an empty namespace on the way in.
    let request: unknown = req.stream ? undefined : req.message;
    let reported = false;
    const report = (error: unknown): void => {
      if (reported) return;
      reported = true;
      const failure = error === undefined ? undefined : asFailure(error, req.signal);
      const keyId = req.contextValues.get(principalKey)?.keyId;
      try {
        if (request !== undefined) requestFacts(request, facts);
        sink({
          service: req.service.typeName,
          method: req.method.name,
          protocol: protocolOf(req.header),
          stream: req.stream,
          code: failure === undefined ? "ok" : codeName(failure.code),
          ...(failure === undefined ? {} : { error: failure.rawMessage }),
          ms: performance.now() - started,
          ...(keyId === undefined ? {} : { keyId }),
          admitted: req.contextValues.get(admittedKey),
          facts,
        });
      } catch {
        // Logging and metrics must never fail a call.
      }
    };

    if (!req.stream) {
      try {
        const res = await next(req);
        if (!res.stream) responseFacts(res.message, facts);
        else return { ...res, message: observeOutput(res.message, facts, report) };
        report(undefined);
        return res;
      } catch (error) {
        report(error);
        throw error;
      }
    }

    const input = tap(req.message, (message) => (request = message));
    let res: Awaited<ReturnType<typeof next>>;
    try {
      res = await next({ ...req, message: input });
    } catch (error) {
      report(error);
      throw error;
    }
    if (!res.stream) {
      responseFacts(res.message, facts);
      report(undefined);
      return res;
    }
    return { ...res, message: observeOutput(res.message, facts, report) } satisfies StreamResponse;
  };
}

/**
 * The status of a failed call. A stream the client gave up on fails with
 * whatever the socket said ("Premature close", unknown to connect): that is
 * the client cancelling, not a server fault.
 */
function asFailure(error: unknown, signal: AbortSignal): ConnectError {
  const failure = ConnectError.from(error);
  return failure.code === Code.Unknown && signal.aborted ? new ConnectError(failure.rawMessage, Code.Canceled) : failure;
}

async function* tap<T>(source: AsyncIterable<T>, see: (item: T) => void): AsyncIterable<T> {
  for await (const item of source) {
    see(item);
    yield item;
  }
}

/** Passes a response stream through, reading facts from it and reporting once it ends, fails or is abandoned. */
async function* observeOutput<T>(source: AsyncIterable<T>, facts: RpcFacts, report: (error: unknown) => void): AsyncIterable<T> {
  let ended = false;
  try {
    for await (const message of source) {
      responseFacts(message, facts);
      yield message;
    }
    ended = true;
    report(undefined);
  } catch (error) {
    ended = true;
    report(error);
    throw error;
  } finally {
    // The consumer stopped reading early: the client went away.
    if (!ended) report(new ConnectError("the stream was abandoned", Code.Canceled));
  }
}
