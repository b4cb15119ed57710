/**
 * A semcache server to attack: `semcache serve` in a child process on the
 * fixture model, with API keys on (an admin key and a user key), on a free
 * loopback port, with its own data directory; plus the probes every attack
 * judges by (a valid-key Lookup, /healthz, the child's resident memory).
 */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { generateApiKey, hashApiKey } from "../../src/auth/key-hash.js";
import { rssBytesOrThrow } from "../../test/support/proc.js";
import { ensureFixtureModel } from "../fixture-model/index.js";

const REPO = fileURLToPath(new URL("../..", import.meta.url));
const CLI = fileURLToPath(new URL("../../src/cli/main.ts", import.meta.url));

/** How a target is started. */
export interface TargetOptions {
  /** Extra environment (settings) for the server. */
  readonly env?: Readonly<Record<string, string>>;
  /** False: start without API keys (keyless mode). Default true. */
  readonly keys?: boolean;
  /** How long to wait for SERVING; default 120 s. */
  readonly readyTimeoutMs?: number;
  /** More keys in the key file besides the admin and user keys; their secrets are in `AttackTarget.extraKeys`. */
  readonly extraKeys?: readonly ExtraKey[];
  /** Writes the key file's JSON and returns its path (e.g. as a symlinked Secret volume); default: keys.json in a temporary directory. */
  readonly writeKeyFile?: (json: string) => Promise<string>;
}

/** A key file entry for {@link TargetOptions.extraKeys}. */
export interface ExtraKey {
  readonly id: string;
  readonly role: "user" | "admin";
  /** Namespaces of a user key. */
  readonly namespaces?: readonly string[];
  /** The key's own rate limit (requestsPerSecond 0: unlimited). */
  readonly rateLimit?: { readonly requestsPerSecond: number; readonly burst: number };
}

/** How long one probe took, in ms; Infinity when it got no answer in time. */
export interface ProbeTimes {
  readonly lookupMs: number;
  readonly healthzMs: number;
}

/** The slower of a probe's two answers: what "the server answered promptly" is judged by. */
export function worstOf(probe: ProbeTimes): number {
  return Math.max(probe.lookupMs, probe.healthzMs);
}

/** A running server under attack. */
export interface AttackTarget {
  /** Base URL, e.g. http://127.0.0.1:40123. */
  readonly url: string;
  readonly port: number;
  /** The child process's id. */
  readonly pid: number;
  /** Its data directory (embedded store). */
  readonly dataDir: string;
  /** An admin key (every namespace) and a user key limited to namespace "tenant-a". */
  readonly adminKey: string;
  readonly userKey: string;
  /** The secrets of `TargetOptions.extraKeys`, by id. */
  readonly extraKeys: Readonly<Record<string, string>>;
  /** Times a valid-key Lookup (Connect JSON, namespace tenant-a) and GET /healthz, each bounded by `timeoutMs` (default 5 s). */
  probe(timeoutMs?: number): Promise<ProbeTimes>;
  /** The child's resident memory, in bytes (from /proc); rejects once the child is gone (or off Linux). */
  rssBytes(): Promise<number>;
  /** Everything it wrote to stderr so far (JSON log lines). */
  stderr(): string;
  /** Stops it (SIGKILL after 10 s) and removes its data directory. */
  stop(): Promise<void>;
}

/** Answers within `ms` or not at all: resolves to Infinity on a time-out or a failure. */
async function timed(work: (signal: AbortSignal) => Promise<boolean>, ms: number): Promise<number> {
  const started = performance.now();
  const ok = await work(AbortSignal.timeout(ms)).catch(() => false);
  return ok ? performance.now() - started : Number.POSITIVE_INFINITY;
}

/** Starts a server to attack; see the module comment. */
export async function launchTarget(options: TargetOptions = {}): Promise<AttackTarget> {
  const modelDir = await ensureFixtureModel();
  const dataDir = await mkdtemp(join(tmpdir(), "semcache-attack-"));
  const adminKey = generateApiKey();
  const userKey = generateApiKey();
  const env: Record<string, string> = {
    ...(process.env as Record<string, string>),
    SEMCACHE_MODEL_DIR: modelDir,
    SEMCACHE_DATA_DIR: join(dataDir, "store"),
    SEMCACHE_PORT: "0",
    SEMCACHE_HOST: "127.0.0.1",
    SEMCACHE_LOG_LEVEL: "info",
  };
  const extraKeys = Object.fromEntries((options.extraKeys ?? []).map((key) => [key.id, generateApiKey()]));
  if (options.keys !== false) {
    const keys = [
      { id: "attack-admin", sha256: hashApiKey(adminKey).toString("hex"), role: "admin" },
      { id: "attack-user", sha256: hashApiKey(userKey).toString("hex"), role: "user", namespaces: ["tenant-a"] },
      ...(options.extraKeys ?? []).map(({ id, ...entry }) => ({ id, sha256: hashApiKey(extraKeys[id]!).toString("hex"), ...entry })),
    ];
    const json = JSON.stringify({ keys });
    const write = options.writeKeyFile ?? (async (text: string) => (await writeFile(join(dataDir, "keys.json"), text), join(dataDir, "keys.json")));
    env["SEMCACHE_API_KEYS_FILE"] = await write(json);
  }
  Object.assign(env, options.env);
  const child: ChildProcess = spawn(process.execPath, ["--import", "tsx", CLI, "serve"], { cwd: REPO, env, stdio: ["ignore", "ignore", "pipe"] });
  let stderr = "";
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const timeoutMs = options.readyTimeoutMs ?? 120_000;
  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill("SIGTERM");
      const killer = setTimeout(() => child.kill("SIGKILL"), 10_000);
      await exited;
      clearTimeout(killer);
    }
    await rm(dataDir, { recursive: true, force: true });
  };
  try {
    const url = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`server did not listen in ${timeoutMs} ms:\n${stderr}`)), timeoutMs);
      void exited.then(() => reject(new Error(`server exited before listening:\n${stderr}`)));
      createInterface({ input: child.stderr! }).on("line", (line) => {
        stderr += `${line}\n`;
        const match = /"url":"(http:[^"]+)"/.exec(line);
        if (match?.[1] !== undefined) {
          clearTimeout(timer);
          resolve(match[1]);
        }
      });
    });
    const deadline = Date.now() + timeoutMs;
    while ((await fetch(`${url}/healthz`).then((r) => r.status, () => 0)) !== 200) {
      if (Date.now() > deadline) throw new Error(`server not ready in ${timeoutMs} ms:\n${stderr}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    const port = Number(new URL(url).port);
    const lookupBody = JSON.stringify({ prompt: "What is the capital of France?", scope: { namespace: "tenant-a" } });
    return {
      url,
      port,
      pid: child.pid!,
      dataDir: join(dataDir, "store"),
      adminKey,
      userKey,
      extraKeys,
      async probe(ms = 5_000) {
        const [lookupMs, healthzMs] = await Promise.all([
          timed(
            (signal) =>
              fetch(`${url}/semcache.v1.SemanticCacheService/Lookup`, {
                method: "POST",
                headers: { "content-type": "application/json", authorization: `Bearer ${userKey}` },
                body: lookupBody,
                signal,
              }).then(async (r) => (await r.text(), r.status === 200)),
            ms,
          ),
          timed((signal) => fetch(`${url}/healthz`, { signal }).then(async (r) => (await r.text(), r.status === 200)), ms),
        ]);
        return { lookupMs, healthzMs };
      },
      async rssBytes() {
        return rssBytesOrThrow(child.pid!);
      },
      stderr: () => stderr,
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}
