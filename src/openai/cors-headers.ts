/**
 * What the server's CORS answer must allow for a browser app using an OpenAI
 * SDK (`dangerouslyAllowBrowser`) against /v1: the headers the SDK sends on
 * its own, semcache's request headers, and, exposed to the page, semcache's
 * response headers and the retry hints the SDK reads.
 */
import { EXPOSED_RESPONSE_HEADERS, REQUEST_HEADERS } from "./semcache-headers.js";

/** Request headers the `openai` package sends besides Authorization and Content-Type. */
const SDK_REQUEST_HEADERS = [
  "OpenAI-Organization",
  "OpenAI-Project",
  "X-Stainless-Arch",
  "X-Stainless-Lang",
  "X-Stainless-OS",
  "X-Stainless-Package-Version",
  "X-Stainless-Retry-Count",
  "X-Stainless-Runtime",
  "X-Stainless-Runtime-Version",
  "X-Stainless-Timeout",
] as const;

/** The OpenAI endpoint's additions to the CORS headers. */
export const OPENAI_CORS = {
  allowedHeaders: [...SDK_REQUEST_HEADERS, ...Object.values(REQUEST_HEADERS)],
  exposedHeaders: [...EXPOSED_RESPONSE_HEADERS, "retry-after", "retry-after-ms", "x-should-retry"],
} as const;
