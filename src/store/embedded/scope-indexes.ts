import { setImmediate as nextTurn } from "node:timers/promises";
import type { IndexParams } from "../cache-store.js";
import { hnswCandidates } from "../recall.js";
import { isLive } from "../expiry.js";
import type { GraphBuild, GraphBuilder } from "./graph-build.js";
import { LayeredGraph, REBUILD_MS_PER_VECTOR, type RebuildReason } from "./layered-graph.js";
import { ExactIndex, HnswIndex, type ScopeVectorIndex } from "./vector-index.js";

/** A search result: a live label and its cosine similarity. */
export interface LabelSimilarity {
  readonly label: number;
  readonly similarity: number;
}

/** A vector to index with the row facts the index needs. */
export interface IndexedVector {
  readonly label: number;
  readonly expiresAtMs: number;
  readonly vector: Float32Array;
}

/** One scope's vectors and the expiry of each, so searches skip expired rows without reading them. */
export interface ScopeState {
  readonly namespace: string;
  index: ScopeVectorIndex;
  /** label → expiresAtMs (0 = never); also the set of labels in `index`. */
  readonly expiry: Map<number, number>;
  /** The HNSW graph being built in the background while `index` (exact) keeps serving. */
  building?: HnswBuild;
}

/** Reads up to `limit` of a scope's rows with `afterLabel < label <= upToLabel`, in label order (SQLite's, for {@link ScopeIndexes.compactGraph}). */
export type ScopePageReader = (afterLabel: number, upToLabel: number, limit: number) => readonly IndexedVector[];

/** A graph under construction and the labels still to insert into it. */
interface HnswBuild {
  /** The graph; undefined while a {@link GraphBuilder} makes it elsewhere. */
  hnsw: HnswIndex | LayeredGraph | undefined;
  /** Labels to insert once the graph is here (removed ones are skipped then). */
  readonly queue: number[];
  /** The vector of a queued label. */
  readonly vectorOf: (label: number) => Float32Array | undefined;
  /**
   * Vectors added while a graph is rebuilt, by label: the index serving
   * meanwhile is a layered graph, which cannot give them back.
   */
  readonly addedMeanwhile?: Map<number, Float32Array>;
  /** Stops the work elsewhere when the build is abandoned. */
  readonly stop?: () => void;
  /** Called once the scope has switched to the graph. */
  readonly switched?: () => void;
}

// Vectors inserted into a graph under construction per turn of the event
// loop: about 50 ms of work on a busy core, so requests keep being served.
const BUILD_CHUNK = 100;

// Rows read from SQLite per turn of the event loop when a graph is rebuilt
// from them: about 15 ms of reading and decoding.
const READ_PAGE = 1_024;

/**
 * Fewest vectors a background build must have for its time to become the
 * rebuild cost ({@link ScopeIndexes.rebuildMsPerVector}): a smaller build's
 * time is mostly the worker's start and the mapping of its file, and an
 * insert costs less in a small graph than in the large ones that get
 * rebuilt.
 */
export const TIMED_BUILD_MIN_VECTORS = 10_000;

/**
 * Weight of the newest timed build in {@link ScopeIndexes.rebuildMsPerVector}
 * once there is an earlier one: a build that ran through a load spike moves
 * the rate half way, not all the way, and a lasting change is learned within
 * a few builds (large builds are minutes apart, so a slower average would
 * trail a machine that stays busier for hours).
 */
export const REBUILD_RATE_WEIGHT = 0.5;

/**
 * One vector index per scope key. A search only ever looks inside its own
 * scope's index, which makes the scope a true pre-filter: entries of other
 * scopes cannot crowd the top-k out.
 *
 * Small scopes use a flat exact index and move to HNSW once they grow past
 * `exactLimit` vectors; they never move back while open (a restart rebuilds
 * them by size).
 */
export class ScopeIndexes {
  private readonly scopes = new Map<string, ScopeState>();
  // namespace → number of its scopes in `scopes`, for the per-namespace limit.
  private readonly perNamespace = new Map<string, number>();

  constructor(
    /** Length of every vector. */
    readonly dimension: number,
    /** HNSW parameters for scopes past `exactLimit`. */
    readonly params: IndexParams,
    /** Largest scope kept in a flat exact index. */
    readonly exactLimit: number,
    /** Threads for batch inserts into HNSW (0: every core). */
    readonly insertThreads = 1,
  ) {}

