import { mkdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import type { Worker } from "node:worker_threads";
import { startModuleWorker } from "../../workers/module-worker.js";
import type { IndexParams } from "../cache-store.js";
import { GRAPH_SAVED, type GraphBuildJob } from "./graph-build-protocol.js";
import { HnswIndex } from "./vector-index.js";

/** A graph being built somewhere other than the event loop. */
export interface GraphBuild {
  /** The finished graph, holding exactly the labels it was given. */
  readonly done: Promise<HnswIndex>;
  /** Abandons the build (the scope was dropped, or the store is closing); `done` then never settles. */
  stop(): void;
}

/** Starts building a graph of `labels` and their `vectors` (`labels.length × dimension`, owned by the build from now on). */
export type GraphBuilder = (labels: readonly number[], vectors: Float32Array<ArrayBuffer>) => GraphBuild;

/** Directory, inside the data directory, where worker-built graphs wait to be loaded. */
export const GRAPH_BUILD_DIR = "hnsw-build";

/**
 * Builds graphs on a worker thread, which saves each to a file in
 * `dataDir/hnsw-build` that the main thread loads (usearch can hand an index
 * between threads only through a file). One build runs at a time: each is
 * CPU-bound, and the other core serves requests. Whatever an earlier process
 * left in that directory is removed first: a graph there is only ever half
 * of a build.
 */
export function workerGraphBuilder(dataDir: string, dimension: number, params: IndexParams, insertThreads: number): GraphBuilder {
  const dir = join(dataDir, GRAPH_BUILD_DIR);
  rmSync(dir, { recursive: true, force: true });
  let serial = 0;
  let previous: Promise<unknown> = Promise.resolve();
  return (labels, vectors) => {
    let stopped = false;
    let worker: Worker | undefined;
    const path = join(dir, `${serial++}.usearch`);
    const run = (): Promise<HnswIndex> => {
      mkdirSync(dir, { recursive: true });
      const job: GraphBuildJob = { dimension, params, insertThreads, labels: Float64Array.from(labels), vectors, path };
      const transferList = [job.labels.buffer, vectors.buffer];
      const started = startModuleWorker(import.meta.url, "graph-build-worker", { workerData: job, transferList });
      worker = started;
      // A build must never keep a finished process alive; close stops it anyway.
      started.unref();
      return new Promise<HnswIndex>((resolve, reject) => {
        started.once("message", (message: unknown) => {
          try {
            if (message !== GRAPH_SAVED) throw new Error(`graph build worker sent ${String(message)}`);
            resolve(HnswIndex.load(path, dimension, params, labels.length, insertThreads));
          } catch (error) {
            reject(error);
          } finally {
            rmSync(path, { force: true });
          }
        });
        started.once("error", reject);
        started.once("exit", (code) => reject(new Error(`graph build worker exited with code ${code} before saving the graph`)));
      });
    };
    const settled = previous.then(() => (stopped ? Promise.reject(new Error("graph build stopped before it started")) : run()));
    // The next build waits for this one to end, however it ends.
    previous = settled.catch(() => undefined);
    const done = new Promise<HnswIndex>((resolve, reject) => {
      settled.then(
        (graph) => {
          if (!stopped) resolve(graph);
        },
        (error: unknown) => {
          if (!stopped) reject(error);
        },
      );
    });
    return {
      done,
      stop: () => {
        stopped = true;
        void worker?.terminate().finally(() => rmSync(path, { force: true }));
      },
    };
  };
}
