/**
 * SHA-256 of snapshot files, on this thread or on a worker thread. Hashing a
 * 1M-entry graph (1.5 GB) takes about a second; on a worker it overlaps with
 * the SQLite reads that opening the store does meanwhile.
 */
import { createHash } from "node:crypto";
import { closeSync, openSync, readSync } from "node:fs";
import { startModuleWorker } from "../../workers/module-worker.js";

/** The hex SHA-256 of a file, read in 1 MiB chunks. */
export function sha256File(path: string): string {
  const hash = createHash("sha256");
  const fd = openSync(path, "r");
  try {
    const buffer = Buffer.allocUnsafe(1 << 20);
    for (;;) {
      const n = readSync(fd, buffer, 0, buffer.length, null);
      if (n === 0) break;
      hash.update(buffer.subarray(0, n));
    }
  } finally {
    closeSync(fd);
  }
  return hash.digest("hex");
}

/** Hashes being computed on a worker thread. */
export interface PendingHashes {
  /**
   * The hash of `path`, one of the paths given: from the worker, or computed
   * here when the worker failed; undefined when the file cannot be read.
   */
  get(path: string): Promise<string | undefined>;
  /** Ends the worker if it is still hashing; later `get` calls hash on this thread. */
  stop(): void;
}

/** Starts hashing `paths` on a worker thread, in order. */
export function sha256FilesOffThread(paths: readonly string[]): PendingHashes {
  const onThisThread = (path: string): string | undefined => {
    try {
      return sha256File(path);
    } catch {
      return undefined;
    }
  };
  if (paths.length === 0) return { get: async (path) => onThisThread(path), stop: () => undefined };
  const done = new Map<string, string | undefined>();
  const waiting = new Map<string, ((hash: string | undefined) => void)[]>();
  let failed = false;
  const settle = (path: string, hash: string | undefined): void => {
    done.set(path, hash);
    for (const resolve of waiting.get(path) ?? []) resolve(hash);
    waiting.delete(path);
  };
  const failAll = (): void => {
    failed = true;
    for (const path of [...waiting.keys()]) settle(path, onThisThread(path));
  };
  let worker: ReturnType<typeof startModuleWorker> | undefined;
  try {
    worker = startModuleWorker(import.meta.url, "file-hash-worker", { workerData: { paths: [...paths] } });
    worker.on("message", ([path, hash]: [string, string | null]) => settle(path, hash ?? undefined));
    worker.on("error", failAll);
    // After a normal exit every path is settled already; after a crash or stop() the rest is hashed here.
    worker.on("exit", failAll);
  } catch {
    failed = true;
  }
  return {
    get(path) {
      if (done.has(path)) return Promise.resolve(done.get(path));
      if (failed) return Promise.resolve(onThisThread(path));
      return new Promise((resolve) => waiting.set(path, [...(waiting.get(path) ?? []), resolve]));
    },
    stop() {
      void worker?.terminate();
      // Whatever is still asked for is hashed here from now on.
      failAll();
    },
  };
}
