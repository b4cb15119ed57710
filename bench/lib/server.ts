/**
 * A `semcache serve` child process for the benchmark, on a free loopback
 * port: the compiled CLI for the benchmarks (`node dist/cli/main.js serve`, what
 * `npm start` and the Docker image run; buildDist() compiles the checkout
 * first so it is never stale), or the source CLI under tsx (`--source`, the
 * development mode, whose cold start includes TypeScript transpilation).
 */
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { rssBytesOf } from "../../test/support/proc.js";

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

/** The compiled CLI (`npm run build`), what `npm start` runs. */
export const DIST_CLI = fileURLToPath(new URL("../../dist/cli/main.js", import.meta.url));

/** Compiles src/ to dist/ (`npm run build`, incremental), so the benchmark runs the code as checked out. */
export function buildDist(): void {
  execFileSync(process.execPath, [fileURLToPath(new URL("../../node_modules/typescript/bin/tsc", import.meta.url)), "-p", "tsconfig.build.json"], {
    cwd: REPO,
    stdio: ["ignore", "inherit", "inherit"],
  });
}

/** How the server runs: the compiled CLI (what users run) or the TypeScript source under tsx. */
export type ServerEntry = "dist" | "source";

/**
 * Starts `semcache serve`: the compiled CLI with `entry: "dist"` (call
 * buildDist() first; the benchmarks do), else from source under tsx (the
 * load tool, which CI runs without a build); resolves once /healthz answers 200.
 */
export async function startServer(env: Record<string, string>, options: { entry?: ServerEntry; timeoutMs?: number; extraNodeArgs?: readonly string[] } = {}): Promise<BenchServer> {
  const timeoutMs = options.timeoutMs ?? 600_000;
  // The URL (port 0) is read from the info-level "listening" line: a quieter server would be waited for until the timeout.
  const level = env["SEMCACHE_LOG_LEVEL"];
  if (level !== undefined && !["trace", "debug", "info"].includes(level)) {
    throw new Error(`startServer reads the server's URL from its info-level log line; SEMCACHE_LOG_LEVEL=${level} hides it (use info or lower)`);
  }
  const started = performance.now();
  const entry = options.entry === "dist" ? [DIST_CLI, "serve"] : ["--import", "tsx", CLI, "serve"];
  const args = [...(options.extraNodeArgs ?? []), ...entry];
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
    rss: () => rssBytesOf(child.pid!),
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
