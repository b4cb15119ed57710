/**
 * The OpenAI-compatible routes, as a plain-HTTP route hook of the server
 * (its `extraRoutes`): POST /v1/chat/completions and GET /v1/models.
 */
import { SemcacheError } from "../errors/index.js";
import type { AnyRequest, AnyResponse } from "../server/http/request-handler.js";
import { asSemcacheError } from "./as-semcache-error.js";
import { callerOf } from "./caller-namespace.js";
import { clientGone, handleChatCompletions, type OpenAiRouteOptions } from "./chat-route.js";
import { writeError, writeJson } from "./http-io.js";

/** The paths served. */
export const OPENAI_PATHS = { chatCompletions: "/v1/chat/completions", models: "/v1/models" } as const;

async function handleModels(options: OpenAiRouteOptions, req: AnyRequest, res: AnyResponse): Promise<void> {
  const started = performance.now();
  try {
    const caller = callerOf(options.access, req, undefined);
    const list = await options.upstream.models(clientGone(res));
    writeJson(res, 200, list);
    options.onCall?.({ method: "ListModels", code: "ok", ms: performance.now() - started, stream: false, admitted: true, ...(caller.principal === undefined ? {} : { keyId: caller.principal.keyId }) });
  } catch (error) {
    const failure = asSemcacheError(error, options.logError);
    options.onCall?.({ method: "ListModels", code: failure.code, error: failure.message, ms: performance.now() - started, stream: false });
    if (!res.headersSent && !res.writableEnded) writeError(res, failure);
  }
}

/** The route hook: serves the OpenAI paths and returns true, or returns false for any other path. */
export function openAiRoutes(options: OpenAiRouteOptions): (req: AnyRequest, res: AnyResponse) => boolean {
  return (req, res) => {
    const path = (req.url ?? "/").split("?", 1)[0] ?? "/";
    if (path === OPENAI_PATHS.chatCompletions) {
      if (req.method === "POST") void handleChatCompletions(options, req, res);
      else writeError(res, new SemcacheError("not_found", `${req.method ?? "?"} ${path} is not served: use POST`), true);
      return true;
    }
    if (path === OPENAI_PATHS.models) {
      if (req.method === "GET") void handleModels(options, req, res);
      else writeError(res, new SemcacheError("not_found", `${req.method ?? "?"} ${path} is not served: use GET`), true);
      return true;
    }
    return false;
  };
}