  /**
   * When true (set once a store has loaded), a scope that grows past
   * `exactLimit` keeps its exact index, which goes on serving, while its HNSW
   * graph is built a chunk per turn of the event loop, and only then switches:
   * building 2,000 vectors at once would stall every request for about a
   * second. When false (while loading at open), it switches at once.
   */
  promoteInBackground = false;

  /** Where failures of background graph builds go (the scope then builds on the event loop instead). */
  onBuildError: (error: unknown) => void = () => undefined;

  /** Told when a scope switches to a graph built off the event loop: its size and the build's wall time. */
  onGraphBuilt: (scopeKey: string, vectors: number, ms: number) => void = () => undefined;

  /**
   * Told when a scope's layered graph is worth rebuilding into one graph
   * (see LayeredGraph.rebuildReason), checked as it is searched and changed:
   * the store answers with {@link compactGraph}.
   */
  onRebuildDue: (scopeKey: string, graph: LayeredGraph, reason: RebuildReason) => void = () => undefined;

  // Graphs whose rebuild failed: not tried again while they serve (searches through them stay correct).
  private readonly notCompacted = new WeakSet<LayeredGraph>();

  private msPerVector = REBUILD_MS_PER_VECTOR;
  // Whether msPerVector was measured here yet (the default is another machine's).
  private rateMeasured = false;

  /**
   * What rebuilding a scope's graph costs per vector on this machine, in
   * milliseconds of wall time, from the background builds of at least
   * {@link TIMED_BUILD_MIN_VECTORS} vectors (less any wait for another
   * build): the first one's rate, then an exponentially weighted average
   * ({@link REBUILD_RATE_WEIGHT} on the newest). REBUILD_MS_PER_VECTOR
   * (measured on the 2-core bench machine) before any. A layered graph's
   * `slowed` rule weighs its searches against it, so the rent-or-buy bound
   * holds on a machine of any speed.
   */
  get rebuildMsPerVector(): number {
    return this.msPerVector;
  }

  /** Number of scopes with at least one vector. */
  get scopeCount(): number {
    return this.scopes.size;
  }

  /** The scopes, for snapshots. */
  entries(): IterableIterator<[string, ScopeState]> {
    return this.scopes.entries();
  }

  /** Whether a scope has vectors indexed. */
  has(scopeKey: string): boolean {
    return this.scopes.has(scopeKey);
  }

  /** Number of scopes of one namespace with at least one vector. */
  scopesIn(namespace: string): number {
    return this.perNamespace.get(namespace) ?? 0;
  }

  /** Installs a prebuilt index for a scope (at open), replacing any. */
  install(scopeKey: string, state: ScopeState): void {
    this.forget(scopeKey);
    this.remember(scopeKey, state);
  }

  /** Creates the right kind of empty index for a scope expected to hold `size` vectors. */
  emptyIndexFor(size: number): ScopeVectorIndex {
    return size > this.exactLimit ? HnswIndex.create(this.dimension, this.params, this.insertThreads) : new ExactIndex(this.dimension);
  }

  /**
   * Has a scope that is served by exact search, though larger than
   * `exactLimit` (loaded that way because its graph could not be restored),
   * get its graph from `build`, off the event loop, and switch to it. Until
   * then every search stays exact, so answers are right from the first
   * request, only slower (about 10 ms per 100k vectors). Vectors added
   * meanwhile are inserted after the graph arrives, a chunk per turn of the
   * event loop; vectors removed meanwhile are taken out of it.
   */
  buildGraphOffThread(scopeKey: string, build: GraphBuilder): void {
    const scope = this.scopes.get(scopeKey);
    if (scope === undefined || !(scope.index instanceof ExactIndex) || scope.building !== undefined) return;
    const started = performance.now();
    const { labels, vectors } = scope.index.contents();
    // A copy: the exact index goes on serving and changing while the graph is built.
    const job = build(labels, vectors.slice());
    const exact = scope.index;
    const state: HnswBuild = {
      hnsw: undefined,
      queue: [],
      vectorOf: (label) => exact.vectorOf(label),
      stop: () => job.stop(),
      switched: () => this.builtInBackground(scopeKey, scope.index.size, started, job),
    };
    scope.building = state;
    const current = (): boolean => this.scopes.get(scopeKey) === scope && scope.building === state;
    job.done.then(
      (graph) => {
        if (!current()) return;
        for (const label of labels) if (!scope.expiry.has(label)) graph.remove(label);
        state.hnsw = graph;
        this.stepBuild(scopeKey, scope, state);
      },
      (error: unknown) => {
        if (!current()) return;
        this.onBuildError(error);
        scope.building = undefined;
        this.startBuild(scopeKey, scope);
      },
    );
  }

