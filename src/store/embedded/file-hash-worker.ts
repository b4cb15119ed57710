/**
 * Worker thread that hashes files (file-hash.ts) and posts `[path, hex]` for
 * each, in order (`[path, null]` for one it cannot read), then exits.
 */
import { parentPort, workerData } from "node:worker_threads";
import { sha256File } from "./file-hash.js";

for (const path of (workerData as { readonly paths: readonly string[] }).paths) {
  let hash: string | null = null;
  try {
    hash = sha256File(path);
  } catch {
    // Missing or unreadable: the caller treats the snapshot as unusable.
  }
  parentPort?.postMessage([path, hash]);
}
