/**
 * One structured log line per RPC. Prompt and response text are replaced by a
 * prefix of their SHA-256 unless SEMCACHE_LOG_PROMPTS is on: equal texts still
 * show as equal (to follow an entry from Store to its hits) without the text
 * itself reaching the logs.
 */
import { createHash } from "node:crypto";
import type { Level } from "pino";
import type { Logger } from "./logger.js";
import type { RpcRecord } from "./rpc-interceptor.js";

/** Hex digits of SHA-256 kept in the logs (64 bits: collisions are not a concern for correlating lines). */
const HASH_HEX_DIGITS = 16;

/** Options of {@link rpcLogSink}. */
export interface RpcLogOptions {
  /** Log prompt and response text (SEMCACHE_LOG_PROMPTS) instead of only their hashes. */
  readonly logPrompts: boolean;
}

/** The SHA-256 prefix that stands for a text in the logs. */
export function textHash(text: string): string {
  return createHash("sha256").update(text, "utf8").digest("hex").slice(0, HASH_HEX_DIGITS);
}

// As go-grpc-middleware's default server levels: client mistakes are info,
// trouble worth a look warn, server bugs error.
const WARN_CODES = new Set(["deadline_exceeded", "unauthenticated", "permission_denied", "resource_exhausted", "failed_precondition", "aborted", "out_of_range", "unavailable"]);
const ERROR_CODES = new Set(["unknown", "unimplemented", "internal", "data_loss"]);
/** Services whose successful calls (probes, tooling) are logged at debug level only. */
const QUIET_SERVICES = new Set(["grpc.health.v1.Health", "grpc.reflection.v1.ServerReflection", "grpc.reflection.v1alpha.ServerReflection"]);

function levelOf(record: RpcRecord): Level {
  if (ERROR_CODES.has(record.code)) return "error";
  if (WARN_CODES.has(record.code)) return "warn";
  if (record.code === "ok" && QUIET_SERVICES.has(record.service)) return "debug";
  return "info";
}

const round = (value: number, digits: number) => Math.round(value * 10 ** digits) / 10 ** digits;

/** The fields of an RPC's log line. */
export function rpcLogFields(record: RpcRecord, options: RpcLogOptions): Record<string, unknown> {
  const { facts } = record;
  const fields: Record<string, unknown> = {
    method: record.method,
    // Not "service": the logger's base fields have that (service: "semcache").
    rpcService: record.service,
    protocol: record.protocol,
    code: record.code,
    ms: round(record.ms, 2),
  };
  if (record.stream) fields["stream"] = true;
  if (record.keyId !== undefined) fields["keyId"] = record.keyId;
  if (record.error !== undefined) fields["error"] = record.error;
  if (facts.namespace !== undefined) fields["namespace"] = facts.namespace;
  if (facts.model !== undefined) fields["model"] = facts.model;
  if (facts.all === true) fields["all"] = true;
  const text = (name: string, value: string | undefined) => {
    if (value === undefined) return;
    fields[`${name}Sha256`] = textHash(value);
    if (options.logPrompts) fields[name] = value;
  };
  text("prompt", facts.prompt);
  if (facts.messages !== undefined) fields["messages"] = facts.messages;
  if (facts.hit !== undefined) fields["hit"] = facts.hit;
  if (facts.kind !== undefined) fields["kind"] = facts.kind;
  if (facts.source !== undefined) fields["source"] = facts.source;
  if (facts.similarity !== undefined) fields["similarity"] = round(facts.similarity, 4);
  if (facts.threshold !== undefined) fields["threshold"] = round(facts.threshold, 4);
  text("matchedPrompt", facts.matchedPrompt);
  text("response", facts.response);
  if (facts.entryId !== undefined) fields["entryId"] = facts.entryId;
  if (facts.replaced !== undefined) fields["replaced"] = facts.replaced;
  if (facts.deleted !== undefined) fields["deleted"] = facts.deleted;
  if (facts.entries !== undefined) fields["entries"] = facts.entries;
  if (facts.cacheUnavailable === true) fields["cacheUnavailable"] = true;
  if (facts.finishReason !== undefined) fields["finishReason"] = facts.finishReason;
  return fields;
}

/** Writes one line per RPC to the logger, at a level that follows the status code. */
export function rpcLogSink(logger: Logger, options: RpcLogOptions): (record: RpcRecord) => void {
  return (record) => {
    const level = levelOf(record);
    if (!logger.isLevelEnabled(level)) return;
    logger[level](rpcLogFields(record, options), "rpc");
  };
}