  /**
   * Replaces a scope's layered graph (worth it: see LayeredGraph.rebuildReason)
   * by one graph of its live rows built by `build` off the event loop; the old
   * graph goes on serving until then. The rows are read with `readPage` a
   * page per turn of the event loop (a 1M-row scope takes seconds to read),
   * up to the scope's highest label now; rows added meanwhile are kept aside
   * and inserted once the graph is here, rows removed meanwhile are taken
   * out of it. A failed rebuild is logged (onBuildError) and not retried
   * for that graph: searches through it stay correct, only slower.
   */
  compactGraph(scopeKey: string, readPage: ScopePageReader, build: GraphBuilder): void {
    const scope = this.scopes.get(scopeKey);
    const old = scope?.index;
    if (scope === undefined || !(old instanceof LayeredGraph) || scope.building !== undefined) return;
    const started = performance.now();
    let upTo = 0;
    for (const label of scope.expiry.keys()) upTo = Math.max(upTo, label);
    const addedMeanwhile = new Map<number, Float32Array>();
    let job: GraphBuild | undefined;
    let stopped = false;
    const state: HnswBuild = {
      hnsw: undefined,
      queue: [],
      vectorOf: (label) => addedMeanwhile.get(label),
      addedMeanwhile,
      stop: () => {
        stopped = true;
        job?.stop();
      },
      switched: () => this.builtInBackground(scopeKey, scope.index.size, started, job),
    };
    scope.building = state;
    const current = (): boolean => !stopped && this.scopes.get(scopeKey) === scope && scope.building === state;
    const d = this.dimension;
    const rebuild = async (): Promise<void> => {
      // Every row up to `upTo` is indexed now, so this bounds what the pages can hold.
      const vectors = new Float32Array(scope.expiry.size * d);
      const labels: number[] = [];
      for (let after = 0; ; ) {
        const page = readPage(after, upTo, READ_PAGE);
        for (const row of page) {
          vectors.set(row.vector, labels.length * d);
          labels.push(row.label);
        }
        const lastRow = page.at(-1);
        if (page.length < READ_PAGE || lastRow === undefined) break;
        after = lastRow.label;
        await nextTurn();
        if (!current()) return;
      }
      job = build(labels, labels.length * d === vectors.length ? vectors : vectors.slice(0, labels.length * d));
      const graph = await job.done;
      if (!current()) return;
      for (const label of labels) if (!scope.expiry.has(label)) graph.remove(label);
      state.hnsw = graph;
      this.stepBuild(scopeKey, scope, state);
    };
    rebuild().catch((error: unknown) => {
      if (!current()) return;
      this.notCompacted.add(old);
      scope.building = undefined;
      this.onBuildError(error);
    });
  }

  /**
   * Moves a layered scope's tail (rows written after its snapshot, searched
   * exactly meanwhile) into its in-memory graph, a chunk per turn of the
   * event loop (see LayeredGraph.absorb); tells onGraphBuilt when done.
   * Stops when the scope is dropped or its graph replaced by a rebuild.
   */
  absorbTail(scopeKey: string): void {
    const scope = this.scopes.get(scopeKey);
    const graph = scope?.index;
    if (scope === undefined || !(graph instanceof LayeredGraph)) return;
    const started = performance.now();
    const step = (): void => {
      if (this.scopes.get(scopeKey) !== scope || scope.index !== graph) return;
      if (graph.absorb(BUILD_CHUNK)) this.onGraphBuilt(scopeKey, scope.expiry.size, performance.now() - started);
      else setImmediate(step);
    };
    setImmediate(step);
  }

