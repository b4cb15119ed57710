import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";

const REPO = fileURLToPath(new URL("../..", import.meta.url));
const CLI = fileURLToPath(new URL("../../src/cli/main.ts", import.meta.url));

/** A `semcache serve` child process. */
export interface ChildServer {
  readonly process: ChildProcess;
  /** Base URL, once it listens. */
  readonly url: string;
  /** Everything it wrote to stderr so far. */
  stderr(): string;
  /** Resolves with the exit code (or the signal's name). */
  readonly exited: Promise<number | string>;
}

/** Runs the CLI with arguments and environment, to completion; for startup-failure tests. */
export async function runCli(args: readonly string[], env: Record<string, string>): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, ["--import", "tsx", CLI, ...args], { cwd: REPO, env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  const [code] = (await once(child, "exit")) as [number | null];
  return { code, stdout, stderr };
}

/**
 * Starts `semcache serve` in a child process and resolves once it is ready
 * (its /healthz answers SERVING). `script` replaces the CLI by another entry
 * point that serves the same way (the fleet tests' replicas).
 */
export async function startChildServer(env: Record<string, string>, timeoutMs = 120_000, script = CLI): Promise<ChildServer> {
  // The URL is read from the "listening" line, which is logged at info level.
  const childEnv = { ...process.env, ...env, SEMCACHE_LOG_LEVEL: "info" };
  const child = spawn(process.execPath, ["--import", "tsx", script, "serve"], { cwd: REPO, env: childEnv, stdio: ["ignore", "ignore", "pipe"] });
  let stderr = "";
  const exited = new Promise<number | string>((resolve) => child.once("exit", (code, signal) => resolve(code ?? signal ?? "unknown")));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not listen in ${timeoutMs} ms:\n${stderr}`)), timeoutMs);
    void exited.then((code) => reject(new Error(`server exited (${code}) before listening:\n${stderr}`)));
    createInterface({ input: child.stderr }).on("line", (line) => {
      stderr += `${line}\n`;
      const match = /"url":"(http:[^"]+)"/.exec(line);
      if (match?.[1] !== undefined) {
        clearTimeout(timer);
        resolve(match[1]);
      }
    });
  });
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const health = await fetch(`${url}/healthz`).then((r) => r.status, () => 0);
    if (health === 200) break;
    if (Date.now() > deadline) throw new Error(`server not ready in ${timeoutMs} ms:\n${stderr}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return { process: child, url, stderr: () => stderr, exited };
}
