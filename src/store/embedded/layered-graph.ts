/**
 * A large scope's graph that starts from a memory-mapped file and goes on
 * changing in memory.
 *
 * Why: reading a 1M-vector graph into memory (usearch `load`) held a
 * starting server for 5-10 s, while mapping it (`view`) takes a tenth of a
 * second; and loading on the event loop a graph that a worker built stalled
 * every request just as long. A mapped graph cannot change, though, so the
 * vectors added afterwards go into a second, in-memory graph beside it, and
 * the ones removed from the mapped graph are remembered and skipped. A
 * search asks both graphs and merges their results by distance.
 *
 * The mapped graph only ever loses vectors, so the layering stays as it is
 * until a rebuild replaces it: at a start that finds no usable snapshot, for
 * instance one whose mapped graph is mostly removed (see index-loader.ts),
 * or while running, once {@link LayeredGraph.rebuildReason} says the layers
 * cost more than one graph would: see ScopeIndexes.compactGraph.
 *
 * After a crash, the rows written since the last snapshot can be many more
 * than a start should insert before serving (about 2,000 a second). They
 * wait in a third layer, searched exactly (the tail), and move into the
 * in-memory graph a chunk per turn of the event loop ({@link absorb}); rows
 * added meanwhile join the tail, so its labels always come after every label
 * of the graphs, and a snapshot saved meanwhile covers the graphs only.
 */
import type { IndexParams } from "../cache-store.js";
import { ExactIndex, HnswIndex, type LabelDistance, type ScopeVectorIndex } from "./vector-index.js";

/**
 * Whether a mapped graph of `mapped` vectors, `removed` of them gone, is
 * mostly dead: a search then wades through more removed neighbours than live
 * ones (asking for ever more, up to the whole graph once nothing mapped is
 * live), so the graph is rebuilt from the live rows instead.
 */
export function mostlyRemoved(removed: number, mapped: number): boolean {
  return removed * 2 > mapped;
}

/**
 * Time of a rebuild per vector, in milliseconds, until the process has
 * timed a rebuild of its own (ScopeIndexes.rebuildMsPerVector): the
 * graph-build worker's inserts at efConstruction 200, reading the rows and
 * mapping the result included (120k vectors in 203-215 s on the 2-core
 * bench machine, while the event loop served searches).
 */
export const REBUILD_MS_PER_VECTOR = 1.8;

/**
 * Why a layered graph is worth replacing by one graph of its live rows:
 * - `hollow`: most of the mapped graph is removed ({@link mostlyRemoved});
 * - `outgrown`: the in-memory graph holds more vectors than the mapped
 *   graph's live ones. It is saved beside the mapped one and loaded, not
 *   mapped, at the next start, so it would otherwise grow from restart to
 *   restart (and the start with it). Merging at each doubling rebuilds at
 *   most two vectors per vector added.
 * - `slowed`: searching the in-memory graph beside the mapped one has taken
 *   as much time as a rebuild of the whole scope would (at the cost per
 *   vector given to {@link LayeredGraph.rebuildReason}). Rent or buy: a
 *   scope searched often is merged soon, one searched rarely keeps its
 *   layers, and neither pays more than twice the better choice made in
 *   hindsight.
 */
export type RebuildReason = "hollow" | "outgrown" | "slowed";

/** What a layered graph is made of, e.g. to save it. */
export interface GraphLayers {
  /** The read-only graph, mapped from its file. */
  readonly mapped: HnswIndex;
  /** Vectors added since it was mapped; undefined until the first add. */
  readonly added: HnswIndex | undefined;
  /** Labels of the mapped graph removed since. */
  readonly removed: ReadonlySet<number>;
  /** Whether a label is in the tail still to absorb (a snapshot leaves those out). */
  readonly inTail: (label: number) => boolean;
}

/** A mapped graph plus in-memory additions and removals; see the module comment. */
export class LayeredGraph implements ScopeVectorIndex {
  private added: HnswIndex | undefined;
  private readonly removed: Set<number>;
  private readonly unseenDead: number;
  private changeCount = 0;
  // Time spent searching the in-memory graph: what the layering has cost so far (see RebuildReason "slowed").
  private addedSearchMs = 0;
  private tail: ExactIndex | undefined;
  // The tail's labels in the order they came (ascending), absorbed first to last; removed ones are skipped then.
  private tailOrder: number[] = [];
  private tailNext = 0;

  /**
   * Over `mapped` (from {@link HnswIndex.map}), with `added` and `removed`
   * as a snapshot saved them, if any. `unseenDead` counts rows the layers
   * hold that were deleted while no process watched (a crash came before the
   * next snapshot): which ones is unknown, and searches skip them as rows the
   * scope no longer has, but they weigh like removals in {@link hollow}.
   */
  constructor(
    private readonly mapped: HnswIndex,
    /** Length of every vector. */
    readonly dimension: number,
    private readonly params: IndexParams,
    private readonly insertThreads: number,
    layers: { readonly added?: HnswIndex; readonly removed?: Iterable<number>; readonly unseenDead?: number } = {},
  ) {
    if (!mapped.mapped) throw new Error("a layered graph starts from a mapped graph");
    this.added = layers.added;
    this.removed = new Set(layers.removed);
    this.unseenDead = layers.unseenDead ?? 0;
  }

  get size(): number {
    return this.mapped.size - this.removed.size + (this.added?.size ?? 0) + (this.tail?.size ?? 0);
  }