  /** Adds vectors to one scope in one index call (a batch add uses every core). */
  add(scopeKey: string, namespace: string, items: readonly IndexedVector[]): void {
    if (items.length === 0) return;
    let scope = this.scopes.get(scopeKey);
    if (scope === undefined) {
      scope = { namespace, index: this.emptyIndexFor(items.length), expiry: new Map() };
      this.remember(scopeKey, scope);
    }
    const d = this.dimension;
    const labels = items.map((item) => item.label);
    const vectors = new Float32Array(items.length * d);
    for (const [i, item] of items.entries()) vectors.set(item.vector, i * d);
    for (const item of items) scope.expiry.set(item.label, item.expiresAtMs);
    if (scope.index instanceof ExactIndex && scope.index.size + items.length > this.exactLimit) {
      if (!this.promoteInBackground) {
        scope.index = this.promote(scope.index);
      } else {
        scope.index.add(labels, vectors);
        if (scope.building === undefined) {
          this.startBuild(scopeKey, scope);
        } else {
          scope.building.queue.push(...labels);
          // Writes outpacing the build (a bulk load): finish it now rather
          // than let the exact index, and the time it searches, grow on.
          if (scope.building.hnsw !== undefined && scope.building.queue.length > 2 * this.exactLimit) {
            this.continueBuild(scopeKey, scope, scope.building, Infinity);
          }
        }
        return;
      }
    }
    scope.index.add(labels, vectors);
    const building = scope.building;
    if (building?.addedMeanwhile !== undefined) {
      for (const [i, label] of labels.entries()) building.addedMeanwhile.set(label, vectors.subarray(i * d, (i + 1) * d));
      building.queue.push(...labels);
    }
    // Last: a rebuild started now reads these rows itself.
    this.checkRebuild(scopeKey, scope);
  }

  /** Removes one label; drops the scope's index once it is empty so memory follows live scopes. */
  remove(scopeKey: string, label: number): void {
    const scope = this.scopes.get(scopeKey);
    if (scope === undefined || !scope.expiry.delete(label)) return;
    scope.index.remove(label);
    // Already in the graph under construction, or still queued (then skipped).
    scope.building?.hnsw?.remove(label);
    scope.building?.addedMeanwhile?.delete(label);
    if (scope.expiry.size === 0) {
      this.forget(scopeKey);
      return;
    }
    this.checkRebuild(scopeKey, scope);
  }

  /**
   * Learns the rebuild cost from a whole scope's background build, begun at
   * `started` (performance.now()), less the time `job` waited for other
   * builds (see rebuildMsPerVector); then tells onGraphBuilt.
   */
  private builtInBackground(scopeKey: string, vectors: number, started: number, job: GraphBuild | undefined): void {
    const ms = performance.now() - started;
    if (vectors >= TIMED_BUILD_MIN_VECTORS) {
      const measured = (ms - (job?.queuedMs?.() ?? 0)) / vectors;
      this.msPerVector = this.rateMeasured ? this.msPerVector + REBUILD_RATE_WEIGHT * (measured - this.msPerVector) : measured;
      this.rateMeasured = true;
    }
    this.onGraphBuilt(scopeKey, vectors, ms);
  }

  /** Tells {@link onRebuildDue} when a scope's layered graph is worth rebuilding and is not being rebuilt (or failed to be). */
  private checkRebuild(scopeKey: string, scope: ScopeState): void {
    const graph = scope.index;
    if (!(graph instanceof LayeredGraph) || scope.building !== undefined || this.notCompacted.has(graph)) return;
    const reason = graph.rebuildReason(this.msPerVector);
    if (reason !== undefined) this.onRebuildDue(scopeKey, graph, reason);
  }

  /** Drops every scope of a namespace. */
  dropNamespace(namespace: string): void {
    for (const [key, scope] of this.scopes) {
      if (scope.namespace !== namespace) continue;
      scope.building?.stop?.();
      this.scopes.delete(key);
    }
    this.perNamespace.delete(namespace);
  }

  /** Drops every scope. */
  clear(): void {
    for (const scope of this.scopes.values()) scope.building?.stop?.();
    this.scopes.clear();
    this.perNamespace.clear();
  }

