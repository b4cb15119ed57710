/**
 * The OpenAI-compatible endpoint: any OpenAI SDK becomes a semcache client
 * by pointing its base URL at `<server>/v1`. Chat Completions are answered
 * through the same Ask engine as the gRPC Ask (same cache entries, same
 * single-flight); what the cache must not answer passes through to the
 * upstream (see bypass.ts).
 */
export { openAiRoutes, OPENAI_PATHS } from "./routes.js";
export type { OpenAiRouteOptions } from "./chat-route.js";
export { openAiRpcRecord, OPENAI_SERVICE, type OpenAiCallRecord } from "./call-record.js";
export { Upstream } from "./upstream.js";
export { OPENAI_CORS } from "./cors-headers.js";
export { REQUEST_HEADERS, RESPONSE_HEADERS, EXPOSED_RESPONSE_HEADERS } from "./semcache-headers.js";
