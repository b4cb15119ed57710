/**
 * One finished call of the OpenAI endpoint, and the same as the RPC record
 * the observability sink takes, so the endpoint gets the per-call log line,
 * the latency histogram and the dashboard's latency row as every RPC does.
 */
import type { RpcRecord } from "../observability/index.js";
import type { AnswerSource } from "./semcache-headers.js";

/** The `service` label of the endpoint's calls in logs and metrics. */
export const OPENAI_SERVICE = "openai.v1";

/** One finished call of the endpoint. */
export interface OpenAiCallRecord {
  /** "ChatCompletions" or "ListModels". */
  readonly method: string;
  /** "ok", or the error code. */
  readonly code: string;
  readonly error?: string;
  readonly ms: number;
  readonly stream: boolean;
  readonly namespace?: string;
  readonly model?: string;
  readonly source?: AnswerSource;
  readonly keyId?: string;
  /** True once the caller passed the access checks: a refused call's namespace is only a claim, never a label. */
  readonly admitted?: boolean;
}

/** The call as an RPC record (service "openai.v1", protocol "http"). */
export function openAiRpcRecord(call: OpenAiCallRecord): RpcRecord {
  return {
    service: OPENAI_SERVICE,
    method: call.method,
    protocol: "http",
    stream: call.stream,
    code: call.code,
    ms: call.ms,
    ...(call.error === undefined ? {} : { error: call.error }),
    ...(call.keyId === undefined ? {} : { keyId: call.keyId }),
    admitted: call.admitted === true,
    facts: {
      ...(call.namespace === undefined ? {} : { namespace: call.namespace }),
      ...(call.model === undefined ? {} : { model: call.model }),
    },
  };
}