  /** Rows in the tail, still searched exactly. */
  get tailSize(): number {
    return this.tail?.size ?? 0;
  }

  get exact(): false {
    return false;
  }

  /**
   * Why this graph is worth rebuilding now, if it is (see {@link RebuildReason}),
   * when a rebuild costs `rebuildMsPerVector` per vector; never while a tail
   * is absorbed but when hollow.
   */
  rebuildReason(rebuildMsPerVector: number): RebuildReason | undefined {
    const dead = this.removed.size + this.unseenDead;
    if (mostlyRemoved(dead, this.mapped.size)) return "hollow";
    if (this.added === undefined || this.tail !== undefined) return undefined;
    if (this.added.size > this.mapped.size - dead) return "outgrown";
    if (this.addedSearchMs > this.size * rebuildMsPerVector) return "slowed";
    return undefined;
  }

  /** Adds and removals made to this object since it was opened: equal counts mean equal contents. */
  get changes(): number {
    return this.changeCount;
  }

  /** Its parts, for snapshots. */
  get layers(): GraphLayers {
    return { mapped: this.mapped, added: this.added, removed: this.removed, inTail: (label) => this.tail?.vectorOf(label) !== undefined };
  }

  /** Adds to the in-memory graph, or to the tail while one is being absorbed (its labels must stay last). */
  add(labels: readonly number[], vectors: Float32Array): void {
    if (labels.length === 0) return;
    if (this.tail !== undefined) {
      this.addToTail(labels, vectors);
      return;
    }
    this.added ??= HnswIndex.create(this.dimension, this.params, this.insertThreads);
    this.added.add(labels, vectors);
    this.changeCount++;
  }

  /**
   * Adds rows to the tail, searched exactly until {@link absorb} moves them
   * into the in-memory graph. Their labels must be higher than every label
   * already held (rows written after the snapshot, in label order).
   */
  addToTail(labels: readonly number[], vectors: Float32Array): void {
    if (labels.length === 0) return;
    this.tail ??= new ExactIndex(this.dimension, labels.length);
    this.tail.add(labels, vectors);
    this.tailOrder.push(...labels);
    this.changeCount++;
  }

  /**
   * Moves up to `budget` rows of the tail, oldest first, into the in-memory
   * graph (about 0.5 ms each at efConstruction 200); true once the tail is
   * empty.
   */
  absorb(budget: number): boolean {
    const tail = this.tail;
    if (tail === undefined) return true;
    const labels: number[] = [];
    const chunk = new Float32Array(Math.min(budget, tail.size) * this.dimension);
    while (labels.length < budget && this.tailNext < this.tailOrder.length) {
      const label = this.tailOrder[this.tailNext++] as number;
      const vector = tail.vectorOf(label);
      if (vector === undefined) continue; // removed meanwhile
      chunk.set(vector, labels.length * this.dimension);
      labels.push(label);
    }
    this.added ??= HnswIndex.create(this.dimension, this.params, this.insertThreads);
    this.added.add(labels, chunk.subarray(0, labels.length * this.dimension));
    for (const label of labels) tail.remove(label);
    this.changeCount++;
    if (tail.size > 0) return false;
    this.tail = undefined;
    this.tailOrder = [];
    this.tailNext = 0;
    return true;
  }

  remove(label: number): boolean {
    if (this.added?.remove(label) !== true && this.tail?.remove(label) !== true) {
      if (this.removed.has(label) || this.mapped.containsEach([label])[0] !== true) return false;
      this.removed.add(label);
    }
    this.changeCount++;
    return true;
  }

  /**
   * Up to `k` nearest labels of both graphs and the tail, best first. The mapped graph is
   * asked for more when removed labels crowd its nearest (×4 a round, as
   * ScopeIndexes does for expired rows), so a removal never hides a live
   * match; nothing once none of it is live.
   */
  search(query: Float32Array, k: number): LabelDistance[] {
    const found = this.tail?.search(query, k) ?? [];
    if (this.added !== undefined) {
      const started = performance.now();
      found.push(...this.added.search(query, k));
      this.addedSearchMs += performance.now() - started;
    }
    const total = this.mapped.size;
    // Asked at first for as many more as removed ones are expected among the
    // nearest, plus a margin, rather than for k: with even 1% removed, some of
    // 128 candidates usually are, and widening ×4 for them made every search
    // 3-4× dearer.
    const dead = this.removed.size + this.unseenDead;
    const first = dead === 0 ? k : Math.ceil((k * total * 1.1) / Math.max(1, total - dead)) + 4;
    for (let want = Math.min(total, first); want > 0 && total > this.removed.size; want = Math.min(total, want * 4)) {
      const matches = this.mapped.search(query, want);
      const live = matches.filter((m) => !this.removed.has(m.label));
      if (live.length >= k || want >= total || matches.length < want) {
        found.push(...live);
        break;
      }
    }
    return found.sort((x, y) => x.distance - y.distance).slice(0, k);
  }

  /** Whether every one of `labels` is in the graph (not removed). */
  containsAll(labels: readonly number[]): boolean {
    const live = labels.filter((label) => !this.removed.has(label));
    if (live.length < labels.length) return false;
    const inMapped = this.mapped.containsEach(live);
    const rest = live.filter((_, i) => !inMapped[i] && this.tail?.vectorOf(live[i] as number) === undefined);
    return rest.length === 0 || (this.added?.containsAll(rest) ?? false);
  }
}
