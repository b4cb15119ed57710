import type { ConnectError } from "@connectrpc/connect";
import type { UniversalServerResponse } from "@connectrpc/connect/protocol";
import { codeToHttpStatus, errorToJsonBytes } from "@connectrpc/connect/protocol-connect";
import { setTrailerStatus } from "@connectrpc/connect/protocol-grpc";

/** The three RPC protocols one port serves, told apart by the request's content type. */
export type RpcProtocol = "connect" | "grpc" | "grpc-web";

/**
 * The protocol a request speaks, from its content type: gRPC-Web's and gRPC's
 * types are unambiguous; anything else is answered as Connect, whose errors
 * any HTTP client can read (JSON with a code and a message).
 */
export function protocolOf(contentType: string | null | undefined): RpcProtocol {
  const type = (contentType ?? "").trim().toLowerCase();
  if (type.startsWith("application/grpc-web")) return "grpc-web";
  if (/^application\/grpc(?:$|[+;])/u.test(type)) return "grpc";
  return "connect";
}

/** HTTP headers of an error answer beyond the status line (Allow, Accept-Post, ...). */
export type ExtraHeaders = Readonly<Record<string, string>>;

/**
 * An error answer in the request's own protocol, for failures found before
 * connect-node runs a method (unknown method, unsupported content type, GET).
 *
 * gRPC and gRPC-Web get HTTP 200 with `grpc-status` and `grpc-message` in
 * the headers (a "trailers-only" answer, which every gRPC client reads);
 * Connect gets the HTTP status (default: the code's) and a JSON error body.
 */
export function rpcErrorResponse(
  protocol: RpcProtocol,
  requestContentType: string | null | undefined,
  error: ConnectError,
  options: { httpStatus?: number; headers?: ExtraHeaders } = {},
): UniversalServerResponse {
  const header = new Headers(options.headers);
  if (protocol === "connect") {
    const body = errorToJsonBytes(error, {});
    header.set("content-type", "application/json");
    header.set("content-length", String(body.byteLength));
    return { status: options.httpStatus ?? codeToHttpStatus(error.code), header, body: single(body) };
  }
  // Echo a gRPC-Web text client's type, so it does not try to read a binary answer it never asked for.
  const fallback = protocol === "grpc" ? "application/grpc+proto" : "application/grpc-web+proto";
  header.set("content-type", requestContentType !== null && requestContentType !== undefined && protocolOf(requestContentType) === protocol ? requestContentType : fallback);
  setTrailerStatus(header, error);
  return { status: 200, header };
}

async function* single(bytes: Uint8Array): AsyncIterable<Uint8Array> {
  yield bytes;
}
