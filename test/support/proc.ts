/**
 * Figures about processes and threads read from Linux /proc, for the tests,
 * the benchmarks and the tools: one parser for the stat and status files
 * instead of one per caller. Each function says what it does where /proc is
 * not there (not Linux) or the process is gone.
 */
import { readdirSync, readFileSync } from "node:fs";

/** Clock ticks per second of the times in a stat file (USER_HZ, 100 on Linux), so one tick is 10 ms. */
const TICKS_PER_SECOND = 100;

/**
 * The fields of a /proc stat file (`/proc/<pid>/stat`, `/proc/<pid>/task/<tid>/stat`)
 * after the command name: index 0 is field 3 of proc(5) (the state), so field N
 * is at index N - 3. The command name is in parentheses and may itself hold
 * spaces and ")", so the fields are counted after the last ")". Throws when the
 * file cannot be read (not Linux, or the process is gone).
 */
export function statFields(path: string): string[] {
  const stat = readFileSync(path, "utf8");
  return stat
    .slice(stat.lastIndexOf(")") + 2)
    .trimEnd()
    .split(" ");
}

/**
 * CPU a process has used so far, all its threads, user and system, in
 * milliseconds: utime + stime (fields 14 and 15 of its stat), which count
 * 10 ms ticks. NaN when /proc cannot be read (not Linux), so a difference of
 * two readings is NaN rather than a plausible-looking 0.
 */
export function cpuMsOf(pid: number): number {
  try {
    const fields = statFields(`/proc/${pid}/stat`);
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / TICKS_PER_SECOND;
  } catch {
    return Number.NaN;
  }
}

/**
 * Resident set size of a process now, in bytes (VmRSS of /proc/<pid>/status,
 * which is in kB). 0 when the status has no VmRSS line (a zombie or kernel
 * thread). Throws when the status cannot be read (not Linux, or the process is
 * gone): for a caller that must not mistake a dead process for a small one.
 */
export function rssBytesOrThrow(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const kb = /^VmRSS:\s+(\d+)\s+kB/m.exec(status)?.[1];
  return kb === undefined ? 0 : Number(kb) * 1024;
}

/** Resident set size of a process now, in bytes, as rssBytesOrThrow; 0 when /proc cannot be read (not Linux, or the process is gone). */
export function rssBytesOf(pid: number): number {
  try {
    return rssBytesOrThrow(pid);
  } catch {
    return 0;
  }
}

/**
 * Nice value of each thread of a process, by thread id (field 19 of each
 * task's stat). Linux keeps a nice value per thread, so threads of one process
 * can differ. Throws when /proc cannot be read (not Linux).
 */
export function threadNicesOf(pid: number | "self"): Map<number, number> {
  const nices = new Map<number, number>();
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    nices.set(Number(tid), Number(statFields(`/proc/${pid}/task/${tid}/stat`)[16]));
  }
  return nices;
}
