/**
 * Runs an intents file against a semcache: stores every seed (response: its
 * intent id), then looks up every para and near line once, without
 * inserting, at the lowest threshold the API allows. Scoring per threshold
 * happens afterwards (score.ts).
 *
 * Two targets:
 * - in-process: a SemanticCache over a fresh embedded store in a temporary
 *   directory, looked up twice per prompt, without and with the guard (the
 *   embedding is computed once and shared);
 * - a running server (`--url`), through the generated client over gRPC, in
 *   a fresh namespace that is flushed afterwards; its guard is whatever the
 *   server is configured with.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { explainMismatch, createMatchGuard, type GuardCheck, type GuardRejection } from "../cache/guard/index.js";
import { normalizePrompt } from "../cache/normalize.js";
import { SemanticCache, type LookupResult } from "../cache/semantic-cache.js";
import type { Embedder } from "../embedder/embedder.js";
import { SemanticCacheService, MatchKind } from "../gen/semcache/v1/semantic_cache_pb.js";
import type { IndexParams } from "../store/cache-store.js";
import { openEmbeddedStore } from "../store/embedded/index.js";
import type { Dataset, IntentLine } from "./dataset.js";
import type { Observation } from "./score.js";

/** The lowest threshold a lookup accepts (the API requires > 0). */
export const LOWEST_THRESHOLD = 1e-6;

/** Candidates per semantic search (the cache core's default). */
export const DEFAULT_SEARCH_K = 4;

/** The variants an evaluation observes. */
export type VariantName = "guardOff" | "guardOn" | "server";

/** One lookup as observed, with the guard's reason when it rejected the nearest candidate. */
export interface ObservedLookup extends Observation {
  /** The nearest candidate's intent when the guard rejected it (in-process, guard on). */
  readonly rejected?: { readonly intent: string; readonly similarity: number } & GuardRejection;
}

/** What an evaluation run saw. */
export interface EvalObservations {
  /** "in-process embedded store" or the server's URL. */
  readonly target: string;
  readonly modelId: string;
  readonly searchK: number | undefined;
  /** The guard checks of the "guardOn" variant (in-process), or undefined. */
  readonly guardChecks: readonly GuardCheck[] | undefined;
  readonly variants: Partial<Record<VariantName, readonly ObservedLookup[]>>;
  /** Server only: the namespace's guard_rejections after the run (so: whether the server's guard is on). */
  readonly serverGuardRejections?: number;
  readonly millis: number;
}

/** Runs `work` over `items` with at most `limit` at a time, keeping the order of results. */
export async function mapLimit<T, R>(items: readonly T[], limit: number, work: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const index = next++;
      out[index] = await work(items[index]!, index);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}

/** An embedder that computes each text once (both variants look the same prompt up). */
class MemoEmbedder implements Embedder {
  private readonly memo = new Map<string, Promise<Float32Array>>();
  constructor(private readonly inner: Embedder) {}
  get modelId(): string {
    return this.inner.modelId;
  }
  get dimension(): number {
    return this.inner.dimension;
  }
  embed(text: string, tenant?: string): Promise<Float32Array> {
    let vector = this.memo.get(text);
    if (vector === undefined) {
      vector = this.inner.embed(text, tenant);
      this.memo.set(text, vector);
    }
    return vector;
  }
  close(): Promise<void> {
    return Promise.resolve();
  }
}

/** Options of {@link observeInProcess}. */
export interface InProcessOptions {
  /** The embedder (left open: the caller owns it). */
  readonly embedder: Embedder;
  /** The guard checks of the guarded variant. */
  readonly guardChecks: readonly GuardCheck[];
  readonly index?: Partial<IndexParams>;
  readonly searchK?: number;
  /** Lookups in flight at once (the embedder batches them); default 16. */
  readonly concurrency?: number;
}

const SCOPE = { namespace: "eval" };

function toObservation(line: IntentLine, result: LookupResult): Observation {
  return result.hit
    ? { line, bestSimilarity: result.similarity, served: { intent: result.entry.response, similarity: result.similarity, kind: result.kind } }
    : { line, bestSimilarity: result.similarity };
}

