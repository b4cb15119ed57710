import { Index, MetricKind, ScalarKind, exactSearch } from "usearch";
import type { IndexParams } from "../cache-store.js";

/** One search result: a label and its cosine distance (1 − cosine similarity). */
export interface LabelDistance {
  readonly label: number;
  readonly distance: number;
}

/** The vectors of one scope, searchable by cosine distance. Labels are unique. */
export interface ScopeVectorIndex {
  /** Number of vectors held. */
  readonly size: number;
  /** True when a search compares the query with every vector; false for a graph, whose candidates are widened and re-ranked. */
  readonly exact: boolean;
  /** Adds `labels.length` vectors given as one flat array (`labels.length × dimension`). */
  add(labels: readonly number[], vectors: Float32Array): void;
  /** Removes a label; false when it was not there. */
  remove(label: number): boolean;
  /** Up to `k` nearest labels, best first. */
  search(query: Float32Array, k: number): LabelDistance[];
}

/**
 * Brute-force index for small scopes. An HNSW index costs about 55 KB even
 * for one vector (usearch reserves a block of slots and graph links), so
 * thousands of tiny scopes would waste hundreds of MB; a flat array costs
 * the vectors, and usearch's SIMD exact search over a few hundred vectors is
 * as fast as an HNSW search (measured: ~45 µs at 256 × 384-d).
 *
 * Storage grows on demand (exactly to the need while small, then by half
 * again), so a scope of one entry holds one vector: distinct scopes are
 * cheap, and a client cannot make each of thousands of them reserve room it
 * never fills.
 */
export class ExactIndex implements ScopeVectorIndex {
  // Own ArrayBuffer at offset 0: usearch's exactSearch reads the dataset from
  // the buffer's start and ignores a typed array's byteOffset.
  private data: Float32Array;
  private readonly labels: number[] = [];
  private readonly slots = new Map<number, number>();

  /** `capacity`: vectors to make room for at once, when the final size is known (loading a scope). */
  constructor(
    private readonly dimension: number,
    capacity = 0,
  ) {
    this.data = new Float32Array(capacity * dimension);
  }

  get size(): number {
    return this.labels.length;
  }

  get exact(): true {
    return true;
  }

  add(labels: readonly number[], vectors: Float32Array): void {
    const d = this.dimension;
    const needed = (this.labels.length + labels.length) * d;
    if (needed > this.data.length) {
      // ×1.5 keeps appends amortised O(1) while wasting at most a third.
      const grown = new Float32Array(Math.max(needed, Math.ceil((this.data.length * 1.5) / d) * d));
      grown.set(this.data.subarray(0, this.labels.length * d));
      this.data = grown;
    }
    labels.forEach((label, i) => {
      if (this.slots.has(label)) throw new Error(`label ${label} is already indexed`);
      const slot = this.labels.length;
      this.data.set(vectors.subarray(i * d, (i + 1) * d), slot * d);
      this.labels.push(label);
      this.slots.set(label, slot);
    });
  }

  remove(label: number): boolean {
    const slot = this.slots.get(label);
    if (slot === undefined) return false;
    const last = this.labels.length - 1;
    const d = this.dimension;
    // Swap the last vector into the hole so the live vectors stay contiguous.
    if (slot !== last) {
      const moved = this.labels[last] as number;
      this.data.copyWithin(slot * d, last * d, (last + 1) * d);
      this.labels[slot] = moved;
      this.slots.set(moved, slot);
    }
    this.labels.pop();
    this.slots.delete(label);
    // Give memory back once three quarters of the room is empty, so a scope
    // that shrank costs about what it holds again.
    if (this.labels.length * 4 <= this.data.length / d && this.data.length > 8 * d) {
      this.data = this.data.slice(0, Math.max(1, this.labels.length * 2) * d);
    }
    return true;
  }

  search(query: Float32Array, k: number): LabelDistance[] {
    const n = this.labels.length;
    const want = Math.min(k, n);
    if (want <= 0) return [];
    const dataset = this.data.subarray(0, n * this.dimension);
    const matches = exactSearch(dataset, atOffsetZero(query), this.dimension, want, MetricKind.Cos, 1);
    const out: LabelDistance[] = [];
    for (let i = 0; i < matches.keys.length; i++) {
      out.push({ label: this.labels[Number(matches.keys[i])] as number, distance: matches.distances[i] as number });
    }
    return out;
  }

  /** The vector of a label (a view into the index's storage), if it is indexed. */
  vectorOf(label: number): Float32Array | undefined {
    const slot = this.slots.get(label);
    return slot === undefined ? undefined : this.data.subarray(slot * this.dimension, (slot + 1) * this.dimension);
  }

  /** Every label with its vector (views into the index's storage), e.g. to move them to an HNSW index. */
  contents(): { labels: number[]; vectors: Float32Array } {
    return { labels: [...this.labels], vectors: this.data.subarray(0, this.labels.length * this.dimension) };
  }
}