  /**
   * Up to `k` live labels of one scope nearest to `query`, best first.
   *
   * A scope of at most `exactLimit` vectors is searched exactly. A larger
   * one asks its HNSW graph for a wider candidate set than `k`
   * ({@link hnswCandidates}) and ranks them by their exact cosines.
   *
   * Expired rows stay indexed until the purge removes them, so when some of
   * the nearest are expired the search widens (×4 each round) until it has
   * `k` live ones or has seen the whole scope: an expired near-duplicate must
   * not hide a live match behind it.
   */
  search(scopeKey: string, query: Float32Array, k: number, nowMs: number): LabelSimilarity[] {
    const scope = this.scopes.get(scopeKey);
    if (scope === undefined || !(k >= 1)) return [];
    const total = scope.expiry.size;
    let want = Math.min(total, scope.index.exact ? k : hnswCandidates(k, this.params.efSearch));
    for (;;) {
      const live: LabelSimilarity[] = [];
      const matches = scope.index.search(query, want);
      for (const { label, distance } of matches) {
        const expiresAtMs = scope.expiry.get(label);
        if (expiresAtMs === undefined || !isLive(expiresAtMs, nowMs)) continue;
        live.push({ label, similarity: Math.max(-1, Math.min(1, 1 - distance)) });
      }
      if (live.length >= k || want >= total || matches.length < want) {
        live.sort((x, y) => y.similarity - x.similarity);
        this.checkRebuild(scopeKey, scope);
        return live.slice(0, k);
      }
      want = Math.min(total, want * 4);
    }
  }

  private remember(scopeKey: string, state: ScopeState): void {
    this.scopes.set(scopeKey, state);
    this.perNamespace.set(state.namespace, this.scopesIn(state.namespace) + 1);
  }

  private forget(scopeKey: string): void {
    const scope = this.scopes.get(scopeKey);
    if (scope === undefined) return;
    scope.building?.stop?.();
    this.scopes.delete(scopeKey);
    const left = this.scopesIn(scope.namespace) - 1;
    if (left > 0) this.perNamespace.set(scope.namespace, left);
    else this.perNamespace.delete(scope.namespace);
  }

  private startBuild(scopeKey: string, scope: ScopeState): void {
    const exact = scope.index as ExactIndex;
    const build: HnswBuild = {
      hnsw: HnswIndex.create(this.dimension, this.params, this.insertThreads),
      queue: exact.contents().labels,
      vectorOf: (label) => exact.vectorOf(label),
    };
    scope.building = build;
    this.stepBuild(scopeKey, scope, build);
  }

  /** Goes on inserting a build's queue, a chunk per turn of the event loop, until it switches or is abandoned. */
  private stepBuild(scopeKey: string, scope: ScopeState, build: HnswBuild): void {
    const step = (): void => {
      if (!this.continueBuild(scopeKey, scope, build, BUILD_CHUNK)) setImmediate(step);
    };
    setImmediate(step);
  }

  /**
   * Inserts up to `budget` queued vectors into the graph under construction,
   * and switches the scope to it once the queue is empty. Returns true when
   * the build is over (switched, or abandoned because the scope was dropped
   * or another build replaced it).
   */
  private continueBuild(scopeKey: string, scope: ScopeState, build: HnswBuild, budget: number): boolean {
    if (this.scopes.get(scopeKey) !== scope || scope.building !== build) return true;
    const hnsw = build.hnsw;
    if (hnsw === undefined) return false;
    while (build.queue.length > 0 && budget > 0) {
      const take = Math.min(budget, BUILD_CHUNK, build.queue.length);
      const labels: number[] = [];
      const chunk = new Float32Array(take * this.dimension);
      for (const label of build.queue.splice(0, take)) {
        const vector = build.vectorOf(label);
        if (vector === undefined) continue; // removed while queued
        chunk.set(vector, labels.length * this.dimension);
        labels.push(label);
      }
      hnsw.add(labels, chunk.subarray(0, labels.length * this.dimension));
      budget -= take;
    }
    if (build.queue.length > 0) return false;
    scope.index = hnsw;
    scope.building = undefined;
    build.switched?.();
    return true;
  }

  private promote(exact: ExactIndex): HnswIndex {
    const hnsw = HnswIndex.create(this.dimension, this.params, this.insertThreads);
    const { labels, vectors } = exact.contents();
    hnsw.add(labels, vectors);
    return hnsw;
  }
}
