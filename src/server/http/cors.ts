import { cors as connectCors } from "@connectrpc/connect";
import type { IncomingHttpHeaders, OutgoingHttpHeaders } from "node:http";

/** Headers of routes served beside the RPCs (the OpenAI endpoint) that the CORS answer must also cover. */
export interface CorsAdditions {
  /** Request headers a browser may send to them. */
  readonly allowedHeaders: readonly string[];
  /** Response headers the page may read. */
  readonly exposedHeaders: readonly string[];
}

const ALLOWED_METHODS = [...connectCors.allowedMethods, "OPTIONS"].join(", ");

/**
 * The CORS answer of a server: for a request, its CORS response headers, or
 * undefined when the request has no Origin or its origin is not allowed (the
 * browser then blocks the call). Browsers may send Connect's and gRPC-Web's
 * headers, bearer tokens, and the additions' (an OpenAI SDK's, for /v1).
 */
export function corsAnswer(allowedOrigins: readonly string[], additions?: CorsAdditions): (request: IncomingHttpHeaders) => OutgoingHttpHeaders | undefined {
  const allowedHeaders = [...connectCors.allowedHeaders, "Authorization", ...(additions?.allowedHeaders ?? [])].join(", ");
  const exposedHeaders = [...connectCors.exposedHeaders, ...(additions?.exposedHeaders ?? [])].join(", ");
  return (request) => {
    const origin = request.origin;
    if (origin === undefined || allowedOrigins.length === 0) return undefined;
    if (!allowedOrigins.includes("*") && !allowedOrigins.includes(origin)) return undefined;
    return {
      "access-control-allow-origin": origin,
      "access-control-allow-methods": ALLOWED_METHODS,
      "access-control-allow-headers": allowedHeaders,
      "access-control-expose-headers": exposedHeaders,
      "access-control-max-age": "7200",
      vary: "Origin",
    };
  };
}
