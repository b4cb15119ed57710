/**
 * A `semcache serve` child process for the benchmark, on a free loopback
 * port: the source CLI under tsx by default (always the code as checked
 * out; cold start then includes TypeScript transpilation), or the compiled
 * one (`--dist`, after `npm run build`).
 */
import { spawn, type ChildProcess } from "node:child_process";
import { readFileSync } from "node:fs";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";

export const REPO = fileURLToPath(new URL("../../", import.meta.url));
const CLI = fileURLToPath(new URL("../../src/cli/main.ts", import.meta.url));

export interface BenchServer {
  readonly process: ChildProcess;
  readonly url: string;
  /** Milliseconds from spawn to the first /healthz 200 (SERVING). */
  readonly coldStartMs: number;
  /** Milliseconds from spawn to the "listening" log line. */
  readonly listeningMs: number;
  /** Resident set size of the server process now, in bytes. */
  rss(): number;
  stop(): Promise<void>;
  stderr(): string;
}

/** VmRSS of a process from /proc (Linux); falls back to `ps`. */
export function rssOf(pid: number): number {
  try {
    const status = readFileSync(`/proc/${pid}/status`, "utf8");
    const kb = /VmRSS:\s+(\d+)\s+kB/.exec(status)?.[1];
    if (kb !== undefined) return Number(kb) * 1024;
  } catch {
    // not Linux
  }
  return 0;
}

/** The compiled CLI (`npm run build`), for `--dist`. */
export const DIST_CLI = fileURLToPath(new URL("../../dist/cli/main.js", import.meta.url));

/**
 * Starts `semcache serve`: from source under tsx by default, or the compiled
 * CLI when `dist` is true; resolves once /healthz answers 200.
 */
export async function startServer(env: Record<string, string>, options: { dist?: boolean; timeoutMs?: number } = {}): Promise<BenchServer> {
  const timeoutMs = options.timeoutMs ?? 600_000;
  const started = performance.now();
  const args = options.dist === true ? [DIST_CLI, "serve"] : ["--import", "tsx", CLI, "serve"];
  const child = spawn(process.execPath, args, {
    cwd: REPO,
    env: { ...process.env, SEMCACHE_HOST: "127.0.0.1", SEMCACHE_PORT: "0", SEMCACHE_LOG_LEVEL: "info", ...env },
    stdio: ["ignore", "ignore", "pipe"],
  });
  let stderr = "";
  const exited = new Promise<number | string>((resolve) => child.once("exit", (code, signal) => resolve(code ?? signal ?? "unknown")));
  let listeningMs = 0;
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not listen in ${timeoutMs} ms:\n${stderr}`)), timeoutMs);
    void exited.then((code) => reject(new Error(`server exited (${code}) before listening:\n${stderr}`)));
    createInterface({ input: child.stderr! }).on("line", (line) => {
      stderr += `${line}\n`;
      const match = /"url":"(http:[^"]+)"/.exec(line);
      if (match?.[1] !== undefined) {
        listeningMs = performance.now() - started;
        clearTimeout(timer);
        resolve(match[1]);
      }
    });
  });
  const deadline = started + timeoutMs;
  for (;;) {
    const status = await fetch(`${url}/healthz`).then((r) => r.status, () => 0);
    if (status === 200) break;
    if (performance.now() > deadline) {
      child.kill("SIGKILL");
      throw new Error(`server not SERVING in ${timeoutMs} ms:\n${stderr}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  const coldStartMs = performance.now() - started;
  return {
    process: child,
    url,
    coldStartMs,
    listeningMs,
    rss: () => rssOf(child.pid!),
    stderr: () => stderr,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), 60_000);
      await exited;
      clearTimeout(timer);
    },
  };
}