/** Runs the dataset against an in-process SemanticCache on a temporary embedded store, without and with the guard. */
export async function observeInProcess(dataset: Dataset, options: InProcessOptions): Promise<EvalObservations> {
  const started = Date.now();
  const dataDir = mkdtempSync(join(tmpdir(), "semcache-eval-"));
  const embedder = new MemoEmbedder(options.embedder);
  const store = await openEmbeddedStore({
    dataDir,
    modelId: embedder.modelId,
    dimension: embedder.dimension,
    ...(options.index === undefined ? {} : { index: options.index }),
    snapshots: false,
    purgeIntervalMs: 0,
  });
  try {
    const base = {
      defaultThreshold: 0.9,
      defaultTtlSeconds: 0,
      maxPromptBytes: 1 << 20,
      maxResponseBytes: 1 << 20,
      maxMetadataEntries: 0,
      maxMetadataBytes: 0,
      ...(options.searchK === undefined ? {} : { searchK: options.searchK }),
    };
    const off = new SemanticCache(store, embedder, base);
    const on = new SemanticCache(store, embedder, { ...base, guard: createMatchGuard(options.guardChecks, options.embedder) });
    const concurrency = options.concurrency ?? 16;
    await mapLimit(dataset.seeds, concurrency, (seed) => off.store({ prompt: seed.prompt, response: seed.intent, scope: SCOPE }));

    const lookups = [...dataset.paras, ...dataset.nears];
    const pairs = await mapLimit(lookups, concurrency, async (line) => {
      const plain = await off.lookup({ prompt: line.prompt, scope: SCOPE, minSimilarity: LOWEST_THRESHOLD });
      const guarded = await on.lookup({ prompt: line.prompt, scope: SCOPE, minSimilarity: LOWEST_THRESHOLD });
      const offObservation: ObservedLookup = toObservation(line, plain);
      let onObservation: ObservedLookup = toObservation(line, guarded);
      if (plain.hit && plain.kind === "semantic" && (!guarded.hit || guarded.entry.id !== plain.entry.id)) {
        const why = explainMismatch(normalizePrompt(line.prompt), normalizePrompt(plain.entry.prompt), options.guardChecks, options.embedder);
        if (why !== undefined) onObservation = { ...onObservation, rejected: { intent: plain.entry.response, similarity: plain.similarity, ...why } };
      }
      return [offObservation, onObservation] as const;
    });
    return {
      target: "in-process embedded store",
      modelId: embedder.modelId,
      searchK: options.searchK ?? DEFAULT_SEARCH_K,
      guardChecks: options.guardChecks,
      variants: { guardOff: pairs.map((p) => p[0]), guardOn: pairs.map((p) => p[1]) },
      millis: Date.now() - started,
    };
  } finally {
    await store.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

/** Options of {@link observeServer}. */
export interface ServerOptions {
  /** Base URL of a running semcache, e.g. http://127.0.0.1:8080. */
  readonly url: string;
  /** Namespace to use (flushed afterwards); default a fresh `eval-<random>`. */
  readonly namespace?: string;
  readonly concurrency?: number;
}

/** Runs the dataset against a running server over gRPC, in a fresh namespace it flushes afterwards. */
export async function observeServer(dataset: Dataset, options: ServerOptions): Promise<EvalObservations> {
  const started = Date.now();
  const client = createClient(SemanticCacheService, createGrpcTransport({ baseUrl: options.url }));
  const namespace = options.namespace ?? `eval-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
  const scope = { namespace };
  const concurrency = options.concurrency ?? 16;
  try {
    await mapLimit(dataset.seeds, concurrency, (seed) => client.store({ prompt: seed.prompt, response: seed.intent, scope }));
    const lookups = [...dataset.paras, ...dataset.nears];
    const observed = await mapLimit(lookups, concurrency, async (line): Promise<ObservedLookup> => {
      const r = await client.lookup({ prompt: line.prompt, scope, minSimilarity: LOWEST_THRESHOLD });
      if (!r.hit || r.entry === undefined) return { line, bestSimilarity: r.similarity };
      return {
        line,
        bestSimilarity: r.similarity,
        served: { intent: r.entry.response, similarity: r.similarity, kind: r.kind === MatchKind.EXACT ? "exact" : "semantic" },
      };
    });
    const stats = await client.stats({ namespace });
    return {
      target: options.url,
      modelId: stats.modelId,
      searchK: undefined,
      guardChecks: undefined,
      variants: { server: observed },
      serverGuardRejections: Number(stats.guardRejections),
      millis: Date.now() - started,
    };
  } finally {
    await client.flush({ namespace }).catch(() => undefined);
  }
}
