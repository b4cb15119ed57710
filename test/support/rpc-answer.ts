import { Code } from "@connectrpc/connect";
import { codeToString } from "@connectrpc/connect/protocol-connect";
import { parseGrpcWebBody, splitEnvelopes } from "./grpc-frames.js";
import type { RawResponse } from "./raw-http.js";

/**
 * The outcome of one raw RPC, read the way its protocol defines it: the HTTP
 * status, then the code and message from a Connect JSON error, a Connect
 * end-of-stream message, gRPC trailers (or a trailers-only answer's headers),
 * or a gRPC-Web trailer frame.
 */
export interface RpcAnswer {
  readonly http: number;
  /** Connect's name of the code ("invalid_argument"), "ok" for success, "" when the answer carries none. */
  readonly code: string;
  readonly message: string;
}

const CONNECT_END_STREAM_FLAG = 0x02;

function grpcCode(value: string | undefined): string {
  if (value === undefined) return "";
  const code = Number(value);
  return code === 0 ? "ok" : codeToString(code as Code);
}

function grpcMessage(value: string | undefined): string {
  return value === undefined ? "" : decodeURIComponent(value);
}

function connectError(json: unknown): { code: string; message: string } {
  const error = (json ?? {}) as { code?: unknown; message?: unknown };
  return { code: typeof error.code === "string" ? error.code : "", message: typeof error.message === "string" ? error.message : "" };
}

function connectEndStream(body: Buffer): { code: string; message: string } {
  for (const { flags, data } of splitEnvelopes(body)) {
    if (flags === CONNECT_END_STREAM_FLAG) {
      const end = JSON.parse(data.toString("utf8")) as { error?: unknown };
      return end.error === undefined ? { code: "ok", message: "" } : connectError(end.error);
    }
  }
  return { code: "", message: "" };
}

/** Reads a raw response as an RPC outcome. */
export function rpcAnswerOf(response: RawResponse): RpcAnswer {
  const type = response.headers["content-type"] ?? "";
  const http = response.status;
  if (type.startsWith("application/grpc-web")) {
    const trailers = response.headers["grpc-status"] !== undefined ? response.headers : parseGrpcWebBody(response.body).trailers;
    return { http, code: grpcCode(trailers["grpc-status"]), message: grpcMessage(trailers["grpc-message"]) };
  }
  if (type.startsWith("application/grpc")) {
    const trailers = response.headers["grpc-status"] !== undefined ? response.headers : response.trailers;
    return { http, code: grpcCode(trailers["grpc-status"]), message: grpcMessage(trailers["grpc-message"]) };
  }
  if (type.startsWith("application/connect+")) return { http, ...connectEndStream(response.body) };
  if (http === 200) return { http, code: "ok", message: "" };
  if (type.startsWith("application/json")) {
    try {
      return { http, ...connectError(JSON.parse(response.body.toString("utf8"))) };
    } catch {
      return { http, code: "", message: response.body.toString("utf8") };
    }
  }
  return { http, code: "", message: response.body.toString("utf8") };
}
