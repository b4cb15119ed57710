/**
 * The one error mapping (src/server/api/errors.ts) on a real server and every
 * protocol: a SemcacheError thrown by a handler or by an interceptor reaches
 * the caller with its code, its message and, when it says how long to wait,
 * the retry-after-ms header; anything else is INTERNAL with a generic
 * message, and logged.
 */
import { rmSync } from "node:fs";
import { Writable } from "node:stream";
import { Code, ConnectError, type Interceptor } from "@connectrpc/connect";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadSemanticCache } from "../../src/app/load-cache.js";
import { loadConfig } from "../../src/config/load-config.js";
import { SemcacheError, type ErrorCode } from "../../src/errors/index.js";
import { SemanticCacheService } from "../../src/gen/semcache/v1/semantic_cache_pb.js";
import { httpStatusOf, INTERNAL_ERROR_MESSAGE, RETRY_AFTER_MS_HEADER } from "../../src/server/api/errors.js";
import { startSemcacheServer, type SemcacheServer } from "../../src/server/semcache-server.js";
import { clientFor, PROTOCOLS } from "../support/clients.js";
import { tempDir, testEnv } from "../support/test-server.js";

/** Lookups in these namespaces make the test interceptor throw, as an access check or a limiter would. */
const RATE_LIMITED = "rate-limited";
const BROKEN = "broken";
const SECRET = "connection string redis://user:hunter2@10.0.0.5";

/** Throws what a converted interceptor would, before the handler runs. */
const throwing: Interceptor = (next) => async (req) => {
  const namespace = req.service.typeName === SemanticCacheService.typeName && !req.stream ? (req.message as { scope?: { namespace?: string } }).scope?.namespace : undefined;
  if (namespace === RATE_LIMITED) throw new SemcacheError("resource_exhausted", "slow down: retry in 1234 ms", { retryAfterMs: 1234 });
  if (namespace === BROKEN) throw new Error(SECRET);
  return next(req);
};

/** Codes of the calls the outermost interceptor saw fail: what the RPC log and metrics record. */
const seenOutside: (Code | "not a ConnectError")[] = [];
const recording: Interceptor = (next) => async (req) => {
  try {
    return await next(req);
  } catch (error) {
    seenOutside.push(error instanceof ConnectError ? error.code : "not a ConnectError");
    throw error;
  }
};

let server: SemcacheServer;
let dataDir: string;
const logged: string[] = [];

beforeAll(async () => {
  dataDir = tempDir();
  const config = loadConfig({ env: await testEnv(dataDir), argv: [], cwd: dataDir });
  const logger = pino({ level: "error" }, new Writable({ write: (chunk: Buffer, _encoding, done) => (logged.push(chunk.toString()), done()) }));
  server = await startSemcacheServer({
    host: "127.0.0.1",
    port: 0,
    corsOrigins: [],
    maxMessageBytes: config.maxMessageBytes,
    shutdownTimeoutMs: 2_000,
    logger,
    loadCache: () => loadSemanticCache(config, logger),
    interceptors: [recording, throwing],
  });
  await server.ready;
});
afterAll(async () => {
  await server?.close();
  rmSync(dataDir, { recursive: true, force: true });
});

async function failure(call: Promise<unknown>): Promise<ConnectError> {
  const outcome = await call.then(
    () => undefined,
    (error: unknown) => error,
  );
  expect(outcome).toBeInstanceOf(ConnectError);
  return outcome as ConnectError;
}

describe.each(PROTOCOLS)("error mapping over %s", (protocol) => {
  it("sends an interceptor's SemcacheError with its code, message and retry-after-ms header", async () => {
    const error = await failure(clientFor(protocol, server.url).lookup({ prompt: "anything", scope: { namespace: RATE_LIMITED } }));
    expect(Code[error.code]).toBe("ResourceExhausted");
    expect(error.rawMessage).toBe("slow down: retry in 1234 ms");
    expect(error.metadata.get(RETRY_AFTER_MS_HEADER)).toBe("1234");
  });

  it("sends a handler's SemcacheError (the core's invalid input) with its field-named message", async () => {
    const error = await failure(clientFor(protocol, server.url).lookup({ prompt: "   ", scope: { namespace: "fine" } }));
    expect(Code[error.code]).toBe("InvalidArgument");
    expect(error.rawMessage).toBe("prompt: must not be empty");
    expect(error.metadata.get(RETRY_AFTER_MS_HEADER)).toBeNull();
  });

  it("hides anything else as INTERNAL and logs it", async () => {
    const before = logged.length;
    const error = await failure(clientFor(protocol, server.url).lookup({ prompt: "anything", scope: { namespace: BROKEN } }));
    expect(Code[error.code]).toBe("Internal");
    expect(error.rawMessage).toBe(INTERNAL_ERROR_MESSAGE);
    expect(error.rawMessage).not.toContain("hunter2");
    expect(logged.slice(before).join("")).toContain(SECRET);
  });

  it("passes connect's own errors through (Ask without an LLM layer is UNIMPLEMENTED)", async () => {
    const error = await failure(clientFor(protocol, server.url).ask({ prompt: "anything" }));
    expect(Code[error.code]).toBe("Unimplemented");
  });
});

describe("the interceptors outside the mapping", () => {
  it("only ever see ConnectErrors", () => {
    // 4 failing calls per protocol, all mapped before the outermost interceptor saw them.
    expect(seenOutside).toHaveLength(PROTOCOLS.length * 4);
    expect(seenOutside).not.toContain("not a ConnectError");
  });
});

describe("httpStatusOf", () => {
  it("gives each code the HTTP status OpenAI-style clients act on", () => {
    const expected: Record<ErrorCode, number> = {
      canceled: 499,
      unknown: 500,
      invalid_argument: 400,
      deadline_exceeded: 504,
      not_found: 404,
      already_exists: 409,
      permission_denied: 403,
      resource_exhausted: 429,
      failed_precondition: 400,
      aborted: 409,
      out_of_range: 400,
      unimplemented: 501,
      internal: 500,
      unavailable: 503,
      data_loss: 500,
      unauthenticated: 401,
    };
    for (const [code, status] of Object.entries(expected) as [ErrorCode, number][]) expect(httpStatusOf(code), code).toBe(status);
  });
});
