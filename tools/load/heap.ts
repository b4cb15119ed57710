/**
 * The server's JavaScript heap, read from its Prometheus endpoint (the
 * prom-client default metrics of the main thread), next to each RSS sample:
 * it tells growth of JavaScript objects apart from native memory (the model
 * in its worker thread, SQLite, the HNSW indexes, allocator slack), which
 * RSS alone cannot.
 */

/** The main thread's heap figures at one moment, in bytes. */
export interface HeapFigures {
  readonly heapUsedBytes: number;
  readonly heapTotalBytes: number;
  /** Memory of JavaScript objects held outside the heap (buffers). */
  readonly externalBytes: number;
}

const NAMES = {
  heapUsedBytes: "nodejs_heap_size_used_bytes",
  heapTotalBytes: "nodejs_heap_size_total_bytes",
  externalBytes: "nodejs_external_memory_bytes",
} as const;

/** Reads the heap figures from `<url>/metrics`; undefined when the server does not give them (or does not answer in time). */
export async function readHeap(url: string, timeoutMs = 10_000): Promise<HeapFigures | undefined> {
  try {
    const response = await fetch(`${url}/metrics`, { signal: AbortSignal.timeout(timeoutMs) });
    if (!response.ok) return undefined;
    const text = await response.text();
    const value = (name: string): number | undefined => {
      const match = new RegExp(`^${name} (\\S+)`, "m").exec(text);
      return match?.[1] === undefined ? undefined : Number(match[1]);
    };
    const heapUsedBytes = value(NAMES.heapUsedBytes);
    const heapTotalBytes = value(NAMES.heapTotalBytes);
    const externalBytes = value(NAMES.externalBytes);
    if (heapUsedBytes === undefined || heapTotalBytes === undefined || externalBytes === undefined) return undefined;
    return { heapUsedBytes, heapTotalBytes, externalBytes };
  } catch {
    return undefined;
  }
}
