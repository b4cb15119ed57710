/**
 * Reading a JSON request body within a size limit, and writing JSON and
 * OpenAI-shaped error answers, on either HTTP version.
 */
import type { ServerResponse } from "node:http";
import { ConnectError } from "@connectrpc/connect";
import { SemcacheError } from "../errors/index.js";
import type { BodyBudget } from "../server/http/body-budget.js";
import { JsonDepthScanner } from "../server/http/connect-fixes/json-depth.js";
import type { AnyRequest, AnyResponse } from "../server/http/request-handler.js";
import { openAiErrorResponse } from "./error-response.js";
import { invalidField } from "./field-readers.js";

// JSON must be UTF-8 (RFC 8259); a lenient decoder would turn bad bytes into U+FFFD and cache them.
const strictUtf8 = new TextDecoder("utf-8", { fatal: true });

/** Bounds on a request body. */
export interface BodyLimits {
  /** Largest body (SEMCACHE_MAX_MESSAGE_BYTES). */
  readonly maxBytes: number;
  /** Deepest nesting of arrays and objects (SEMCACHE_MAX_JSON_DEPTH), checked before parsing, as the RPCs' is. */
  readonly maxJsonDepth: number;
  /** The server's bound on bodies being received at once (SEMCACHE_MAX_PENDING_BODY_BYTES), shared with the RPCs. */
  readonly budget: BodyBudget;
}

/**
 * The request body parsed as JSON. A body above the size or depth limit is
 * refused as soon as that is known, without reading the rest.
 */
export async function readJsonBody(req: AnyRequest, { maxBytes, maxJsonDepth, budget }: BodyLimits, signal: AbortSignal): Promise<unknown> {
  const tooLarge = (bytes: number | string) =>
    invalidField("body", `is ${bytes} bytes, above the limit of ${maxBytes} bytes (SEMCACHE_MAX_MESSAGE_BYTES)`);
  const declared = Number(req.headers["content-length"] ?? Number.NaN);
  if (Number.isFinite(declared) && declared > maxBytes) throw tooLarge(declared);
  const parts: Buffer[] = [];
  const depth = new JsonDepthScanner(maxJsonDepth);
  let size = 0;
  try {
    for await (const part of budget.count(req as AsyncIterable<Buffer>, signal) as AsyncIterable<Buffer>) {
      size += part.length;
      if (size > maxBytes) throw tooLarge(`more than ${maxBytes}`);
      if (depth.tooDeep(part)) throw invalidField("body", `nests arrays and objects deeper than ${maxJsonDepth} levels (SEMCACHE_MAX_JSON_DEPTH)`);
      parts.push(part);
    }
  } catch (error) {
    if (error instanceof SemcacheError || error instanceof ConnectError) throw error;
    // The stream itself failed: the client reset or closed the connection mid-upload.
    throw new SemcacheError("canceled", "the client went away before sending the whole body", { cause: error });
  }
  let text: string;
  try {
    text = strictUtf8.decode(Buffer.concat(parts, size));
  } catch {
    throw invalidField("body", "is not valid UTF-8");
  }
  if (text.trim() === "") throw invalidField("body", "is empty: send a JSON Chat Completions request");
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    throw invalidField("body", `is not valid JSON (${(error as Error).message})`);
  }
}

/**
 * Sends the status line and headers. Set one by one rather than passed to
 * writeHead, so that they can be read back (getHeader) when an error comes
 * after them and its answer depends on what was already sent.
 */
export function writeHead(res: AnyResponse, status: number, headers: Readonly<Record<string, string | number>>): void {
  for (const [name, value] of Object.entries(headers)) res.setHeader(name, value);
  (res as ServerResponse).writeHead(status);
}

/** Whether the answer under way is a stream of server-sent events. */
export function sendingEvents(res: AnyResponse): boolean {
  return String(res.getHeader("content-type") ?? "").startsWith("text/event-stream");
}

/** Writes a whole JSON answer. */
export function writeJson(res: AnyResponse, status: number, body: unknown, headers: Readonly<Record<string, string>> = {}): void {
  const text = JSON.stringify(body);
  writeHead(res, status, { ...headers, "content-type": "application/json", "content-length": Buffer.byteLength(text) });
  res.end(text);
}

/**
 * Answers with an error in OpenAI's shape; when the body was not read to its
 * end, HTTP/1.1 closes the connection after it rather than reading the rest.
 */
export function writeError(res: AnyResponse, error: SemcacheError, bodyUnread = false): void {
  const { status, headers, body } = openAiErrorResponse(error);
  writeJson(res, status, body, bodyUnread && !("stream" in res) ? { ...headers, connection: "close" } : headers);
}
