import { cors as connectCors } from "@connectrpc/connect";
import type { IncomingHttpHeaders, OutgoingHttpHeaders } from "node:http";
import { OPENAI_CORS } from "../../openai/cors-headers.js";

/** Headers browsers may send: Connect's and gRPC-Web's, bearer tokens, and an OpenAI SDK's (for /v1). */
const ALLOWED_HEADERS = [...connectCors.allowedHeaders, "Authorization", ...OPENAI_CORS.allowedHeaders].join(", ");
const ALLOWED_METHODS = [...connectCors.allowedMethods, "OPTIONS"].join(", ");
const EXPOSED_HEADERS = [...connectCors.exposedHeaders, ...OPENAI_CORS.exposedHeaders].join(", ");

/**
 * The CORS response headers for a request, or undefined when the request has
 * no Origin or its origin is not allowed (the browser then blocks the call).
 */
export function corsHeaders(allowedOrigins: readonly string[], request: IncomingHttpHeaders): OutgoingHttpHeaders | undefined {
  const origin = request.origin;
  if (origin === undefined || allowedOrigins.length === 0) return undefined;
  if (!allowedOrigins.includes("*") && !allowedOrigins.includes(origin)) return undefined;
  return {
    "access-control-allow-origin": origin,
    "access-control-allow-methods": ALLOWED_METHODS,
    "access-control-allow-headers": ALLOWED_HEADERS,
    "access-control-expose-headers": EXPOSED_HEADERS,
    "access-control-max-age": "7200",
    vary: "Origin",
  };
}
