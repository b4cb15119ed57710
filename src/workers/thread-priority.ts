/**
 * CPU priority of the calling thread. Linux keeps a nice value per thread,
 * and setpriority(2) given a thread id changes that thread alone, so a
 * worker thread can yield the CPU to the event loop under load without
 * changing the process's priority.
 */
import { readlinkSync } from "node:fs";
import { basename } from "node:path";
import { getPriority, setPriority } from "node:os";

/**
 * Raises the calling worker thread's nice value by `increment` (at most to
 * 19, the lowest priority). Returns whether it was lowered: false where
 * threads cannot be told apart (not Linux, no /proc) or on the main thread,
 * whose id is the process's.
 */
export function lowerThreadPriority(increment: number): boolean {
  if (increment <= 0) return false;
  let tid: number;
  try {
    // /proc/thread-self links to <pid>/task/<tid>.
    tid = Number(basename(readlinkSync("/proc/thread-self")));
  } catch {
    return false;
  }
  if (!Number.isInteger(tid) || tid <= 0 || tid === process.pid) return false;
  setPriority(tid, Math.min(19, getPriority(tid) + increment));
  return true;
}
