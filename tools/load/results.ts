/** The shape of a load test's results (the JSON report), and the checks that decide its exit code. */
import type { MachineInfo } from "../../bench/lib/machine.js";
import type { StatsResponse } from "../../src/gen/semcache/v1/semantic_cache_pb.js";
import type { LoadNamespace, Operation, PROTOCOL_MIX } from "./mix.js";
import type { RecordSummary } from "./recorder.js";
import type { RssReport } from "./rss.js";
import type { AnswerCounts } from "./runner.js";
import type { VerifyReport } from "./verify.js";

/** The server's Stats, as plain numbers. */
export interface StatsView {
  readonly entries: number;
  readonly lookups: number;
  readonly exactHits: number;
  readonly semanticHits: number;
  readonly misses: number;
  readonly hitRate: number;
  readonly stores: number;
  readonly llmCalls: number;
  readonly coalescedCalls: number;
  readonly tokensSaved: number;
  readonly cacheErrors: number;
  readonly guardRejections: number;
  readonly flushes: number;
  readonly modelId: string;
  readonly storeKind: string;
}

/** StatsResponse → StatsView. */
export function statsView(s: StatsResponse): StatsView {
  return {
    entries: Number(s.entries),
    lookups: Number(s.lookups),
    exactHits: Number(s.exactHits),
    semanticHits: Number(s.semanticHits),
    misses: Number(s.misses),
    hitRate: Math.round(s.hitRate * 1000) / 1000,
    stores: Number(s.stores),
    llmCalls: Number(s.llmCalls),
    coalescedCalls: Number(s.coalescedCalls),
    tokensSaved: Number(s.tokensSaved),
    cacheErrors: Number(s.cacheErrors),
    guardRejections: Number(s.guardRejections),
    flushes: Number(s.flushes),
    modelId: s.modelId,
    storeKind: s.storeKind,
  };
}

/** A phase before the measured load (seeding the store, warming up). */
export interface PhaseResult {
  readonly calls: number;
  readonly errors: number;
  readonly seconds: number;
  readonly summary: RecordSummary;
}

/** One pass/fail line of the verdict. */
export interface Check {
  readonly name: string;
  readonly passed: boolean;
  readonly detail: string;
  /** Informational checks are reported but do not change the exit code. */
  readonly fatal: boolean;
}

/** Everything a run measured. */
export interface LoadResults {
  readonly createdAt: string;
  /** Fewer calls completed than the default: a smoke run (or one cut short), not for quoting. */
  readonly short: boolean;
  readonly machine: MachineInfo;
  readonly loadAverageAtEnd: readonly number[];
  readonly config: {
    readonly store: string;
    readonly entry: string;
    readonly model: string;
    readonly embedThreads: number;
    readonly guard: string;
    readonly threshold: number;
    readonly llm: string;
    readonly llmDelayMs: number;
    readonly calls: number;
    readonly concurrency: number;
    readonly maxSeconds: number;
    readonly seed: number;
    readonly callTimeoutMs: number;
    readonly seedEntriesPerNamespace: number;
    readonly warmupCalls: number;
  };
  readonly mix: {
    readonly operations: readonly Operation[];
    readonly namespaces: readonly LoadNamespace[];
    readonly protocols: typeof PROTOCOL_MIX;
  };
  readonly coldStartMs: number;
  readonly seeding: PhaseResult;
  readonly warmup: PhaseResult;
  readonly load: {
    readonly planned: number;
    readonly completed: number;
    readonly stoppedByDeadline: boolean;
    readonly seconds: number;
    readonly callsPerSecond: number;
    readonly summary: RecordSummary;
    readonly answers: AnswerCounts;
  };
  readonly rss: RssReport;
  readonly verification: VerifyReport;
  readonly llm: {
    /** Chat requests the loopback LLM received, seeding to end. */
    readonly requestsReceived: number;
    readonly completed: number;
    readonly closedEarly: number;
    /** Ask answers with source LLM the load test received, seeding to end. */
    readonly llmAnswersSeen: number;
  };
  /** Stats at the end, overall and per namespace; null when Stats failed. */
  readonly serverStats: { readonly overall: StatsView; readonly byNamespace: Readonly<Record<string, StatsView>> } | null;
  readonly checks: readonly Check[];
  readonly passed: boolean;
  readonly totalSeconds: number;
}