/**
 * An HNSW index (usearch) over one scope's vectors, cosine metric: in memory
 * and changing, or memory-mapped from a file ({@link HnswIndex.map}) and
 * read-only.
 */
export class HnswIndex implements ScopeVectorIndex {
  private count = 0;
  private changeCount = 0;

  private constructor(
    private readonly index: Index,
    private readonly insertThreads: number,
    /** Mapped from a file: searched in place, never changed (see layered-graph.ts). */
    readonly mapped = false,
  ) {}

  /**
   * An empty index with the given graph parameters. `insertThreads` > 1 lets
   * a batch insert in parallel (0: every core); parallel construction is not
   * deterministic and, measured on random 384-d data, leaves a few vectors in
   * a thousand unreachable, so the default is 1.
   */
  static create(dimension: number, params: IndexParams, insertThreads = 1): HnswIndex {
    return new HnswIndex(newUsearchIndex(dimension, params), insertThreads);
  }

  /**
   * Loads a saved index; `size` is the number of live vectors it held when
   * saved (usearch's own `size()` is not a live count once slots are reused).
   * The caller must have verified the file: usearch aborts the process on a
   * truncated or corrupted file rather than throwing.
   */
  static load(path: string, dimension: number, params: IndexParams, size: number, insertThreads = 1): HnswIndex {
    const index = newUsearchIndex(dimension, params);
    index.load(path);
    if (index.dimensions() !== dimension) {
      throw new Error(`index file ${path} has dimension ${index.dimensions()}, expected ${dimension}`);
    }
    const loaded = new HnswIndex(index, insertThreads);
    loaded.count = size;
    return loaded;
  }

  /**
   * Maps a saved index into memory without reading it (usearch's `view`):
   * pages are read from the file as searches touch them. At 1M vectors this
   * took 0.1 s where {@link load} took 5 s on this machine, even with the
   * file in the page cache; searches ran as fast once warm. The result is
   * read-only (add and remove throw) and the file must not change while it
   * is mapped (snapshot files never do: each is written once, then only
   * linked or deleted). Check the file first, as for {@link load}.
   */
  static map(path: string, dimension: number, params: IndexParams, size: number): HnswIndex {
    const index = newUsearchIndex(dimension, params);
    index.view(path);
    if (index.dimensions() !== dimension) {
      throw new Error(`index file ${path} has dimension ${index.dimensions()}, expected ${dimension}`);
    }
    const mapped = new HnswIndex(index, 1, true);
    mapped.count = size;
    return mapped;
  }

  get size(): number {
    return this.count;
  }

  get exact(): false {
    return false;
  }

  /** Adds and removals made to this index object so far: equal counts mean equal contents. */
  get changes(): number {
    return this.changeCount;
  }

  add(labels: readonly number[], vectors: Float32Array): void {
    if (labels.length === 0) return;
    const keys = BigUint64Array.from(labels, (label) => BigInt(label));
    this.index.add(keys, vectors, labels.length === 1 ? 1 : this.insertThreads);
    this.count += labels.length;
    this.changeCount++;
  }

  remove(label: number): boolean {
    const removed = Number(this.index.remove(BigInt(label))) > 0;
    if (removed) {
      this.count--;
      this.changeCount++;
    }
    return removed;
  }

  search(query: Float32Array, k: number): LabelDistance[] {
    const want = Math.min(k, this.count);
    if (want <= 0) return [];
    const matches = this.index.search(query, want, 1);
    const out: LabelDistance[] = [];
    for (let i = 0; i < matches.keys.length; i++) {
      out.push({ label: Number(matches.keys[i]), distance: matches.distances[i] as number });
    }
    return out;
  }

  /** Whether every one of `labels` is in the index. */
  containsAll(labels: readonly number[]): boolean {
    return this.containsEach(labels).every(Boolean);
  }

  /** For each of `labels`, whether it is in the index (one native call). */
  containsEach(labels: readonly number[]): boolean[] {
    if (labels.length === 0) return [];
    const found = this.index.contains(BigUint64Array.from(labels, (label) => BigInt(label)));
    return Array.isArray(found) ? found : [found];
  }

  /** Writes the index to `path` (usearch's own format). */
  save(path: string): void {
    this.index.save(path);
  }
}

function newUsearchIndex(dimension: number, params: IndexParams): Index {
  return new Index({
    dimensions: dimension,
    metric: MetricKind.Cos,
    quantization: ScalarKind.F32,
    connectivity: params.m,
    expansion_add: params.efConstruction,
    expansion_search: params.efSearch,
    multi: false,
  });
}

function atOffsetZero(vector: Float32Array): Float32Array {
  return vector.byteOffset === 0 ? vector : vector.slice();
}
